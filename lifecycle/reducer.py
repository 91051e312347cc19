"""apply(state, entry) -> state: the only code that turns log entries into state.

The live service applies each entry it appends to the part of the state it loaded; the offline
replay applies every entry in order to an empty state. Both call `apply`, so both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lifecycle.model import (
    Conflict,
    Document,
    Member,
    Network,
    Observation,
    Policy,
    Proposal,
    SignOff,
    State,
    UserInfo,
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


def _user_registered(state: State, entry: dict, data: dict) -> None:
    state.users[data["user_id"]] = UserInfo(data["user_id"], data["username"], data["role"],
                                            data.get("entity"))


def _network_created(state: State, entry: dict, data: dict) -> None:
    state.networks[data["network_id"]] = Network(
        id=data["network_id"], name=data["name"], region=data["region"], created_at=entry["at"])


def _policy_set(state: State, entry: dict, data: dict) -> None:
    network = _network(state, data["network_id"])
    network.policy = Policy(version=data["version"], **data["policy"])


def _member_joined(state: State, entry: dict, data: dict) -> None:
    network = _network(state, data["network_id"])
    network.members[str(data["user_id"])] = Member(
        user_id=data["user_id"], username=data["username"], organization=data["organization"],
        sector=data["sector"], constituencies=list(data.get("constituencies", [])),
        joined_at=entry["at"])


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
        stage="design", version=1, stage_entered_at=entry["at"], stage_entered_seq=entry["seq"],
        last_change_at=entry["at"])


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
        filed_at=entry["at"]))


def _observation_answered(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    observation = work.observation(data["observation_id"])
    if observation is None:
        raise ReplayError(f"unknown observation {data['observation_id']!r}")
    observation.answer = data["text"]
    observation.answered_by = entry["actor"]["id"]
    observation.answered_at = entry["at"]


def _conflict_declared(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.conflicts.append(Conflict(user_id=entry["actor"]["id"], statement=data["statement"],
                                   declared_at=entry["at"]))


def _proposal_opened(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    work.proposals.append(Proposal(
        id=data["proposal_id"], trigger=data["trigger"], justification=data["justification"],
        opened_by=entry["actor"]["id"], opened_at=entry["at"], award=data.get("award"),
        red_flags=list(data.get("red_flags", []))))


def _proposal_withdrawn(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    proposal.status = "withdrawn"
    proposal.closed_at = entry["at"]


def _signoff_recorded(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    proposal.signoffs.append(SignOff(
        user_id=entry["actor"]["id"], decision=data["decision"], reason=data.get("reason", ""),
        at=entry["at"], seq=entry["seq"]))


def _transition_applied(state: State, entry: dict, data: dict) -> None:
    work = _work(state, data)
    proposal = _proposal(work, data)
    proposal.status = "applied"
    proposal.closed_at = entry["at"]
    target = data["to"]
    if target == "suspended":
        work.suspended_from = {"stage": work.stage, "entered_at": work.stage_entered_at,
                               "entered_seq": work.stage_entered_seq}
        work.stage_entered_at, work.stage_entered_seq = entry["at"], entry["seq"]
    elif work.stage == "suspended" and work.suspended_from and \
            target == work.suspended_from["stage"]:
        # Resuming returns the work to its stage as it was: the tender period and the documents
        # attached in that stage still count.
        work.stage_entered_at = work.suspended_from["entered_at"]
        work.stage_entered_seq = work.suspended_from["entered_seq"]
        work.suspended_from = None
    else:
        work.stage_entered_at, work.stage_entered_seq = entry["at"], entry["seq"]
        work.suspended_from = None
    if data["trigger"] == "award":
        work.award = dict(proposal.award or {})
    work.stage = target
    work.last_change_at = entry["at"]


def _transition_refused(state: State, entry: dict, data: dict) -> None:
    proposal = _proposal(_work(state, data), data)
    proposal.refusals += 1


HANDLERS: dict[str, Callable[[State, dict, dict], None]] = {
    "user.registered": _user_registered,
    "network.created": _network_created,
    "policy.set": _policy_set,
    "member.joined": _member_joined,
    "member.left": _member_left,
    "work.registered": _work_registered,
    "document.attached": _document_attached,
    "observation.filed": _observation_filed,
    "observation.answered": _observation_answered,
    "conflict.declared": _conflict_declared,
    "proposal.opened": _proposal_opened,
    "proposal.withdrawn": _proposal_withdrawn,
    "signoff.recorded": _signoff_recorded,
    "transition.applied": _transition_applied,
    "transition.refused": _transition_refused,
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
