"""Works: register, list, and the detail a reviewer needs; each work's log history."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.writer import read, write
from api.deps import LifecycleDep, OfficialUser
from api.schemas import (
    DocumentOut,
    MAX_ID,
    GuardOut,
    ProposalBrief,
    ProposalOut,
    Stage,
    StrictBool,
    WorkCorrection,
    WorkIn,
    WorkOut,
    WorkPage,
    WorkId,
    WorkSummary,
    problems,
    text_query,
)
from lifecycle.model import Network, Work
from lifecycle.reads import work_and_network
from lifecycle.service import Lifecycle
from lifecycle.states import legal_triggers

router = APIRouter(prefix="/works", tags=["works"])


def _settled_detail(work: Work, network: Network) -> WorkOut:
    """The work's detail but for the dry run: what depends on the work and its network only
    (the open proposal's tally, the documents, the legal triggers), not on the time."""
    proposal = work.open_proposal
    data = dict(vars(work))  # top-level fields; the nested lists are converted just below
    data.update(
        observations=[vars(o) for o in work.observations],
        conflicts=[vars(c) for c in work.conflicts],
        documents=[DocumentOut.model_validate(d.__dict__) for d in work.documents],
        proposals=[ProposalBrief.model_validate(p.__dict__) for p in work.proposals],
        open_proposal=ProposalOut.of(work, network, proposal) if proposal else None,
        red_flags=proposal.red_flags if proposal else [],
        dry_run=[], missing=[],
        legal_triggers=legal_triggers(work.stage, (work.suspended_from or {}).get("stage")))
    return WorkOut.model_validate(data)


# By work id: the work and network objects of lifecycle.reads (shared, never changed) and the
# settled detail built from them. The same two objects mean the same stored texts, so the
# same detail; a changed work or network comes back as new objects and is built again.
_SETTLED: dict[int, tuple[Work, Network, WorkOut]] = {}
_MAX_SETTLED = 1024


def work_detail(lc: Lifecycle, work: Work, network: Network | None = None, *,
                shared: bool = False) -> WorkOut:
    """The work with its open proposal's tally and a dry run of its guards as of now.
    `shared`: work and network come from lifecycle.reads, and the settled part may be kept."""
    if network is None:
        network = lc.get_network(work.network_id)
    kept = _SETTLED.get(work.id) if shared else None
    if kept is not None and kept[0] is work and kept[1] is network:
        settled = kept[2]
    else:
        settled = _settled_detail(work, network)
        if shared:
            if len(_SETTLED) >= _MAX_SETTLED:
                _SETTLED.clear()
            _SETTLED[work.id] = (work, network, settled)
    dry_run = [GuardOut.of(r) for r in lc.dry_run(work, network)]  # the guards as of now
    return settled.model_copy(update={"dry_run": dry_run,
                                      "missing": [g for g in dry_run if not g.ok]})


def etag(work: Work) -> str:
    return f'"{work.version}"'


@router.post("", status_code=201, response_model=WorkOut, responses=problems(403, 404, 409))
async def register_work(body: WorkIn, actor: OfficialUser, lc: LifecycleDep, response: Response):
    """Register a work of the official's entity; its region's network oversees it, and it
    starts in design."""
    work = await write(
        lc.register_work, actor=actor, code=body.code, title=body.title, entity_id=body.entity_id,
        region=body.region, network_id=body.network_id, reference_amount=body.reference_amount,
        currency=body.currency, cui=body.cui, province=body.province, district=body.district,
        sector=body.sector, description=body.description)
    response.headers["ETag"] = etag(work)
    response.headers["Location"] = f"/api/v1/works/{work.id}"
    return work_detail(lc, work)


@router.patch("/{work_id}", response_model=WorkOut, responses=problems(403, 404, 422))
async def correct_work(work_id: WorkId, body: WorkCorrection, actor: OfficialUser,
                       lc: LifecycleDep, response: Response):
    """A logged correction of the work's details (`work.corrected`, with its reason and the
    values before): only the fields given change; an empty string clears one."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    work = await write(lc.correct_work, actor=actor, work_id=work_id, reason=body.reason, **changes)
    response.headers["ETag"] = etag(work)
    return work_detail(lc, work)


@router.get("", response_model=WorkPage)
async def list_works(
        lc: LifecycleDep,
        stage: Stage | None = None,
        region: Annotated[str | None, text_query()] = None,
        network: Annotated[int | None, Query(ge=1, le=MAX_ID, description="A network id.")
                           ] = None,
        stalled: Annotated[StrictBool | None, Query(
            description="true: only works past their stage's service level; false: only "
                        "works within it.")] = None,
        paralysed: Annotated[StrictBool | None, Query(
            description="true: only works paralysed (no physical progress for the policy's "
                        "paralysis_months); false: only works that are not.")] = None,
        entity: Annotated[str | None, text_query("A public entity.")] = None,
        search: Annotated[str | None, text_query("Part of the code or title.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        # 16 characters hold any cursor this API gives out, and keep a forged one from
        # decoding to an id too large for the database driver (a 500 in lifecycle.service).
        cursor: Annotated[str | None, text_query("`next_cursor` of the previous page.", 16)
                          ] = None):
    """Works in a stable order, a page at a time (keyset pagination with an opaque cursor)."""
    page = lc.list_works(stage=stage, region=region, network_id=network, stalled=stalled,
                         entity=entity, search=search, limit=limit, cursor=cursor,
                         paralysed=paralysed)
    return WorkPage(works=[WorkSummary.model_validate(row, from_attributes=True)
                           for row in page.works],
                    next_cursor=page.next_cursor)


@router.get("/{work_id}", response_model=WorkOut, responses=problems(404))
async def get_work(work_id: WorkId, lc: LifecycleDep, response: Response):
    """The work, its open proposal with every sign-off (stale and excluded approvals marked
    with the reason), its red flags, and a dry run of the guards: what is still missing.
    The ETag is the work's version, for `If-Match` on apply."""
    work, network = await read(lc, work_and_network, lc, work_id)
    response.headers["ETag"] = etag(work)
    return work_detail(lc, work, network, shared=True)


@router.get("/{work_id}/history", response_model=list[dict[str, Any]], responses=problems(404))
async def work_history(work_id: WorkId, lc: LifecycleDep):
    """The work's log entries in order, as stored."""
    return lc.history(work_id)
