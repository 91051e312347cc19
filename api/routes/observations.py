"""Reviewers' input on a work: observations (answered by the official) and conflicts of
interest."""

from fastapi import APIRouter

from api.writer import write
from api.deps import LifecycleDep, MemberUser, OfficialUser
from api.schemas import (
    AnswerIn,
    ConflictIn,
    ConflictOut,
    ObservationId,
    ObservationIn,
    ObservationOut,
    VerdictIn,
    WorkId,
    problems,
)

router = APIRouter(prefix="/works/{work_id}", tags=["observations"])


@router.post("/observations", status_code=201, response_model=ObservationOut,
             responses=problems(403, 404, 409))
async def file_observation(work_id: WorkId, body: ObservationIn, actor: MemberUser, lc: LifecycleDep):
    """A member of the work's network files an observation; the tender cannot be published
    until it is answered."""
    work = await write(lc.file_observation, actor=actor, work_id=work_id, text=body.text)
    return ObservationOut.model_validate(work.observations[-1].__dict__)


@router.post("/observations/{observation_id}/answer", response_model=ObservationOut,
             responses=problems(403, 404, 409))
async def answer_observation(work_id: WorkId, observation_id: ObservationId, body: AnswerIn,
                       actor: OfficialUser, lc: LifecycleDep):
    work = await write(
        lc.answer_observation, actor=actor, work_id=work_id, observation_id=observation_id,
        text=body.text)
    return ObservationOut.model_validate(work.observation(observation_id).__dict__)


@router.post("/observations/{observation_id}/accept", response_model=ObservationOut,
             responses=problems(403, 404, 409))
async def accept_answer(work_id: WorkId, observation_id: ObservationId, actor: MemberUser,
                        lc: LifecycleDep, body: VerdictIn | None = None):
    """The observation's author accepts its answer."""
    work = await write(
        lc.judge_answer, actor=actor, work_id=work_id, observation_id=observation_id, accept=True,
        reason=body.reason if body else None)
    return ObservationOut.model_validate(work.observation(observation_id).__dict__)


@router.post("/observations/{observation_id}/reject", response_model=ObservationOut,
             responses=problems(403, 404, 409))
async def reject_answer(work_id: WorkId, observation_id: ObservationId, body: VerdictIn,
                        actor: MemberUser, lc: LifecycleDep):
    """The observation's author rejects its answer, saying why: a new answer is then due
    before the observation counts as answered."""
    work = await write(
        lc.judge_answer, actor=actor, work_id=work_id, observation_id=observation_id, accept=False,
        reason=body.reason)
    return ObservationOut.model_validate(work.observation(observation_id).__dict__)


@router.post("/conflicts", status_code=201, response_model=ConflictOut,
             responses=problems(403, 404, 409))
async def declare_conflict(work_id: WorkId, body: ConflictIn, actor: MemberUser, lc: LifecycleDep):
    """A member declares a conflict of interest: their approvals on this work stop counting."""
    work = await write(lc.declare_conflict, actor=actor, work_id=work_id, statement=body.statement)
    return ConflictOut.model_validate(work.conflicts[-1].__dict__)
