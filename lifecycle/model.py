"""The state that the log rebuilds: networks, works and the people who act on them.

These are plain dataclasses. Only `lifecycle.reducer` changes them; the service stores them as
projections and the guards read them. `to_dict`/`from_dict` give the JSON form that the
projection tables keep and that `audit check` compares with a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_SLA_DAYS = {
    "design": 180,
    "technical_file": 120,
    "tender": 60,
    "award": 30,
    "execution": 540,
    "suspended": 180,
}


def plain(value):
    """A dataclass tree as JSON-ready dicts and lists. `dataclasses.asdict` deep-copies every
    leaf; this walks only containers, which matters on the write path."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


_FIELD_NAMES: dict[type, frozenset] = {}


def _from_dict(cls, data: dict):
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(cls.__dataclass_fields__)
    if data.keys() == names:
        # What the projections store: exactly the fields. The dict becomes the object's own
        # (it is freshly parsed JSON), skipping __init__ and its default factories — a work's
        # projection holds hundreds of these, and every command on the work decodes it again.
        obj = object.__new__(cls)
        obj.__dict__.update(data)
        return obj
    # Older or foreign data: the known fields, with defaults for those it lacks.
    return cls(**{k: v for k, v in data.items() if k in names})


ORGANIZATION_KINDS = ("public_entity", "company", "consortium", "association", "ngo",
                      "university", "other")


@dataclass
class Organization:
    """An organization (DESIGN §3): independence is decided between these records, by id."""

    id: int
    name: str
    kind: str
    sector: str
    tax_id: str | None = None
    region: str | None = None
    consortium_members: list[int] = field(default_factory=list)
    registered_at: str = ""

    def to_dict(self) -> dict:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> Organization:
        return _from_dict(cls, data)


@dataclass
class Policy:
    version: int = 1
    min_approvals: int = 3
    min_sectors: int = 2
    required_sectors: list[str] = field(default_factory=lambda: ["civil_society"])
    min_tender_days: int = 15
    award_tolerance_pct: int = 10
    low_tolerance_pct: int = 10
    stage_sla_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    # DESIGN §4.3: approvals and blocks count only with a valid member signature.
    require_member_signatures: bool = False
    # Execution under oversight (DESIGN §2, wave 2): the amendments' red flag, paralysis, and the
    # appeal window after the buena pro (business days).
    amendment_flag_pct: int = 15
    paralysis_months: int = 6
    appeal_days: int = 5

    def settings(self) -> dict:
        """The policy fields an admin sets (everything but the version)."""
        data = plain(self)
        data.pop("version")
        return data


@dataclass
class Member:
    user_id: int
    username: str
    organization: str  # the organization's name, as written when the member joined
    sector: str
    constituencies: list[str]
    joined_at: str
    left_at: str | None = None
    organization_id: int | None = None
    person_id: str | None = None
    joined_seq: int = 0  # log position: eligibility compares it with a proposal's opening

    @property
    def active(self) -> bool:
        return self.left_at is None


@dataclass
class Network:
    id: int
    name: str
    region: str  # the first of `regions`: what the listing column shows
    created_at: str
    policy: Policy = field(default_factory=Policy)
    members: dict[str, Member] = field(default_factory=dict)  # keyed by str(user_id) for JSON
    regions: list[str] = field(default_factory=list)
    policy_seq: int = 0  # log position of the policy in force

    def member(self, user_id: int) -> Member | None:
        return self.members.get(str(user_id))

    def active_member(self, user_id: int) -> Member | None:
        member = self.member(user_id)
        return member if member is not None and member.active else None

    def to_dict(self) -> dict:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> Network:
        net = _from_dict(cls, data)
        net.policy = _from_dict(Policy, data["policy"])
        net.members = {k: _from_dict(Member, v) for k, v in data["members"].items()}
        return net


@dataclass
class Document:
    id: int
    kind: str
    title: str
    filename: str
    media_type: str
    sha256: str
    size: int
    stage: str
    attached_at: str
    attached_by: int
    seq: int  # log position: orders documents against sign-offs exactly


@dataclass
class Observation:
    id: int
    text: str
    filed_by: int
    filed_at: str
    answer: str | None = None
    answered_by: int | None = None
    answered_at: str | None = None
    answer_seq: int | None = None
    filed_seq: int = 0
    accepted: bool | None = None  # the author's verdict on the latest answer; None: none yet
    verdict_reason: str = ""

    @property
    def settled(self) -> bool:
        """Answered, and the answer not rejected by the observation's author."""
        return self.answer is not None and self.accepted is not False


@dataclass
class Conflict:
    user_id: int
    statement: str
    declared_at: str


@dataclass
class SignOff:
    user_id: int
    decision: str  # approve | block | withdraw
    reason: str
    at: str
    seq: int
    # Member signature (DESIGN §4.3): the key that signed its statement, and the statement's
    # nonce (single-use within the proposal). None when the sign-off is unsigned.
    key_id: str | None = None
    nonce: str | None = None


@dataclass
class Proposal:
    id: int
    trigger: str
    justification: str
    opened_by: int
    opened_at: str
    award: dict[str, Any] | None = None
    red_flags: list[str] = field(default_factory=list)
    status: str = "open"  # open | applied | withdrawn
    closed_at: str | None = None
    signoffs: list[SignOff] = field(default_factory=list)
    refusals: int = 0
    opened_seq: int = 0
    policy: dict | None = None  # the policy pinned when it opened (DESIGN §3, wave 2)
    stage: str = ""  # the stage the work was in when it opened
    carried_blocks: list[SignOff] = field(default_factory=list)  # standing blocks carried over
    overruled: list[int] = field(default_factory=list)  # authors whose block was overruled
    # str(user_id) -> [index of the latest sign-off, number of sign-offs]: reading the latest
    # stance costs the number of signers, not the length of the history.
    latest: dict[str, list[int]] = field(default_factory=dict)
    amendment: dict[str, Any] | None = None  # trigger amend: {kind, amount?, days?} (DESIGN §2)

    def latest_signoffs(self) -> dict[int, SignOff]:
        """Each member's latest sign-off: the one that counts. A block carried over from an
        earlier proposal of the same trigger stands until its author signs this one."""
        latest: dict[int, SignOff] = {s.user_id: s for s in self.carried_blocks}
        if self.signoffs and not self.latest:  # a projection older than the index
            for signoff in self.signoffs:
                latest[signoff.user_id] = signoff
            return latest
        for key, (index, _count) in self.latest.items():
            latest[int(key)] = self.signoffs[index]
        return latest

    def signoffs_by(self, user_id: int) -> int:
        return self.latest.get(str(user_id), [0, 0])[1]


# ---------------------------------------------------------------- execution (wave 2)
@dataclass
class Valuation:
    """A monthly valuation (valorización): cumulative percentages as decimal strings, the
    month's amount, and the supporting document (DESIGN §2)."""

    id: int
    period: str  # YYYY-MM
    physical_pct: str
    financial_pct: str
    amount: str
    document_id: int
    reported_by: int
    reported_at: str
    seq: int


@dataclass
class Milestone:
    """A tender milestone: bases_integrated, offers_opened, appeal_filed, appeal_resolved."""

    id: int
    code: str
    date: str  # YYYY-MM-DD, the date the milestone happened
    recorded_at: str
    seq: int
    document_id: int | None = None


@dataclass
class Amendment:
    """An applied amendment (additional works, deduction, time extension)."""

    proposal_id: int
    kind: str  # additional | deductive | extension
    applied_at: str
    seq: int
    amount: str | None = None
    days: int | None = None


@dataclass
class DeadlineMark:
    """A time-driven move already recorded (deadline.reached): which, and the moment it was
    due, so the worker never records it twice."""

    code: str
    due: str
    seq: int


@dataclass
class Work:
    id: int
    code: str
    title: str
    entity: str  # the entity's name, for display
    region: str
    network_id: int
    reference_amount: str
    currency: str
    registered_at: str
    registered_by: int
    entity_id: int | None = None
    stage: str = "design"
    version: int = 1
    stage_entered_at: str = ""
    stage_entered_seq: int = 0
    last_change_at: str = ""
    suspended_from: dict | None = None  # {stage, entered_at, entered_seq} to restore on resume
    award: dict[str, Any] | None = None
    documents: list[Document] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    excluded_organizations: list[int] = field(default_factory=list)  # supplier and consortium
    voided_kinds: dict[str, list[str]] = field(default_factory=dict)  # kind -> sha256 before a void
    suspensions: list[list[str]] = field(default_factory=list)  # [from, until or ""] periods
    # Descriptive details (lifecycle/work_details.py): correctable by a logged `work.corrected`.
    cui: str | None = None
    province: str | None = None
    district: str | None = None
    sector: str | None = None
    description: str | None = None
    source_ocid: str | None = None  # the SEACE process it was imported from or linked to
    # ---- execution under oversight (DESIGN §2, wave 2; lifecycle/execution.py decides)
    valuations: list[Valuation] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)  # applied ones, in order
    deadlines: list[DeadlineMark] = field(default_factory=list)  # deadline.reached entries

    @property
    def open_proposal(self) -> Proposal | None:
        for proposal in self.proposals:
            if proposal.status == "open":
                return proposal
        return None

    def proposal(self, proposal_id: int) -> Proposal | None:
        if 1 <= proposal_id <= len(self.proposals):
            return self.proposals[proposal_id - 1]
        return None

    def observation(self, observation_id: int) -> Observation | None:
        if 1 <= observation_id <= len(self.observations):
            return self.observations[observation_id - 1]
        return None

    def document(self, document_id: int) -> Document | None:
        if 1 <= document_id <= len(self.documents):
            return self.documents[document_id - 1]
        return None

    def conflicted(self, user_id: int) -> bool:
        return any(c.user_id == user_id for c in self.conflicts)

    def to_dict(self) -> dict:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> Work:
        work = _from_dict(cls, data)
        work.documents = [_from_dict(Document, d) for d in data["documents"]]
        work.observations = [_from_dict(Observation, o) for o in data["observations"]]
        work.conflicts = [_from_dict(Conflict, c) for c in data["conflicts"]]
        work.proposals = []
        for p in data["proposals"]:
            proposal = _from_dict(Proposal, p)
            proposal.signoffs = [_from_dict(SignOff, s) for s in p["signoffs"]]
            proposal.carried_blocks = [_from_dict(SignOff, s) for s in p.get("carried_blocks", [])]
            work.proposals.append(proposal)
        work.valuations = [_from_dict(Valuation, v) for v in data.get("valuations", [])]
        work.milestones = [_from_dict(Milestone, m) for m in data.get("milestones", [])]
        work.amendments = [_from_dict(Amendment, a) for a in data.get("amendments", [])]
        work.deadlines = [_from_dict(DeadlineMark, d) for d in data.get("deadlines", [])]
        return work


@dataclass
class UserInfo:
    """What the log says about a person: never credentials."""

    id: int
    username: str
    role: str
    entity: str | None = None
    organization_id: int | None = None
    person_id: str | None = None


@dataclass
class State:
    """All or part of the world. The service loads the part one command touches."""

    users: dict[int, UserInfo] = field(default_factory=dict)
    organizations: dict[int, Organization] = field(default_factory=dict)
    networks: dict[int, Network] = field(default_factory=dict)
    works: dict[int, Work] = field(default_factory=dict)
    keys: dict = field(default_factory=dict)  # key_id -> lifecycle.evidence.keys.MemberKey
    size: int = 0  # entries applied
    head: str = "0" * 64
