"""The demo's execution histories (DESIGN §2, wave 2), played by lifecycle/demo.py's stories on
its simulated clock, through the service like every other step:

- one appeal filed and resolved before a contract is signed (its buena pro consented later
  than the window alone would say);
- monthly valuations with each progress report: cumulative physical and financial progress
  that never decreases, amounts within the contract;
- one work suspended during execution at over 40% progress and never resumed: paralysed as the
  Comptroller counts six months on, and eligible under Ley 31589;
- one additional-works amendment above 15% of the contract: the red flag, the Comptroller's
  authorization (escalationApproval) and one more approval;
- at the end the worker records every deadline that fell due (lifecycle/deadlines.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from lifecycle.calendar import lima_date
from lifecycle.deadlines import run_deadlines
from lifecycle.execution import current_contract_amount
from lifecycle.model import Policy

AMENDED_AGE = (160, 175)  # the execution story that gets the flagged amendment
STALLED_PCT = Decimal("41.50")
ADDITIONAL_SHARE = Decimal("0.165")  # 16.5% of the contract: above the 15% flag
CENT = Decimal("0.01")


def _is_paralysed_story(story) -> bool:
    """The work suspended during execution and never resumed: its progress stops with it."""
    plan = story.plan
    return plan.final == "suspended" and any(t == "sign_contract" for t, _, _ in plan.route)


def before_suspension(story) -> None:
    """The progress reported before the works stopped: over 40%, so that, paralysed six
    months later, the work is eligible under Ley 31589."""
    if _is_paralysed_story(story) and story.lc.get_work(story.work_id).stage == "execution":
        story._progress_report()


def _is_amended_story(story) -> bool:
    plan = story.plan
    return (plan.final == "execution" and plan.ending is None
            and AMENDED_AGE[0] <= plan.age <= AMENDED_AGE[1])


def _is_appealed_story(story) -> bool:
    """The first work headed for closure that reaches its contract has its award appealed."""
    if story.plan.final != "closure":
        return False
    chosen = getattr(story.demo, "appealed_work_id", None)
    if chosen is None:
        story.demo.appealed_work_id = chosen = story.work_id
    return chosen == story.work_id


def before_proposal(story, trigger: str) -> None:
    """For one work, an appeal filed after the buena pro and resolved before the contract
    (demo.py records the bases integrated before every award)."""
    lc, work_id, official = story.lc, story.work_id, story.official
    today = lima_date(story.demo.clock.now).isoformat()
    if trigger == "sign_contract" and _is_appealed_story(story):
        work = lc.get_work(work_id)
        awarded = lima_date(datetime.fromisoformat(work.stage_entered_at.replace("Z", "+00:00")))
        lc.record_milestone(actor=official, work_id=work_id, code="appeal_filed",
                            date=awarded.isoformat())
        lc.record_milestone(actor=official, work_id=work_id, code="appeal_resolved",
                            date=today)


def report_valuation(story) -> None:
    """The month's valuation, with the progress report just attached as its document. A
    second report in the same month adds no valuation (one valuation per month)."""
    lc = story.lc
    work = lc.get_work(story.work_id)
    if work.stage != "execution" or not work.award:
        return
    period = lima_date(story.demo.clock.now).strftime("%Y-%m")
    previous = work.valuations[-1] if work.valuations else None
    if previous is not None and period <= previous.period:
        return
    physical = Decimal(previous.physical_pct) if previous else Decimal(0)
    financial = Decimal(previous.financial_pct) if previous else Decimal(0)
    if _is_paralysed_story(story):
        physical = max(physical, STALLED_PCT)
        financial = max(financial, STALLED_PCT - 2)
    else:
        physical = min(Decimal(100), physical + Decimal(story.rng.randint(600, 1400)) / 100)
        financial = max(financial, physical - Decimal(story.rng.randint(0, 300)) / 100)
    contract = _contract_amount(work)
    valued = sum((Decimal(v.amount) for v in work.valuations), Decimal(0))
    amount = max(Decimal(0), (contract * financial / 100).quantize(CENT, ROUND_DOWN) - valued)
    lc.report_valuation(actor=story.official, work_id=story.work_id, period=period,
                        physical_pct=str(physical.quantize(CENT)),
                        financial_pct=str(financial.quantize(CENT)), amount=str(amount),
                        document_id=len(work.documents))


def _contract_amount(work) -> Decimal:
    return current_contract_amount(work)


def execution_extras(story) -> Iterator[datetime]:
    """For one work in execution: additional works above the 15% flag, authorized by the
    Comptroller, approved by one more member than the quorum, and applied."""
    if not _is_amended_story(story):
        return
    lc = story.lc
    work = lc.get_work(story.work_id)
    if work.stage != "execution":
        return
    months = min((story.span[1] - story.span[0]).days // 30, 4)
    yield story.after(30 * months + 4)
    story._attach("contractAmendment", title="Adicional de obra N.° 1: obras de drenaje")
    yield story.after(30 * months + 6)
    story._attach("escalationApproval",
                  title="Autorización previa de la Contraloría para el adicional N.° 1")
    amount = (_contract_amount(work) * ADDITIONAL_SHARE).quantize(CENT)
    yield story.after(30 * months + 7)
    proposal = lc.open_proposal(
        actor=story.official, work_id=story.work_id, trigger="amend",
        justification="Adicional de obra por drenaje pluvial no previsto en el expediente "
                      "técnico; cuenta con la autorización previa de la Contraloría.",
        amendment={"kind": "additional", "amount": str(amount)})
    needed = Policy().min_approvals + len(proposal.red_flags)  # the demo's default quorum
    for n, person in enumerate(story._pick(needed)):
        yield story.after(30 * months + 9 + n)
        story._sign(proposal.id, person)
    yield story.after(30 * months + 9 + needed)
    story._apply(proposal.id, expect=True)


def record_deadlines(demo) -> None:
    """The worker, once the stories are played: every deadline due by the demo's today."""
    run_deadlines(demo.lc)
