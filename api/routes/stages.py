"""The stage machine as data, and a constant endpoint for health checks and benchmarks."""

from fastapi import APIRouter

from api.schemas import Ping, StageTable
from lifecycle.states import stage_table

router = APIRouter(tags=["stages"])


@router.get("/stages", response_model=StageTable)
async def get_stages():
    """Stages and transitions (DESIGN §2), read from the stage machine itself."""
    return stage_table()


@router.get("/ping", response_model=Ping)
async def ping():
    """A constant answer: liveness, and the baseline of bench/load.py."""
    return Ping()
