"""What awaits a person ("Mis pendientes"): pure decisions over works and networks.

The same permission predicates and guard helpers decide here as on the write path, so the
inbox never lists a review the engine would refuse, nor hides one it would accept: a member
is asked to review only where she may sign off, and an approval is "stale" exactly when the
quorum guard no longer counts it for that reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from lifecycle import permissions
from lifecycle.guards import GuardResult
from lifecycle.guards.rules import days_in_stage, dossier_changed_seq
from lifecycle.model import Network, Policy, Work
from lifecycle.states import FINAL_STAGES

# A work is "near" its service level from this share of it on (officials act before the limit).
NEAR_SLA_SHARE = 0.8


class PendingKind(str, Enum):
    REVIEW = "review"                      # member: a proposal awaits her sign-off
    STALE_APPROVAL = "stale_approval"      # member: her approval no longer counts
    ANSWER_RECEIVED = "answer_received"    # member: her observation was answered
    READY_TO_APPLY = "ready_to_apply"      # official: every guard passes
    REFUSAL_TO_FIX = "refusal_to_fix"      # official: refused, and still failing
    OBSERVATION_TO_ANSWER = "observation_to_answer"  # official: unanswered or answer rejected
    NEAR_SERVICE_LEVEL = "near_service_level"        # official: ≥ 80% of the stage's days
    PAST_SERVICE_LEVEL = "past_service_level"        # official: overdue


@dataclass(frozen=True)
class DossierChange:
    """Something added to a work's dossier after a member's sign-off."""

    kind: str  # document | observation | answer
    id: int
    seq: int
    at: str
    label: str  # the document's kind code or the observation's first words


@dataclass(frozen=True)
class PendingItem:
    kind: PendingKind
    work_id: int
    code: str
    title: str
    since: str  # when it started to wait
    proposal_id: int | None = None
    trigger: str | None = None
    observation_id: int | None = None
    changes: tuple[DossierChange, ...] = ()
    failing: tuple[str, ...] = ()  # guard codes still failing
    days: int | None = None  # days in stage (service levels)
    limit: int | None = None  # the stage's service level in days

    def to_dict(self) -> dict:
        out = {"kind": self.kind.value, "work_id": self.work_id, "code": self.code,
               "title": self.title, "since": self.since}
        for name in ("proposal_id", "trigger", "observation_id", "days", "limit"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.changes:
            out["changes"] = [c.__dict__ for c in self.changes]
        if self.failing:
            out["failing"] = list(self.failing)
        return out


@dataclass(frozen=True)
class Pending:
    items: list[PendingItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)


def changes_since(work: Work, seq: int) -> tuple[DossierChange, ...]:
    """The documents and observations added (or answered) after log position `seq`."""
    changes = [DossierChange("document", d.id, d.seq, d.attached_at, d.kind)
               for d in work.documents if d.seq > seq]
    for o in work.observations:
        if o.filed_seq > seq:
            changes.append(DossierChange("observation", o.id, o.filed_seq, o.filed_at,
                                         o.text[:80]))
        if o.answer_seq is not None and o.answer_seq > seq:
            changes.append(DossierChange("answer", o.id, o.answer_seq, o.answered_at or "",
                                         (o.answer or "")[:80]))
    return tuple(sorted(changes, key=lambda c: c.seq))


def for_member(who: permissions.Person, works: list[Work],
               networks: dict[int, Network]) -> Pending:
    """A member's inbox: reviews awaiting her, her stale approvals, answers to her
    observations that she has not accepted or rejected yet."""
    items: list[PendingItem] = []
    for work in works:
        network = networks.get(work.network_id)
        if network is None or not permissions.is_active_member(who, network):
            continue
        proposal = work.open_proposal
        if proposal is not None and permissions.may_sign_off(who, proposal) \
                and not work.conflicted(who.id):
            latest = proposal.latest_signoffs().get(who.id)
            base = dict(work_id=work.id, code=work.code, title=work.title,
                        proposal_id=proposal.id, trigger=proposal.trigger)
            if latest is None or latest.decision == "withdraw":
                items.append(PendingItem(PendingKind.REVIEW, since=proposal.opened_at, **base))
            elif latest.decision == "approve" and latest.seq < dossier_changed_seq(work):
                changes = changes_since(work, latest.seq)
                items.append(PendingItem(PendingKind.STALE_APPROVAL,
                                         since=changes[0].at if changes else latest.at,
                                         changes=changes, **base))
        for observation in work.observations:
            if permissions.is_author_of(who, observation) and observation.answer is not None \
                    and observation.accepted is None:
                items.append(PendingItem(PendingKind.ANSWER_RECEIVED, work.id, work.code,
                                         work.title, since=observation.answered_at or "",
                                         observation_id=observation.id))
    return Pending(sorted(items, key=lambda i: i.since))


def for_official(who: permissions.Person, works: list[Work], networks: dict[int, Network],
                 at: datetime,
                 dry_run: Callable[[Work, Network], list[GuardResult]]) -> Pending:
    """An official's inbox: her entity's proposals ready to apply or refused and still failing,
    observations to answer (or answered and rejected), works near or past their service level."""
    items: list[PendingItem] = []
    for work in works:
        if not permissions.is_official_of(who, work):
            continue
        network = networks.get(work.network_id)
        proposal = work.open_proposal
        if proposal is not None and network is not None:
            failing = tuple(r.guard for r in dry_run(work, network) if not r.ok)
            base = dict(work_id=work.id, code=work.code, title=work.title,
                        proposal_id=proposal.id, trigger=proposal.trigger)
            if not failing:
                items.append(PendingItem(PendingKind.READY_TO_APPLY, since=proposal.opened_at,
                                         **base))
            elif proposal.refusals:
                items.append(PendingItem(PendingKind.REFUSAL_TO_FIX, since=proposal.opened_at,
                                         failing=failing, **base))
        for observation in work.observations:
            if observation.answer is None or observation.accepted is False:
                items.append(PendingItem(PendingKind.OBSERVATION_TO_ANSWER, work.id, work.code,
                                         work.title, since=observation.filed_at,
                                         observation_id=observation.id))
        if work.stage not in FINAL_STAGES and work.stage_entered_at:
            policy = network.policy if network is not None else Policy()
            limit = policy.stage_sla_days.get(work.stage)
            if limit:
                days = days_in_stage(work, at)
                kind = PendingKind.PAST_SERVICE_LEVEL if days > limit else \
                    PendingKind.NEAR_SERVICE_LEVEL if days >= NEAR_SLA_SHARE * limit else None
                if kind is not None:
                    items.append(PendingItem(kind, work.id, work.code, work.title,
                                             since=work.stage_entered_at, days=int(days),
                                             limit=limit))
    return Pending(sorted(items, key=lambda i: i.since))


def load(lc, who: permissions.Person, at: datetime) -> Pending:
    """The caller's inbox from the projections: only the works that can hold something for
    them are read (a member's networks, an official's entity), and only while not final."""
    from sqlalchemy import select

    from lifecycle.db import WorkRow

    if who.role not in ("member", "official"):
        return Pending()
    networks = {network.id: network for network in lc.list_networks()}
    query = select(WorkRow.id).where(WorkRow.stage.not_in(sorted(FINAL_STAGES)))
    if who.role == "member":
        mine = [n.id for n in networks.values() if permissions.is_active_member(who, n)]
        if not mine:
            return Pending()
        query = query.where(WorkRow.network_id.in_(mine))
    elif getattr(who, "entity", None):
        query = query.where(WorkRow.entity == who.entity)
    with lc.engine.connect() as conn:
        ids = [row[0] for row in conn.execute(query.order_by(WorkRow.id))]
    works = [lc.get_work(work_id) for work_id in ids]
    if who.role == "member":
        return for_member(who, works, networks)
    return for_official(who, works, networks, at,
                        lambda work, network: lc.dry_run(work, network, at))
