"""Guards of the tender calendar and of execution (DESIGN §2, wave 2). Same signature as the
guards of lifecycle.guards.rules: `(state, proposal, policy, at) -> GuardResult`, the policy
being the judging one (the stricter of pinned and in force). The rules are in
lifecycle.execution."""

from __future__ import annotations

from datetime import datetime

from lifecycle import execution as ex
from lifecycle.guards.base import GuardResult, GuardState, observations_of_the_stage
from lifecycle.log.canonical import format_time
from lifecycle.model import Policy, Proposal


def bases_integrated(state: GuardState, proposal: Proposal, policy: Policy,
                     at: datetime) -> GuardResult:
    """The award needs the milestone bases_integrated recorded in this tender."""
    if ex.bases_integrated(state.work):
        return GuardResult(True, "bases_integrated", "the bases were integrated")
    return GuardResult(False, "bases_integrated",
                       "the milestone bases_integrated is not recorded in this tender")


def buena_pro_consented(state: GuardState, proposal: Proposal, policy: Policy,
                        at: datetime) -> GuardResult:
    """sign_contract waits `appeal_days` business days after the buena pro (Peru's national
    holidays not counted) with no appeal pending."""
    work = state.work
    end = ex.appeal_window_end(work, policy)
    details = {"appeal_days": policy.appeal_days,
               "window_ends": format_time(end) if end else None,
               "appeal_pending": ex.appeal_pending(work)}
    if details["appeal_pending"]:
        return GuardResult(False, "buena_pro_consented", "an appeal is pending", details)
    consented = ex.buena_pro_consented_at(work, policy)
    if consented is None or at < consented:
        when = format_time(consented)[:10] if consented else "?"
        return GuardResult(False, "buena_pro_consented",
                           f"the appeal window of {policy.appeal_days} business days is open "
                           f"until {when}", details)
    return GuardResult(True, "buena_pro_consented",
                       f"buena pro consented ({policy.appeal_days} business days, no appeal "
                       "pending)", details)


def reception_observations(state: GuardState, proposal: Proposal, policy: Policy,
                           at: datetime) -> GuardResult:
    """Reception at close needs every observation filed during execution answered (and the
    answer not rejected by its author)."""
    return observations_of_the_stage(state, "reception_observations", "execution")


def amendment_terms(state: GuardState, proposal: Proposal, policy: Policy,
                    at: datetime) -> GuardResult:
    """An amendment states valid terms; its contractAmendment is attached since the previous
    amendment; cumulative additional works above `amendment_flag_pct` also need the
    Comptroller's prior authorization (an escalationApproval attached since then)."""
    work = state.work
    amendment = ex.amendment_of(proposal.amendment)
    if amendment is None:
        return GuardResult(False, "amendment_terms", "the proposal states no amendment")
    breaches = ex.amendment_breaches(work, amendment)
    if breaches:
        return GuardResult(False, "amendment_terms", breaches[0].message)
    since = ex.last_amendment_seq(work)
    fresh = {d.kind for d in work.documents if d.seq > since}
    flags = ex.amendment_flags(work, amendment, policy)
    needed = ["contractAmendment"]
    if ex.ADDITIONAL_ABOVE_LIMIT in flags:
        needed.append("escalationApproval")
    missing = [kind for kind in needed if kind not in fresh]
    unrecorded = [flag for flag in flags if flag not in proposal.red_flags]
    if unrecorded:  # a flag left out when it opened would have lowered the quorum
        return GuardResult(False, "amendment_terms", "red flags not recorded when the "
                                                     f"proposal opened: {', '.join(unrecorded)}")
    extra = ex.decimal_of(amendment.amount) \
        if amendment.kind == ex.AmendmentKind.ADDITIONAL.value else None
    details = {"red_flags": flags, "missing": missing,
               "additional_pct": str(ex.additional_pct(work, extra or ex.Decimal(0)))}
    if missing:
        return GuardResult(False, "amendment_terms",
                           f"missing since the previous amendment: {', '.join(missing)}",
                           details)
    return GuardResult(True, "amendment_terms", f"{amendment.kind} amendment documented",
                       details)


EXECUTION_GUARDS = {
    g.__name__: g
    for g in (bases_integrated, buena_pro_consented, reception_observations, amendment_terms)
}
