"""Reports for the public and the auditors."""

from fastapi import APIRouter

from api.deps import LifecycleDep
from api.schemas import StalledWork

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/stalled", response_model=list[StalledWork])
async def stalled_works(lc: LifecycleDep):
    """Works past their stage's service level (network policy), most overdue first."""
    return lc.stalled_report()
