from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from lifecycle.guards.base import GuardResult, GuardState
from lifecycle.log.canonical import parse_time
from lifecycle.model import Member, Policy, Proposal, SignOff
from lifecycle.states import destination, spec_for


def red_flags(reference_amount: str, award: dict | None, policy: Policy) -> list[str]:
    """Award red flags (DESIGN §3): a single bidder, or an amount above the reference amount by
    more than the policy's tolerance. Each one raises the required approvals by one."""
    if not award:
        return []
    flags = []
    if award.get("bidders") == 1:
        flags.append("single_bidder")
    try:
        amount = Decimal(str(award.get("amount")))
        reference = Decimal(reference_amount)
    except (InvalidOperation, TypeError):
        return flags
    if amount > reference * (100 + policy.award_tolerance_pct) / 100:
        flags.append("amount_above_reference")
    return flags


def required_approvals(state: GuardState, proposal: Proposal, policy: Policy) -> int:
    return policy.min_approvals + len(red_flags(state.work.reference_amount, proposal.award, policy))


@dataclass(frozen=True)
class TalliedSignOff:
    signoff: SignOff
    member: Member | None
    excluded: str | None  # why an approval does not count, or None when it counts


def _exclusion(state: GuardState, proposal: Proposal, signoff: SignOff,
               member: Member | None, latest_document_seq: int) -> str | None:
    if member is None:
        return "not a member of the network"
    if not member.active:
        return "has left the network"
    if signoff.user_id == proposal.opened_by:
        return "opened the proposal"
    if state.work.conflicted(signoff.user_id):
        return "declared a conflict of interest"
    if member.organization.casefold() == state.work.entity.casefold():
        return "works for the work's entity"
    supplier = (proposal.award or {}).get("supplier")
    if supplier and member.organization.casefold() == str(supplier).casefold():
        return "works for the proposed supplier"
    if signoff.seq < latest_document_seq:
        return "stale: given before the latest document was attached"
    return None


def approval_tally(state: GuardState, proposal: Proposal) -> list[TalliedSignOff]:
    """Every member's latest approval, each with the reason it does not count (if any)."""
    latest_document_seq = max((d.seq for d in state.work.documents), default=-1)
    tally = []
    for signoff in proposal.latest_signoffs().values():
        if signoff.decision != "approve":
            continue
        member = state.network.member(signoff.user_id)
        tally.append(TalliedSignOff(
            signoff, member,
            _exclusion(state, proposal, signoff, member, latest_document_seq)))
    return tally


def stage(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """The trigger must be legal from the work's current stage (DESIGN §2)."""
    origin = (state.work.suspended_from or {}).get("stage")
    dest = destination(state.work.stage, proposal.trigger, origin)
    if dest is None:
        return GuardResult(False, "stage",
                           f"{proposal.trigger} is not allowed from stage {state.work.stage}")
    return GuardResult(True, "stage", f"{state.work.stage} → {dest}")


def quorum(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """At least min_approvals counted approvals (plus one per red flag), from at least
    min_sectors distinct sectors, including every required sector."""
    needed = required_approvals(state, proposal, policy)
    counted = [t for t in approval_tally(state, proposal) if t.excluded is None]
    sectors = {t.member.sector for t in counted}
    flags = red_flags(state.work.reference_amount, proposal.award, policy)
    missing = [s for s in policy.required_sectors if s not in sectors]
    details = {"counted": len(counted), "needed": needed, "sectors": len(sectors),
               "min_sectors": policy.min_sectors, "missing_sectors": missing, "red_flags": flags}
    problems = []
    if len(counted) < needed:
        raised = f" (raised by red flags: {', '.join(flags)})" if flags else ""
        problems.append(f"{len(counted)} of {needed} approvals{raised}")
    if len(sectors) < policy.min_sectors:
        problems.append(f"approvals from {len(sectors)} of {policy.min_sectors} sectors")
    if missing:
        problems.append(f"none from {', '.join(missing)}")
    if problems:
        return GuardResult(False, "quorum", "; ".join(problems), details)
    return GuardResult(True, "quorum",
                       f"{len(counted)} of {needed} approvals from {len(sectors)} sectors", details)


def blocks(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """No standing block: a member's latest sign-off is not a block (only its author lifts it)."""
    standing = [s for s in proposal.latest_signoffs().values() if s.decision == "block"]
    details = {"blocks": [{"user_id": s.user_id, "reason": s.reason} for s in standing]}
    if not standing:
        return GuardResult(True, "blocks", "no standing block", details)
    parts = []
    for signoff in standing:
        member = state.network.member(signoff.user_id)
        who = f"{member.username} ({member.organization})" if member else f"user {signoff.user_id}"
        parts.append(f"blocked by {who}: {signoff.reason}")
    return GuardResult(False, "blocks", "; ".join(parts), details)


def separation_of_duties(state: GuardState, proposal: Proposal, policy: Policy,
                         at: datetime) -> GuardResult:
    """The official who opened the proposal cannot sign it off."""
    if any(s.user_id == proposal.opened_by for s in proposal.signoffs):
        return GuardResult(False, "separation_of_duties",
                           "the official who opened the proposal signed it off")
    return GuardResult(True, "separation_of_duties", "the proposer did not sign off")


def documents(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """Each required document kind is attached while the work is in its current stage."""
    spec = spec_for(proposal.trigger)
    required = spec.documents if spec else ()
    present = {d.kind for d in state.work.documents if d.seq > state.work.stage_entered_seq}
    missing = [kind for kind in required if kind not in present]
    details = {"required": list(required), "missing": missing}
    if missing:
        return GuardResult(False, "documents",
                           f"missing in this stage: {', '.join(missing)}", details)
    return GuardResult(True, "documents",
                       f"attached: {', '.join(required)}" if required else "none required",
                       details)


def observations_answered(state: GuardState, proposal: Proposal, policy: Policy,
                          at: datetime) -> GuardResult:
    """Every observation filed on the work has an answer before the tender is published."""
    open_ = [o.id for o in state.work.observations if o.answer is None]
    details = {"unanswered": open_}
    if open_:
        ids = ", ".join(f"#{i}" for i in open_)
        return GuardResult(False, "observations_answered",
                           f"{len(open_)} observation(s) unanswered: {ids}", details)
    return GuardResult(True, "observations_answered", "every observation is answered", details)


def tender_period(state: GuardState, proposal: Proposal, policy: Policy,
                  at: datetime) -> GuardResult:
    """The award comes at least min_tender_days after the work entered the tender stage."""
    entered = parse_time(state.work.stage_entered_at)
    days = (at - entered).total_seconds() / 86400
    if days < policy.min_tender_days:
        return GuardResult(False, "tender_period",
                           f"{int(days)} of {policy.min_tender_days} days since the tender opened")
    return GuardResult(True, "tender_period",
                       f"{int(days)} days since the tender opened (minimum {policy.min_tender_days})")


def award_data(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """An award names the supplier, the amount and the number of bidders."""
    award = proposal.award or {}
    missing = [k for k in ("supplier", "amount", "bidders") if not award.get(k)]
    if missing:
        return GuardResult(False, "award_data", f"award data missing: {', '.join(missing)}")
    return GuardResult(True, "award_data",
                       f"{award['supplier']} for {award['amount']} {state.work.currency}, "
                       f"{award['bidders']} bidder(s)")


def reason(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """A suspension states its reason."""
    if not proposal.justification.strip():
        return GuardResult(False, "reason", "a reason is required")
    return GuardResult(True, "reason", "reason given")


ALL_GUARDS = {
    g.__name__: g
    for g in (stage, quorum, blocks, separation_of_duties, documents, observations_answered,
              tender_period, award_data, reason)
}
_SIGNOFF_GUARDS = ("quorum", "blocks", "separation_of_duties")


def guards_for(trigger: str) -> list[str]:
    spec = spec_for(trigger)
    if spec is None:
        return ["stage"]
    names = ["stage"]
    if spec.signoff:
        names += _SIGNOFF_GUARDS
    if spec.documents:
        names.append("documents")
    names += spec.guards
    return names


def evaluate(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> list[GuardResult]:
    """Every guard of the proposal's trigger, none skipped, so a refusal lists every reason."""
    return [ALL_GUARDS[name](state, proposal, policy, at) for name in guards_for(proposal.trigger)]


def failures(results: list[GuardResult]) -> list[GuardResult]:
    return [r for r in results if not r.ok]
