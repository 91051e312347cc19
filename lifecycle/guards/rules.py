from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from lifecycle.guards.base import GuardResult, GuardState, observations_of_the_stage
from lifecycle.log.canonical import parse_time
from lifecycle.guards.policy import stricter
from lifecycle.model import Member, Policy, Proposal, SignOff, Work
from lifecycle.states import destination, spec_for


def red_flags(reference_amount: str, award: dict | None, policy: Policy) -> list[str]:
    """Award red flags (DESIGN §3): a single bidder; an amount above the reference amount by
    more than award_tolerance_pct; an amount below it by more than low_tolerance_pct (an
    abnormally low offer). Each one raises the required approvals by one."""
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
    if amount < reference * (100 - policy.low_tolerance_pct) / 100:
        flags.append("amount_below_reference")
    return flags


def proposal_flags(state: GuardState, proposal: Proposal, policy: Policy) -> list[str]:
    """The flags recorded when the proposal opened, and any the judging policy adds."""
    flags = list(proposal.red_flags)
    for flag in red_flags(state.work.reference_amount, proposal.award, policy):
        if flag not in flags:
            flags.append(flag)
    return flags


def required_approvals(state: GuardState, proposal: Proposal, policy: Policy) -> int:
    policy = stricter(proposal.policy, policy)
    return policy.min_approvals + len(proposal_flags(state, proposal, policy))


@dataclass(frozen=True)
class TalliedSignOff:
    signoff: SignOff
    member: Member | None
    excluded: str | None  # why an approval does not count, or None when it counts


def dossier_changed_seq(work: Work) -> int:
    """Log position of the latest change of the work's dossier: a document attached, an
    observation filed or answered (DESIGN §3: approvals given before it are stale)."""
    latest = -1
    if work.documents:
        latest = work.documents[-1].seq
    for observation in work.observations:
        latest = max(latest, observation.filed_seq, observation.answer_seq or -1)
    return latest


def supplier_organizations(award: dict | None) -> set[int]:
    """The proposed supplier and every member of its consortium, as organization ids."""
    award = award or {}
    ids = [award.get("supplier_id"), *award.get("consortium_ids", [])]
    return {i for i in ids if isinstance(i, int)}


def _exclusion(state: GuardState, proposal: Proposal, signoff: SignOff,
               member: Member | None, dossier_seq: int) -> str | None:
    if member is None:
        return "not a member of the network"
    if not member.active:
        return "has left the network"
    if member.joined_seq > proposal.opened_seq:
        return "was not a member when the proposal opened"
    if signoff.user_id == proposal.opened_by:
        return "opened the proposal"
    if state.work.conflicted(signoff.user_id):
        return "declared a conflict of interest"
    organization = member.organization_id
    if organization is not None and organization == state.work.entity_id:
        return "works for the work's entity"
    if organization is not None and organization in supplier_organizations(proposal.award):
        return "works for the proposed supplier"
    if organization is not None and organization in state.work.excluded_organizations:
        return "works for the awarded supplier or a consortium member"
    if signoff.key_id is None and signatures_required(state, proposal):
        return "not signed by the member"
    if signoff.seq < dossier_seq:
        return "stale: given before the dossier last changed"
    return None


def counting_signoffs(state: GuardState, proposal: Proposal) -> dict[int, SignOff]:
    """Each member's sign-off that counts: the latest. Under require_member_signatures (DESIGN
    §4.3) an unsigned sign-off, which whoever holds the database could write, neither adds nor
    takes away: a member's latest signed sign-off counts, and only a member who never signed
    is judged by an unsigned one (which then does not count)."""
    latest = proposal.latest_signoffs()
    if not signatures_required(state, proposal):
        return latest
    signed = {s.user_id: s for s in proposal.carried_blocks if s.key_id is not None}
    for signoff in proposal.signoffs:
        if signoff.key_id is not None:
            signed[signoff.user_id] = signoff
    return {user_id: signed.get(user_id, signoff) for user_id, signoff in latest.items()}


def signatures_required(state: GuardState, proposal: Proposal) -> bool:
    """DESIGN §4.3: under `require_member_signatures` (in force, or pinned when the proposal
    opened) an unsigned approval or block does not count."""
    return bool(state.network.policy.require_member_signatures
                or (proposal.policy or {}).get("require_member_signatures"))


def approval_tally(state: GuardState, proposal: Proposal) -> list[TalliedSignOff]:
    """Every member's latest approval, each with the reason it does not count (if any). At
    most one approval counts per organization: the earliest of those that otherwise count."""
    dossier_seq = dossier_changed_seq(state.work)
    tally = []
    counted_organizations: set[int] = set()
    latest = sorted(counting_signoffs(state, proposal).values(), key=lambda s: s.seq)
    for signoff in latest:
        if signoff.decision != "approve":
            continue
        member = state.network.member(signoff.user_id)
        excluded = _exclusion(state, proposal, signoff, member, dossier_seq)
        if excluded is None and member.organization_id is not None:
            if member.organization_id in counted_organizations:
                excluded = "another approval of the same organization counts"
            counted_organizations.add(member.organization_id)
        tally.append(TalliedSignOff(signoff, member, excluded))
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
    flags = proposal_flags(state, proposal, policy)
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
    """No standing block: a member's latest sign-off is not a block (only its author lifts it).
    Blocks carried over from an earlier proposal of the same trigger in the same stage stand
    here too; a departed author's block is lifted only by an overrule (block.overruled)."""
    required = signatures_required(state, proposal)
    standing = [s for s in counting_signoffs(state, proposal).values()
                if s.decision == "block" and s.user_id not in proposal.overruled
                and (s.key_id is not None or not required)]
    details = {"blocks": [{"user_id": s.user_id, "reason": s.reason} for s in standing],
               "overruled": list(proposal.overruled)}
    if not standing:
        text = "no standing block"
        if proposal.overruled:
            text += f" ({len(proposal.overruled)} overruled)"
        return GuardResult(True, "blocks", text, details)
    parts = []
    for signoff in standing:
        member = state.network.member(signoff.user_id)
        who = f"{member.username} ({member.organization})" if member else f"user {signoff.user_id}"
        parts.append(f"blocked by {who}: {signoff.reason}")
    return GuardResult(False, "blocks", "; ".join(parts), details)


def standing_blocks(proposal: Proposal) -> list[SignOff]:
    """Latest sign-offs (carried-over ones included) that are blocks not overruled."""
    return [s for s in proposal.latest_signoffs().values()
            if s.decision == "block" and s.user_id not in proposal.overruled]


def separation_of_duties(state: GuardState, proposal: Proposal, policy: Policy,
                         at: datetime) -> GuardResult:
    """The official who opened the proposal cannot sign it off."""
    if any(s.user_id == proposal.opened_by for s in proposal.signoffs):
        return GuardResult(False, "separation_of_duties",
                           "the official who opened the proposal signed it off")
    return GuardResult(True, "separation_of_duties", "the proposer did not sign off")


def documents(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """Each required document kind is attached while the work is in its current stage (since it
    last entered it, not while suspended), each kind a distinct file, and after a void none
    with the bytes of an earlier document of its kind."""
    spec = spec_for(proposal.trigger)
    required = spec.documents if spec else ()
    work = state.work
    candidates: dict[str, list[str]] = {}
    for d in work.documents:
        if d.seq > work.stage_entered_seq and d.stage == work.stage and \
                d.sha256 not in work.voided_kinds.get(d.kind, ()):
            candidates.setdefault(d.kind, []).append(d.sha256)
    used: set[str] = set()
    missing = []
    for kind in required:
        files = [sha for sha in candidates.get(kind, []) if sha not in used]
        if files:
            used.add(files[0])
        else:
            missing.append(kind)
    details = {"required": list(required), "missing": missing}
    if missing:
        return GuardResult(False, "documents",
                           f"missing in this stage: {', '.join(missing)}", details)
    return GuardResult(True, "documents",
                       f"attached: {', '.join(required)}" if required else "none required",
                       details)


def observations_answered(state: GuardState, proposal: Proposal, policy: Policy,
                          at: datetime) -> GuardResult:
    """Every observation filed on the work has an answer that its author has not rejected."""
    open_ = [o.id for o in state.work.observations if not o.settled]
    details = {"unanswered": open_}
    if open_:
        ids = ", ".join(f"#{i}" for i in open_)
        return GuardResult(False, "observations_answered",
                           f"{len(open_)} observation(s) unanswered or answer rejected: {ids}",
                           details)
    return GuardResult(True, "observations_answered", "every observation is answered", details)


def tender_observations(state: GuardState, proposal: Proposal, policy: Policy,
                        at: datetime) -> GuardResult:
    """Before the award, every observation filed during the tender has an answer that its
    author has not rejected (DESIGN §3, observations answered)."""
    return observations_of_the_stage(state, "tender_observations", "the tender")


def tender_period(state: GuardState, proposal: Proposal, policy: Policy,
                  at: datetime) -> GuardResult:
    """The award or a void comes at least min_tender_days after the work entered the tender
    stage, not counting the days it spent suspended."""
    policy = stricter(proposal.policy, policy)
    days = days_in_stage(state.work, at)
    if days < policy.min_tender_days:
        return GuardResult(False, "tender_period",
                           f"{int(days)} of {policy.min_tender_days} days since the tender opened")
    return GuardResult(True, "tender_period",
                       f"{int(days)} days since the tender opened (minimum {policy.min_tender_days})")


def days_in_stage(work: Work, at: datetime) -> float:
    """Days since the work entered its stage, less the time it spent suspended since."""
    entered = parse_time(work.stage_entered_at)
    seconds = (at - entered).total_seconds()
    for start, until in work.suspensions:
        begin = max(parse_time(start), entered)
        end = parse_time(until) if until else at
        if end > begin:
            seconds -= (min(end, at) - begin).total_seconds()
    return seconds / 86400


def award_data(state: GuardState, proposal: Proposal, policy: Policy, at: datetime) -> GuardResult:
    """An award names the supplier, the amount and the number of bidders."""
    award = proposal.award or {}
    missing = [k for k in ("supplier", "amount", "bidders") if not award.get(k)]
    if missing:
        return GuardResult(False, "award_data", f"award data missing: {', '.join(missing)}")
    try:
        positive = Decimal(str(award["amount"])) > 0
    except InvalidOperation:
        positive = False
    if not positive:
        return GuardResult(False, "award_data", "the amount must be greater than zero")
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
              tender_observations, tender_period, award_data, reason)
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
    """Every guard of the proposal's trigger, none skipped, so a refusal lists every reason.
    The judging policy is the stricter of the one pinned at opening and `policy`."""
    policy = stricter(proposal.policy, policy)
    return [ALL_GUARDS[name](state, proposal, policy, at) for name in guards_for(proposal.trigger)]


def failures(results: list[GuardResult]) -> list[GuardResult]:
    return [r for r in results if not r.ok]


# Wave-2 guards of the tender calendar and execution (lifecycle/guards/execution.py).
from lifecycle.guards.execution import EXECUTION_GUARDS  # noqa: E402

ALL_GUARDS.update(EXECUTION_GUARDS)
