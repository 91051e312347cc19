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


def _from_dict(cls, data: dict):
    try:
        return cls(**data)  # what the projections store: exactly the fields
    except TypeError:
        names = cls.__dataclass_fields__  # older or foreign data: keep the known fields
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Policy:
    version: int = 1
    min_approvals: int = 3
    min_sectors: int = 2
    required_sectors: list[str] = field(default_factory=lambda: ["civil_society"])
    min_tender_days: int = 15
    award_tolerance_pct: int = 10
    stage_sla_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))

    def settings(self) -> dict:
        """The policy fields an admin sets (everything but the version)."""
        data = plain(self)
        data.pop("version")
        return data


@dataclass
class Member:
    user_id: int
    username: str
    organization: str
    sector: str
    constituencies: list[str]
    joined_at: str
    left_at: str | None = None

    @property
    def active(self) -> bool:
        return self.left_at is None


@dataclass
class Network:
    id: int
    name: str
    region: str
    created_at: str
    policy: Policy = field(default_factory=Policy)
    members: dict[str, Member] = field(default_factory=dict)  # keyed by str(user_id) for JSON

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

    def latest_signoffs(self) -> dict[int, SignOff]:
        """Each member's latest sign-off: the one that counts."""
        latest: dict[int, SignOff] = {}
        for signoff in self.signoffs:
            latest[signoff.user_id] = signoff
        return latest


@dataclass
class Work:
    id: int
    code: str
    title: str
    entity: str
    region: str
    network_id: int
    reference_amount: str
    currency: str
    registered_at: str
    registered_by: int
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
            work.proposals.append(proposal)
        return work


@dataclass
class UserInfo:
    """What the log says about a person: never credentials."""

    id: int
    username: str
    role: str
    entity: str | None = None


@dataclass
class State:
    """All or part of the world. The service loads the part one command touches."""

    users: dict[int, UserInfo] = field(default_factory=dict)
    networks: dict[int, Network] = field(default_factory=dict)
    works: dict[int, Work] = field(default_factory=dict)
    size: int = 0  # entries applied
    head: str = "0" * 64
