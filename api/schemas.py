"""Request and response bodies of the JSON API (DESIGN §5), with the examples shown at /docs.

Request models forbid unknown fields, so a misspelt field is a 422 that names it rather than a
silently ignored value. Closed vocabularies (roles, stages, triggers, decisions, sectors,
document kinds) are enums in the schema; the service checks them again for every interface.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from lifecycle.guards import GuardResult, GuardState, approval_tally, required_approvals
from lifecycle.guards.rules import dossier_changed_seq
from lifecycle.model import ORGANIZATION_KINDS, Network, Proposal, Work
from lifecycle.states import SECTORS, STAGES, TRIGGERS
from lifecycle.states.machine import CONSTITUENCIES
from lifecycle.validation import DECISIONS, DOCUMENT_KINDS, ROLES

Role = Literal[ROLES]  # type: ignore[valid-type]
Stage = Literal[STAGES]  # type: ignore[valid-type]
Trigger = Literal[TRIGGERS]  # type: ignore[valid-type]
Decision = Literal[DECISIONS]  # type: ignore[valid-type]
Sector = Literal[SECTORS]  # type: ignore[valid-type]
Constituency = Literal[CONSTITUENCIES]  # type: ignore[valid-type]
DocumentKind = Literal[DOCUMENT_KINDS]  # type: ignore[valid-type]


# Ids are PostgreSQL `integer` columns and log positions are JSON-safe integers: anything larger
# is a 422 here rather than an overflow in the database driver.
MAX_ID = 2**31 - 1
MAX_SEQ = 2**53 - 1
# Free-text query parameters reach SQL; PostgreSQL refuses NUL, so control characters are a 422.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"

WorkId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
NetworkId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[3])]
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
ObservationId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]


def _strict_bool(value: object) -> object:
    """A boolean is `true` or `false` (JSON true/false; `true`/`false` in a query string).
    Pydantic would also take 1, "yes" or "on"; those are not the schema's type, and a client
    sending them has a bug it should hear about."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


# Every boolean a request carries (query parameters and body fields) uses this type.
StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]


def text_query(description: str | None = None, max_length: int = 200):
    return Query(description=description, max_length=max_length, pattern=PLAIN_TEXT)


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# ---------------------------------------------------------------- errors
class ProblemItem(BaseModel):
    field: str | None = Field(None, description="The request field at fault.")
    guard: str | None = Field(None, description="The guard that refused the change.")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` names each field or guard at fault."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "about:blank", "title": "Refused by guards", "status": 409,
        "detail": "approve_design of work LAM-2026-001 refused",
        "errors": [{"guard": "quorum", "message": "1 of 3 approvals; none from civil_society"},
                   {"guard": "documents", "message": "missing in this stage: feasibilityStudy"}],
    }]})

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] = []


# ---------------------------------------------------------------- users
class UserIn(BaseModel):
    model_config = _examples(
        {"username": "oficial.lambayeque", "role": "official", "organization_id": 1,
         "person_id": "41234567"},
        {"username": "rosa", "role": "member", "password": "una-clave-larga"})

    username: str = Field(description="2-64 characters: lowercase letters, digits, . _ -")
    role: Role
    organization_id: int | None = Field(None, ge=1, le=MAX_ID, description=(
        "The organization: for an official, the public entity it acts for."))
    person_id: str | None = Field(None, description="The person's DNI (8 digits).")
    display_name: str | None = None
    email: str | None = None
    password: str | None = Field(None, description="Web password (8+ characters), optional.")


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    entity: str | None = None
    organization_id: int | None = None


class UserCreated(UserOut):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 7, "username": "oficial.lambayeque", "role": "official",
        "entity": "Gobierno Regional de Lambayeque", "organization_id": 1,
        "token": "q2b0...the token, shown in this response only"}]})

    token: str = Field(description="The API token; it is shown in this response only.")


# ---------------------------------------------------------------- networks
OrganizationKind = Literal[ORGANIZATION_KINDS]  # type: ignore[valid-type]


class OrganizationIn(BaseModel):
    model_config = _examples(
        {"name": "Gobierno Regional de Lambayeque", "tax_id": "20479569861",
         "kind": "public_entity", "sector": "government", "region": "Lambayeque"},
        {"name": "Mesa de Concertación de Mujeres", "kind": "association",
         "sector": "civil_society"})

    name: str
    tax_id: str | None = Field(None, description="RUC: 11 digits with a valid check digit; "
                                                 "required for public entities and companies.")
    kind: OrganizationKind
    sector: Sector
    region: str | None = None
    consortium_members: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = []


class OrganizationPatch(BaseModel):
    model_config = _examples({"name": "Gobierno Regional de Lambayeque", "region": "Lambayeque"})

    name: str | None = None
    tax_id: str | None = None
    region: str | None = None
    consortium_members: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = None


class OrganizationOut(BaseModel):
    id: int
    name: str
    tax_id: str | None = None
    kind: str
    sector: str
    region: str | None = None
    consortium_members: list[int] = []
    registered_at: str
    likely_duplicates: list[int] = Field([], description=(
        "Other organizations whose normalized name is the same: a warning only."))


class NetworkIn(BaseModel):
    model_config = _examples({"name": "Red de Integridad Lambayeque", "regions": ["Lambayeque"]})

    name: str
    regions: list[str] | None = Field(None, description="The regions the network oversees.")
    region: str | None = Field(None, description="One region (the form before wave 2).")


class MemberIn(BaseModel):
    model_config = _examples({"user_id": 3, "organization_id": 2, "constituencies": ["women"]})

    user_id: int = Field(ge=1, le=MAX_ID)
    organization_id: int = Field(ge=1, le=MAX_ID, description=(
        "The member's organization; the member takes its sector."))
    constituencies: list[Constituency] = []


class PolicyIn(BaseModel):
    """The policy fields of DESIGN §3; an omitted field keeps its current value."""

    model_config = _examples({"min_approvals": 3, "min_sectors": 2,
                              "required_sectors": ["civil_society"], "min_tender_days": 15,
                              "award_tolerance_pct": 10, "stage_sla_days": {"tender": 45}})

    min_approvals: int | None = None
    min_sectors: int | None = None
    required_sectors: list[Sector] | None = None
    min_tender_days: int | None = None
    award_tolerance_pct: int | None = None
    low_tolerance_pct: int | None = None
    stage_sla_days: dict[str, int] | None = None
    require_member_signatures: StrictBool | None = None  # DESIGN §4.3
    amendment_flag_pct: int | None = None  # execution (DESIGN §2, wave 2)
    paralysis_months: int | None = None
    appeal_days: int | None = None


class PolicyOut(BaseModel):
    version: int
    min_approvals: int
    min_sectors: int
    required_sectors: list[str]
    min_tender_days: int
    award_tolerance_pct: int
    low_tolerance_pct: int = 10
    stage_sla_days: dict[str, int]
    require_member_signatures: bool = False  # DESIGN §4.3
    amendment_flag_pct: int = 15  # execution (DESIGN §2, wave 2)
    paralysis_months: int = 6
    appeal_days: int = 5


class MemberOut(BaseModel):
    user_id: int
    username: str
    organization: str
    organization_id: int | None = None
    sector: str
    constituencies: list[str]
    joined_at: str
    left_at: str | None = None
    active: bool


class NetworkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "name": "Red de Integridad Lambayeque", "region": "Lambayeque",
        "created_at": "2026-03-02T09:00:01.000000Z",
        "policy": {"version": 1, "min_approvals": 3, "min_sectors": 2,
                   "required_sectors": ["civil_society"], "min_tender_days": 15,
                   "award_tolerance_pct": 10,
                   "stage_sla_days": {"design": 180, "technical_file": 120, "tender": 60,
                                      "award": 30, "execution": 540, "suspended": 180}},
        "members": []}]})

    id: int
    name: str
    region: str
    regions: list[str] = []
    created_at: str
    policy: PolicyOut
    members: list[MemberOut]

    @classmethod
    def of(cls, network: Network) -> NetworkOut:
        data = network.to_dict()
        data["members"] = [dict(m.__dict__, active=m.active) for m in network.members.values()]
        return cls.model_validate(data)


# ---------------------------------------------------------------- works
class WorkIn(BaseModel):
    model_config = _examples({
        "code": "LAM-2026-014", "title": "Mejoramiento del sistema de agua potable de Motupe",
        "entity_id": 1, "region": "Lambayeque",
        "reference_amount": "4850000.00", "currency": "PEN"})

    code: str
    title: str
    entity_id: int | None = Field(None, ge=1, le=MAX_ID,
                                  description="Defaults to the official's own entity.")
    region: str
    network_id: int | None = Field(None, ge=1, le=MAX_ID, description=(
        "Optional: the region's network oversees the work; any other is refused."))
    reference_amount: str = Field(description='A decimal string, e.g. "4850000.00".')
    currency: str = "PEN"
    cui: str | None = Field(None, max_length=7, description="The investment's CUI (7 digits).")
    province: str | None = Field(None, max_length=100)
    district: str | None = Field(None, max_length=100)
    sector: str | None = Field(None, description="An OC4IDS projectSector code, e.g. "
                                                 "transport.road, waterAndWaste, health.")
    description: str | None = Field(None, max_length=4000)


class WorkCorrection(BaseModel):
    """`PATCH /works/{id}`: new values of the descriptive details, and why. The code, region
    and reference amount are not correctable: the rules depend on them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Mejoramiento de la carretera Chiclayo–Ferreñafe, tramo II",
        "reason": "El expediente técnico nombra el tramo II."}]})
    reason: str = Field(min_length=1, max_length=2000)
    title: str | None = Field(None, max_length=300)
    cui: str | None = Field(None, max_length=7)
    province: str | None = Field(None, max_length=100)
    district: str | None = Field(None, max_length=100)
    sector: str | None = None
    description: str | None = Field(None, max_length=4000)


class WorkSummary(BaseModel):
    id: int
    code: str
    title: str
    entity: str
    region: str
    network_id: int
    stage: str
    version: int
    last_change_at: str


class WorkPage(BaseModel):
    works: list[WorkSummary]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page.")


class DocumentOut(BaseModel):
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
    seq: int


class ObservationIn(BaseModel):
    model_config = _examples({"text": "El expediente técnico no incluye el estudio de suelos."})

    text: str


class AnswerIn(BaseModel):
    model_config = _examples({"text": "Se adjuntó el estudio de suelos en el anexo 4."})

    text: str


class ObservationOut(BaseModel):
    id: int
    text: str
    filed_by: int
    filed_at: str
    answer: str | None = None
    answered_by: int | None = None
    answered_at: str | None = None
    accepted: bool | None = Field(None, description=(
        "The author's verdict on the answer: true accepted, false rejected, null not yet."))
    verdict_reason: str = ""


class VerdictIn(BaseModel):
    model_config = _examples({"reason": "El anexo 4 no incluye los tramos 3 a 5."})

    reason: str | None = None


class OverruleIn(BaseModel):
    model_config = _examples({"user_id": 4, "reason": "La autora dejó la red; el bloqueo "
                              "fue atendido con el nuevo estudio de suelos."})

    user_id: int = Field(ge=1, le=MAX_ID)
    reason: str


class ConflictIn(BaseModel):
    model_config = _examples({"statement": "Mi hermano trabaja en una de las empresas postoras."})

    statement: str


class ConflictOut(BaseModel):
    user_id: int
    statement: str
    declared_at: str


# ---------------------------------------------------------------- proposals
class PartyIn(BaseModel):
    """An organization found by its RUC, or registered with this name when it is new."""

    model_config = ConfigDict(extra="forbid")

    name: str
    tax_id: str


class AwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier: PartyIn
    consortium: list[PartyIn] = Field([], max_length=50)
    amount: str = Field(description='A decimal string, e.g. "4700000.00".')
    bidders: int


class AmendmentIn(BaseModel):
    """An amendment's terms: additional works or a deduction with an amount, or a time
    extension with its days."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["additional", "deductive", "extension"]
    amount: str | None = Field(None, description='A decimal string, e.g. "350000.00".')
    days: int | None = Field(None, ge=1, le=3650)


class ProposalIn(BaseModel):
    model_config = _examples(
        {"trigger": "approve_design", "justification": "Estudio de factibilidad aprobado."},
        {"trigger": "award", "justification": "Buena pro al postor con mejor puntaje.",
         "award": {"supplier": {"name": "Consorcio Vial Norte", "tax_id": "20100070970"},
                   "amount": "12100000.00", "bidders": 3}})

    trigger: Trigger
    justification: str = ""
    award: AwardIn | None = None
    amendment: AmendmentIn | None = None  # trigger amend (DESIGN §2, wave 2)


class SignOffIn(BaseModel):
    model_config = _examples(
        {"decision": "approve"},
        {"decision": "block", "reason": "Falta el estudio de impacto ambiental."})

    decision: Decision
    reason: str | None = Field(None, description="Required to block.")
    # DESIGN §4.3: a signed sign-off carries the statement from GET …/statement and its proof.
    statement: dict[str, Any] | None = Field(None, description="The statement the member "
                                             "signed, as GET …/statement returned it.")
    proof: dict[str, Any] | None = Field(None, description="{kind: webauthn, key_id, "
                                         "authenticator_data, client_data_json, signature} or "
                                         "{kind: ed25519, key_id, signature}, base64url.")


class GuardOut(BaseModel):
    guard: str
    ok: bool
    message: str

    @classmethod
    def of(cls, result: GuardResult) -> GuardOut:
        return cls(guard=result.guard, ok=result.ok, message=result.message)


class SignOffOut(BaseModel):
    user_id: int
    username: str | None
    organization: str | None
    sector: str | None
    decision: str
    reason: str
    at: str
    seq: int
    current: bool = Field(description="This is the member's latest sign-off, the one that "
                                      "counts.")
    counts: bool | None = Field(description="For a current approval: whether it counts toward "
                                            "the quorum.")
    excluded: str | None = Field(description="Why a current approval does not count.")
    stale: bool = Field(description="Given before the dossier last changed (a document "
                                    "attached, an observation filed or answered).")


class ProposalOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "trigger": "approve_design", "justification": "Estudio aprobado.",
        "opened_by": 2, "opened_at": "2026-03-02T09:00:20.000000Z", "award": None,
        "red_flags": [], "status": "open", "closed_at": None, "refusals": 0,
        "required_approvals": 3, "counted_approvals": 1,
        "signoffs": [{"user_id": 3, "username": "rosa",
                      "organization": "Mesa de Concertación de Mujeres",
                      "sector": "civil_society", "decision": "approve", "reason": "",
                      "at": "2026-03-02T09:00:30.000000Z", "seq": 14, "current": True,
                      "counts": True, "excluded": None, "stale": False}]}]})

    id: int
    trigger: str
    justification: str
    opened_by: int
    opened_at: str
    award: dict[str, Any] | None = None
    red_flags: list[str]
    overruled: list[int] = Field([], description=(
        "Members who left the network and whose block was overruled (block.overruled): a "
        "flag shown with the proposal."))
    carried_blocks: list[int] = Field([], description=(
        "Members whose block stands from an earlier proposal of the same trigger."))
    policy_version: int | None = Field(None, description="The policy version pinned when it "
                                                         "opened.")
    status: str
    closed_at: str | None = None
    refusals: int
    required_approvals: int
    counted_approvals: int
    signoffs: list[SignOffOut]

    @classmethod
    def of(cls, work: Work, network: Network, proposal: Proposal) -> ProposalOut:
        state = GuardState(work, network)
        tally = {t.signoff.seq: t for t in approval_tally(state, proposal)}
        current = {s.seq for s in proposal.latest_signoffs().values()}
        latest_document_seq = dossier_changed_seq(work)
        signoffs = []
        for signoff in proposal.signoffs:
            member = network.member(signoff.user_id)
            tallied = tally.get(signoff.seq)
            signoffs.append(SignOffOut(
                user_id=signoff.user_id, username=member.username if member else None,
                organization=member.organization if member else None,
                sector=member.sector if member else None, decision=signoff.decision,
                reason=signoff.reason, at=signoff.at, seq=signoff.seq,
                current=signoff.seq in current,
                counts=None if tallied is None else tallied.excluded is None,
                excluded=None if tallied is None else tallied.excluded,
                stale=signoff.seq < latest_document_seq))
        return cls(
            id=proposal.id, trigger=proposal.trigger, justification=proposal.justification,
            opened_by=proposal.opened_by, opened_at=proposal.opened_at, award=proposal.award,
            red_flags=proposal.red_flags, status=proposal.status, closed_at=proposal.closed_at,
            refusals=proposal.refusals, overruled=list(proposal.overruled),
            carried_blocks=[b.user_id for b in proposal.carried_blocks],
            policy_version=(proposal.policy or {}).get("version"),
            required_approvals=required_approvals(state, proposal, network.policy),
            counted_approvals=sum(1 for t in tally.values() if t.excluded is None),
            signoffs=signoffs)


class ProposalBrief(BaseModel):
    id: int
    trigger: str
    status: str
    opened_at: str
    closed_at: str | None = None
    refusals: int


class WorkOut(WorkSummary):
    """A work with what a reviewer needs: its open proposal and what is still missing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "code": "LAM-2026-001", "title": "Mejoramiento de la carretera Chiclayo–Ferreñafe",
        "entity": "Gobierno Regional de Lambayeque", "region": "Lambayeque", "network_id": 1,
        "stage": "design", "version": 3, "last_change_at": "2026-03-02T09:00:12.000000Z",
        "reference_amount": "12500000.00", "currency": "PEN",
        "registered_at": "2026-03-02T09:00:12.000000Z", "registered_by": 2,
        "stage_entered_at": "2026-03-02T09:00:12.000000Z", "suspended_from": None,
        "award": None, "documents": [], "observations": [], "conflicts": [], "proposals": [],
        "open_proposal": None, "red_flags": [], "dry_run": [], "missing": [],
        "legal_triggers": ["approve_design", "cancel"]}]})

    reference_amount: str
    currency: str
    registered_at: str
    registered_by: int
    stage_entered_at: str
    cui: str | None = None
    province: str | None = None
    district: str | None = None
    sector: str | None = None
    description: str | None = None
    suspended_from: dict[str, Any] | None = None
    award: dict[str, Any] | None = None
    documents: list[DocumentOut]
    observations: list[ObservationOut]
    conflicts: list[ConflictOut]
    proposals: list[ProposalBrief]
    open_proposal: ProposalOut | None = None
    red_flags: list[str] = Field(description="Red flags of the open proposal.")
    dry_run: list[GuardOut] = Field(description="Every guard of the open proposal, evaluated "
                                                "now, without applying anything.")
    missing: list[GuardOut] = Field(description="The guards of `dry_run` that would refuse: "
                                                "what is still missing.")
    legal_triggers: list[str] = Field(description="Triggers the stage machine allows from "
                                                  "here (guards aside).")


class ApplyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "applied": True, "seq": 21,
        "work": {"id": 1, "code": "LAM-2026-001", "title": "Mejoramiento de la carretera",
                 "entity": "Gobierno Regional de Lambayeque", "region": "Lambayeque",
                 "network_id": 1, "stage": "technical_file", "version": 9,
                 "last_change_at": "2026-03-02T09:01:00.000000Z"},
        "guards": [{"guard": "quorum", "ok": True,
                    "message": "3 of 3 approvals from 3 sectors"}]}]})

    applied: bool
    seq: int = Field(description="The log position of the transition.applied entry.")
    work: WorkSummary
    guards: list[GuardOut]


# ---------------------------------------------------------------- log and reports
class LogPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "size": 2, "next_after": None, "entries": [
            {"v": 1, "seq": 0, "prev": "0" * 64, "at": "2026-03-02T09:00:01.000000Z",
             "type": "user.registered", "actor": {"id": "system", "role": "system"},
             "data": {"user_id": 1, "username": "admin", "role": "admin", "entity": None}}]}]})

    size: int = Field(description="The log size when the page was read.")
    entries: list[dict[str, Any]] = Field(description="Entries in seq order, each parsed from "
                                                      "its exact stored bytes.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null when "
                                               "this page reached the end of the log.")


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str
    root: str
    path: list[str]


class ConsistencyProof(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    path: list[str]


class StalledWork(BaseModel):
    work_id: int
    code: str
    title: str
    region: str
    network_id: int
    stage: str
    since: str
    sla_days: int
    days_overdue: int


class TransitionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    trigger: str
    from_: list[str] = Field(alias="from")
    to: str
    signoff: bool
    documents: list[str]
    guards: list[str]
    label: str


class EdgeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    trigger: str
    from_: str = Field(alias="from")
    to: str


class StageTable(BaseModel):
    stages: list[str]
    initial: str
    final: list[str]
    transitions: list[TransitionOut]
    edges: list[EdgeOut]


class Ping(BaseModel):
    ok: bool = True


_ERROR_DESCRIPTIONS = {
    401: "No or unknown API token.",
    403: "Authenticated but not allowed (role, entity, network, own proposal).",
    404: "Unknown work, network, proposal, document or user.",
    409: "Refused by a guard, or a concurrent change.",
    412: "The work is no longer at the If-Match version.",
    413: "The upload is over the size limit.",
    422: "Malformed input; `errors` names each field.",
    429: "Too many unknown API tokens from this address: wait `Retry-After` seconds.",
}


def problems(*codes: int) -> dict:
    """The `responses=` entry documenting problem-details errors (served as
    application/problem+json; create_app fixes the media type in the OpenAPI document)."""
    return {code: {"model": Problem, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}


# ---------------------------------------------------------------- execution (DESIGN §2, wave 2)
Pct = Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,2})?$", max_length=6,
                           description='A cumulative percentage as a decimal string, "0" to "100".')]
Money = Annotated[str, Field(pattern=r"^\d{1,15}(\.\d{1,2})?$", max_length=18,
                             description='A decimal string, e.g. "950000.00".')]


class ValuationIn(BaseModel):
    model_config = _examples({"period": "2026-04", "physical_pct": "12.50",
                              "financial_pct": "11.00", "amount": "1250000.00",
                              "document_id": 7})

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    physical_pct: Pct
    financial_pct: Pct
    amount: Money
    document_id: int = Field(ge=1, le=MAX_ID)


class ValuationOut(BaseModel):
    id: int
    period: str
    physical_pct: str
    financial_pct: str
    amount: str
    document_id: int
    reported_by: int
    reported_at: str


class MilestoneIn(BaseModel):
    model_config = _examples({"code": "bases_integrated", "date": "2026-04-02"})

    code: Literal["bases_integrated", "offers_opened", "appeal_filed", "appeal_resolved"]
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    document_id: int | None = Field(None, ge=1, le=MAX_ID)


class MilestoneOut(BaseModel):
    id: int
    code: str
    date: str
    recorded_at: str
    document_id: int | None = None


class ParalysedWork(BaseModel):
    work_id: int
    code: str
    title: str
    region: str
    network_id: int
    stage: str
    since: str = Field(description="When the physical progress last rose.")
    paralysed_since: str
    months: int
    days_without_progress: int
    physical_pct: str
    financial_pct: str
    ley_31589: bool = Field(description="Eligible under Ley 31589 (≥ 40% physical progress).")


class StalledReport(BaseModel):
    """Overdue works (past their stage's service level) and paralysed works, apart."""

    overdue: list[StalledWork]
    paralysed: list[ParalysedWork]
