"""apply(state, entry) -> state: the only code that turns log entries into state.

The live service applies each entry it appends to the part of the state it loaded; the offline
replay applies every entry in order to an empty state. Both call `apply`, so both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lifecycle.evidence import keys
from lifecycle.model import (
    Amendment,
    Conflict,
    DeadlineMark,
    Document,
    Member,
    Milestone,
    Network,
    Observation,
    Organization,
    Policy,
    Proposal,
    SignOff,
    State,
    UserInfo,
    Valuation,
    Work,
)


class ReplayError(ValueError):
    """An entry that cannot apply to the state before it (unknown work, bad data)."""


def _work(state: State, data: dict) -> Work:
    work = state.works.get(data.get("work_id"))
    if work is None:
        raise ReplayError(f"unknown work {data.get('work_id')!r}")
    return work


def _network(state: State, network_id) -> Network:
    network = state.networks.get(network_id)
    if network is None:
        raise ReplayError(f"unknown network {network_id!r}")
    return network


def _proposal(work: Work, data: dict) -> Proposal:
    proposal = work.proposal(data.get("proposal_id", 0))
    if proposal is None:
        raise ReplayError(f"unknown proposal {data.get('proposal_id')!r} of work {work.id}")
    return proposal


def _organization_registered(state: State, entry: dict, data: dict) -> None:
    state.organizations[data["organization_id"]] = Organization(
        id=data["organization_id"], name=data["name"], kind=data["kind"], sector=data["sector"],
        tax_id=data.get("tax_id"), region=data.get("region"),
        consortium_members=list(data.get("consortium_members", [])), registered_at=entry["at"])


UPDATABLE_ORGANIZATION_FIELDS = ("name", "tax_id", "region", "consortium_members")


def _organization_updated(state: State, entry: dict, data: dict) -> None:
    organization = state.organizations.get(data["organization_id"])
    if organization is None:
        raise ReplayError(f"unknown organization {data['organization_id']!r}")
    for name, value in data["changes"].items():
        if name not in UPDATABLE_ORGANIZATION_FIELDS:
            raise ReplayError(f"organization field {name!r} cannot change")
        setattr(organization, name, list(value) if name == "consortium_members" else value)


def _user_registered(state: State, entry: dict, data: dict) -> None:
    state.users[data["user_id"]] = UserInfo(data["user_id"], data["username"], data["role"],
                                            data.get("entity"), data.get("organization_id"),
                                            data.get("person_id"))


def _network_created(state: State, entry: dict, data: dict) -> None:
    regions = list(data.get("regions") or [data["region"]])
    state.networks[data["network_id"]] = Network(
        id=data["network_id"], name=data["name"], region=regions[0], created_at=entry["at"],
        regions=regions)


def _policy_set(state: State, entry: dict, data: dict) -> None:
    network = _network(state, data["network_id"])
    network.policy = Policy(version=data["version"], **data["policy"])
    network.policy_seq = entry["seq"]


def _member_joined(state: State, entry: dict, data: dict) -> None:
    network = _network(state, data["network_id"])
    # A rejoin is a new membership: its joining time is now, so approvals given under the
    # earlier one never count again (eligibility, DESIGN §3).
    network.members[str(data["user_id"])] = Member(
        user_id=data["user_id"], username=data["username"], organization=data["organization"],
        sector=data["sector"], constituencies=list(data.get("constituencies", [])),
        joined_at=entry["at"], organization_id=data.get("organization_id"),
        person_id=data.get("person_id"), joined_seq=entry["seq"])


def _member_left(state: State, entry: dict, data: dict) -> None:
    network = _network(state, data["network_id"])
    member = network.member(data["user_id"])
    if member is None:
        raise ReplayError(f"user {data['user_id']} is not a member of network {network.id}")
    member.left_at = entry["at"]


def _work_registered(state: State, entry: dict, data: dict) -> None:
    _network(state, data["network_id"])
    state.works[data["work_id"]] = Work(
        id=data["work_id"], code=data["code"], title=data["title"], entity=data["entity"],
        region=data["region"], network_id=data["network_id"],
        reference_amount=data["reference_amount"], currency=data["currency"],
        registered_at=entry["at"], registered_by=entry["actor"]["id"],
        entity_id=data.get("entity_id"),
        stage="design", version=1, stage_entered_at=entry["at"], stage_entered_seq=entry["seq"],
        last_change_at=entry["at"], cui=data.get("cui"), province=data.get("province"),
        district=data.get("district"), sector=data.get("sector"),
        description=data.get("description"))


def _work_corrected(state: State, entry: dict, data: dict) -> None:
    """A logged correction of a work's descriptive details (lifecycle/work_details.py)."""
    from lifecycle.work_details import CORRECTABLE

    work = _work(state, data)
    for name, value in data["changes"].items():
        if name not in CORRECTABLE:
            raise ReplayError(f"{name!r} of a work cannot be corrected")
        setattr(work, name, value)
    work.last_change_at = entry["at"]


def _work_imported(state: State, entry: dict, data: dict) -> None:
    """A work brought in from SEACE (lifecycle/opendata/seace.py): registered at the stage the
    source shows, or, when `linked`, an existing work that now names its SEACE process. Either
    way the source record is kept as the work's next document."""
    if data.get("linked"):
        work = _work(state, data)
    else:
        _network(state, data["network_id"])
        work = state.works[data["work_id"]] = Work(
            id=data["work_id"], code=data["code"], title=data["title"], entity=data["entity"],
            region=data["region"], network_id=data["network_id"],
            reference_amount=data["reference_amount"], currency=data["currency"],
            registered_at=entry["at"], registered_by=entry["actor"]["id"],
            entity_id=data.get("entity_id"), stage=data["stage"],
            version=0,  # apply() bumps it to 1, as a registration starts
            stage_entered_at=entry["at"], stage_entered_seq=entry["seq"],
            last_change_at=entry["at"])
        if data.get("award"):
            work.award = dict(data["award"])
            # As after an award applied here: the supplier reviews none of the work's changes.
            supplier = work.award.get("supplier_id")
            work.excluded_organizations = [supplier] if isinstance(supplier, int) else []
    work.source_ocid = data.get("source_ocid")
    document = data["document"]
    work.documents.append(Document(
        id=document["document_id"], kind=document["kind"], title=document["title"],
        filename=document["filename"], media_type=document["media_type"],
        sha256=document["sha256"], size=document["size"], stage=work.stage,
        attached_at=entry["at"], attached_by=entry["actor"]["id"], seq=entry["seq"]))


def _document_attached(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.documents.append(Document(
        id=data["document_id"], kind=data["kind"], title=data["title"],
        filename=data["filename"], media_type=data["media_type"], sha256=data["sha256"],
        size=data["size"], stage=work.stage, attached_at=entry["at"],
        attached_by=entry["actor"]["id"], seq=entry["seq"]))


def _observation_filed(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.observations.append(Observation(
        id=data["observation_id"], text=data["text"], filed_by=entry["actor"]["id"],
        filed_at=entry["at"], filed_seq=entry["seq"]))


def _observation(work: Work, data: dict) -> Observation:
    observation = work.observation(data["observation_id"])
    if observation is None:
        raise ReplayError(f"unknown observation {data['observation_id']!r}")
    return observation


def _observation_answered(state: State, entry: dict, data: dict) -> None:
    observation = _observation(_work(state, data), data)
    observation.answer = data["text"]
    observation.answered_by = entry["actor"]["id"]
    observation.answered_at = entry["at"]
    observation.answer_seq = entry["seq"]
    observation.accepted, observation.verdict_reason = None, ""


def _observation_accepted(state: State, entry: dict, data: dict) -> None:
    observation = _observation(_work(state, data), data)
    observation.accepted, observation.verdict_reason = True, data.get("reason", "")


def _observation_rejected(state: State, entry: dict, data: dict) -> None:
    observation = _observation(_work(state, data), data)
    observation.accepted, observation.verdict_reason = False, data.get("reason", "")


def _conflict_declared(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.conflicts.append(Conflict(user_id=entry["actor"]["id"], statement=data["statement"],
                                   declared_at=entry["at"]))


def _proposal_opened(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.proposals.append(Proposal(
        id=data["proposal_id"], trigger=data["trigger"], justification=data["justification"],
        opened_by=entry["actor"]["id"], opened_at=entry["at"], award=data.get("award"),
        red_flags=list(data.get("red_flags", [])), opened_seq=entry["seq"],
        policy=data.get("policy"), stage=work.stage,
        carried_blocks=blocks_to_carry(work, data["trigger"]),
        amendment=data.get("amendment")))


def blocks_to_carry(work: Work, trigger: str) -> list[SignOff]:
    """The blocks standing on earlier proposals of the same trigger opened since the work last
    entered its stage (DESIGN §3: a block stands against the trigger, not only the proposal).
    Derived from the state, so an entry cannot leave one out."""
    carried: dict[int, SignOff] = {}
    for earlier in work.proposals:
        if earlier.trigger != trigger or earlier.opened_seq <= work.stage_entered_seq:
            continue
        for user_id, signoff in earlier.latest_signoffs().items():
            if signoff.decision == "block" and user_id not in earlier.overruled:
                carried[user_id] = signoff
            else:
                carried.pop(user_id, None)
    return list(carried.values())


def _proposal_withdrawn(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    proposal.status = "withdrawn"
    proposal.closed_at = entry["at"]


def _signoff_recorded(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    user_id = entry["actor"]["id"]
    signed = data.get("proof") is not None  # member signature (DESIGN §4.3)
    proposal.signoffs.append(SignOff(
        user_id=user_id, decision=data["decision"], reason=data.get("reason", ""),
        at=entry["at"], seq=entry["seq"],
        key_id=data["proof"]["key_id"] if signed else None,
        nonce=data["statement"]["nonce"] if signed else None))
    key = str(user_id)
    proposal.latest[key] = [len(proposal.signoffs) - 1, proposal.latest.get(key, [0, 0])[1] + 1]
    proposal.carried_blocks = [s for s in proposal.carried_blocks if s.user_id != user_id]


def _block_overruled(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    user_id = data["user_id"]
    proposal.overruled.append(user_id)
    proposal.carried_blocks = [s for s in proposal.carried_blocks if s.user_id != user_id]


def _transition_applied(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    proposal = _proposal(work, data)
    proposal.status = "applied"
    proposal.closed_at = entry["at"]
    if data["trigger"] == "amend":  # no stage change: the contract changes (wave 2)
        _amendment_applied(work, proposal, entry)
        return
    target = data["to"]
    if target == "suspended":
        work.suspended_from = {"stage": work.stage, "entered_at": work.stage_entered_at,
                               "entered_seq": work.stage_entered_seq}
        work.stage_entered_at, work.stage_entered_seq = entry["at"], entry["seq"]
        work.suspensions.append([entry["at"], ""])
    elif work.stage == "suspended" and work.suspended_from and \
            target == work.suspended_from["stage"]:
        # Resuming returns the work to its stage as it was: the tender period and the documents
        # attached in that stage still count, and its overdue clock is not reset.
        work.stage_entered_at = work.suspended_from["entered_at"]
        work.stage_entered_seq = work.suspended_from["entered_seq"]
        work.suspended_from = None
        if work.suspensions:
            work.suspensions[-1][1] = entry["at"]
    else:
        work.stage_entered_at, work.stage_entered_seq = entry["at"], entry["seq"]
        work.suspended_from = None
        if work.suspensions and not work.suspensions[-1][1]:
            work.suspensions[-1][1] = entry["at"]  # cancelled while suspended
    if data["trigger"] == "award":
        work.award = dict(proposal.award or {})
        award = work.award
        # From the award on, the supplier and every consortium member are excluded from every
        # later sign-off of the work (DESIGN §3).
        excluded = [award.get("supplier_id")] + list(award.get("consortium_ids", []))
        work.excluded_organizations = sorted({i for i in excluded if isinstance(i, int)})
    if data["trigger"] in ("declare_void", "terminate_contract"):
        for document in work.documents:
            known = work.voided_kinds.setdefault(document.kind, [])
            if document.sha256 not in known:
                known.append(document.sha256)
    work.stage = target
    work.last_change_at = entry["at"]


def _transition_refused(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    proposal.refusals += 1


# ---------------------------------------------------------------- execution (DESIGN §2, wave 2)
def _amendment_applied(work: Work, proposal: Proposal, entry: dict) -> None:
    """An applied amendment changes the contract amount or its end date; the work stays in
    execution with its stage clock untouched."""
    terms = proposal.amendment or {}
    work.amendments.append(Amendment(
        proposal_id=proposal.id, kind=terms["kind"], applied_at=entry["at"], seq=entry["seq"],
        amount=terms.get("amount"), days=terms.get("days")))
    work.last_change_at = entry["at"]


def _valuation_reported(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.valuations.append(Valuation(
        id=data["valuation_id"], period=data["period"], physical_pct=data["physical_pct"],
        financial_pct=data["financial_pct"], amount=data["amount"],
        document_id=data["document_id"], reported_by=entry["actor"]["id"],
        reported_at=entry["at"], seq=entry["seq"]))


def _milestone_recorded(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.milestones.append(Milestone(
        id=data["milestone_id"], code=data["code"], date=data["date"], recorded_at=entry["at"],
        seq=entry["seq"], document_id=data.get("document_id")))


def _deadline_reached(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.deadlines.append(DeadlineMark(code=data["code"], due=data["due"], seq=entry["seq"]))


HANDLERS: dict[str, Callable[[State, dict, dict], None]] = {
    "organization.registered": _organization_registered,
    "organization.updated": _organization_updated,
    "user.registered": _user_registered,
    "network.created": _network_created,
    "policy.set": _policy_set,
    "member.joined": _member_joined,
    "member.left": _member_left,
    "work.registered": _work_registered,
    "work.corrected": _work_corrected,
    "document.attached": _document_attached,
    "observation.filed": _observation_filed,
    "observation.answered": _observation_answered,
    "observation.accepted": _observation_accepted,
    "observation.rejected": _observation_rejected,
    "block.overruled": _block_overruled,
    "conflict.declared": _conflict_declared,
    "proposal.opened": _proposal_opened,
    "proposal.withdrawn": _proposal_withdrawn,
    "signoff.recorded": _signoff_recorded,
    "transition.applied": _transition_applied,
    "transition.refused": _transition_refused,
    "key.registered": keys.apply_key_registered,  # members' signing keys (DESIGN §4.3)
    "key.revoked": keys.apply_key_revoked,
    "work.imported": _work_imported,
    "valuation.reported": _valuation_reported,  # execution (wave 2)
    "milestone.recorded": _milestone_recorded,
    "deadline.reached": _deadline_reached,
}
EVENT_TYPES = tuple(HANDLERS)


def apply(state: State, entry: dict) -> State:
    """Apply one log entry. Every event about a work bumps that work's version."""
    handler = HANDLERS.get(entry.get("type"))
    if handler is None:
        raise ReplayError(f"unknown event type {entry.get('type')!r}")
    data = entry["data"]
    try:
        handler(state, entry, data)
    except (KeyError, TypeError) as exc:
        raise ReplayError(f"malformed {entry['type']} data: {exc}") from exc
    if entry["type"] != "work.registered" and "work_id" in data:
        state.works[data["work_id"]].version += 1
    state.size = entry["seq"] + 1
    return state


def replay(entries: Iterable[dict]) -> State:
    """Rebuild every user, network and work from the entries alone."""
    state = State()
    for entry in entries:
        apply(state, entry)
    return state
