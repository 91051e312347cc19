"""Execution under oversight (DESIGN §2, wave 2): valuations and tender milestones, recorded
by an official of the work's entity. The rules are the engine's (lifecycle.execution)."""

from fastapi import APIRouter

from api.writer import write
from api.deps import LifecycleDep, OfficialUser
from api.schemas import MilestoneIn, MilestoneOut, ValuationIn, ValuationOut, WorkId, problems

router = APIRouter(prefix="/works/{work_id}", tags=["execution"])


@router.post("/valuations", status_code=201, response_model=ValuationOut,
             responses=problems(403, 404, 409))
async def report_valuation(work_id: WorkId, body: ValuationIn, actor: OfficialUser,
                           lc: LifecycleDep):
    """A month's valuation (valorización): cumulative physical and financial percentages that
    never decrease, the month's amount (the amounts valued never above the current contract
    amount) and its paymentCertificate or physicalProgressReport."""
    work = await write(
        lc.report_valuation, actor=actor, work_id=work_id, period=body.period,
        physical_pct=body.physical_pct, financial_pct=body.financial_pct, amount=body.amount,
        document_id=body.document_id)
    return ValuationOut.model_validate(work.valuations[-1].__dict__)


@router.post("/milestones", status_code=201, response_model=MilestoneOut,
             responses=problems(403, 404, 409))
async def record_milestone(work_id: WorkId, body: MilestoneIn, actor: OfficialUser,
                           lc: LifecycleDep):
    """A tender milestone: bases_integrated (needed for the award), offers_opened, and after
    the buena pro appeal_filed / appeal_resolved (sign_contract waits while one is pending)."""
    work = await write(
        lc.record_milestone, actor=actor, work_id=work_id, code=body.code, date=body.date,
        document_id=body.document_id)
    return MilestoneOut.model_validate(work.milestones[-1].__dict__)
