"""Who should hear about a log entry: pure decisions, from the entry and the state after it.

The service calls `notifications_for` for every entry it appends, inside the append's
transaction, and writes the result to the outbox (lifecycle/outbox.py) in that same
transaction: a notification exists exactly when its entry does. Nothing here reads a clock,
a database or an address book; whether a person has an e-mail address or muted a kind is
decided by the outbox, which owns those private settings (they never enter the public log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lifecycle.model import Network, Proposal, State, Work


class NotificationKind(str, Enum):
    """The kinds a user can receive and mute (issue: "Notifications by e-mail")."""

    PROPOSAL_OPENED = "proposal_opened"        # a proposal opened in my network
    APPROVAL_STALE = "approval_stale"          # my approval went stale (the dossier changed)
    PROPOSAL_BLOCKED = "proposal_blocked"      # a block on my proposal
    TRANSITION_REFUSED = "transition_refused"  # a refusal of my proposal
    OBSERVATION_ANSWERED = "observation_answered"  # an answer to my observation
    PROPOSAL_APPLIED = "proposal_applied"      # a proposal I opened or signed was applied
    KEY_REGISTERED = "key_registered"          # a new signing key on my account


KINDS = tuple(kind.value for kind in NotificationKind)


@dataclass(frozen=True)
class Notification:
    """One message owed to one user because of one entry. `params` holds codes and figures
    only; the words are chosen at sending time, in the reader's language."""

    user_id: int
    kind: NotificationKind
    seq: int
    work_id: int | None = None
    params: dict = field(default_factory=dict)


# Entries that change a work's dossier make earlier approvals stale (DESIGN §3).
DOSSIER_CHANGES = frozenset({"document.attached", "observation.filed", "observation.answered"})


def _active_members(network: Network | None) -> list[int]:
    if network is None:
        return []
    return sorted(m.user_id for m in network.members.values() if m.left_at is None)


def _dossier_seqs(work: Work) -> list[int]:
    """Log positions of every dossier change of the work so far."""
    seqs = [d.seq for d in work.documents]
    for observation in work.observations:
        seqs.append(observation.filed_seq)
        if observation.answer_seq is not None:
            seqs.append(observation.answer_seq)
    return sorted(s for s in seqs if s is not None)


def _work_params(work: Work, proposal: Proposal | None = None) -> dict:
    params = {"work_id": work.id, "code": work.code, "title": work.title}
    if proposal is not None:
        params |= {"proposal_id": proposal.id, "trigger": proposal.trigger}
    return params


def _went_stale(entry: dict, work: Work) -> list[int]:
    """Members whose approval of the open proposal counted until this dossier change: their
    latest sign-off is an approval given after the previous dossier change."""
    proposal = work.open_proposal
    if proposal is None:
        return []
    earlier = [s for s in _dossier_seqs(work) if s < entry["seq"]]
    previous_change = earlier[-1] if earlier else -1
    return sorted(s.user_id for s in proposal.latest_signoffs().values()
                  if s.decision == "approve" and previous_change < s.seq < entry["seq"])


def notifications_for(entry: dict, state: State) -> list[Notification]:
    """The notifications an entry causes, given the state just after it was applied."""
    kind, data, seq = entry["type"], entry.get("data", {}), entry["seq"]
    actor = entry.get("actor", {}).get("id")
    if kind == "key.registered":
        return [Notification(data["user_id"], NotificationKind.KEY_REGISTERED, seq,
                             params={"key_id": data.get("key_id"), "kind": data.get("kind")})]
    work = state.works.get(data.get("work_id"))
    if work is None:
        return []
    out: list[Notification] = []
    if kind == "proposal.opened":
        proposal = work.proposal(data["proposal_id"])
        members = _active_members(state.networks.get(work.network_id))
        out += [Notification(user, NotificationKind.PROPOSAL_OPENED, seq, work.id,
                             _work_params(work, proposal)) for user in members if user != actor]
    elif kind in DOSSIER_CHANGES:
        for user in _went_stale(entry, work):
            out.append(Notification(user, NotificationKind.APPROVAL_STALE, seq, work.id,
                                    _work_params(work, work.open_proposal)
                                    | {"change": kind}))
        if kind == "observation.answered":
            observation = work.observation(data["observation_id"])
            if observation is not None:
                out.append(Notification(observation.filed_by,
                                        NotificationKind.OBSERVATION_ANSWERED, seq, work.id,
                                        _work_params(work) | {"observation_id": observation.id}))
    elif kind == "signoff.recorded" and data.get("decision") == "block":
        proposal = work.proposal(data["proposal_id"])
        if proposal is not None:
            out.append(Notification(proposal.opened_by, NotificationKind.PROPOSAL_BLOCKED, seq,
                                    work.id, _work_params(work, proposal)))
    elif kind == "transition.refused":
        proposal = work.proposal(data["proposal_id"])
        if proposal is not None:
            failing = [v.get("guard") for v in data.get("results", data.get("verdicts", []))
                       if isinstance(v, dict) and not v.get("ok", True)]
            out.append(Notification(proposal.opened_by, NotificationKind.TRANSITION_REFUSED,
                                    seq, work.id, _work_params(work, proposal)
                                    | {"guards": [g for g in failing if g]}))
    elif kind == "transition.applied":
        proposal = work.proposal(data["proposal_id"])
        if proposal is not None:
            people = {proposal.opened_by} | {s.user_id for s in proposal.signoffs}
            out += [Notification(user, NotificationKind.PROPOSAL_APPLIED, seq, work.id,
                                 _work_params(work, proposal) | {"stage": work.stage})
                    for user in sorted(people)]
    return out
