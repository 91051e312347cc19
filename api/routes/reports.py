"""Reports for the public and the auditors."""

from fastapi import APIRouter

from api.deps import LifecycleDep
from api.schemas import StalledReport

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/stalled", response_model=StalledReport)
async def stalled_works(lc: LifecycleDep):
    """Overdue works — past their stage's service level (network policy), most overdue first
    — and, apart, paralysed works: in execution with no physical progress for the policy's
    `paralysis_months`, longest first, with their progress and Ley 31589 eligibility."""
    return {"overdue": lc.stalled_report(), "paralysed": lc.paralysed_report()}
