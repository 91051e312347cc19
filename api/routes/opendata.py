"""Open data (DESIGN §6): OCDS 1.1.5 releases and records, OC4IDS 0.9 projects.

Every package is validated against the vendored schemas before it is served; one that does not
validate is a bug, and the server answers 500 rather than publish it. Plain functions, not
coroutines: the first call reads the whole log (then only what was appended since).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import LifecycleDep
from api.schemas import MAX_ID, MAX_SEQ, problems
from lifecycle.errors import NotFound
from lifecycle.opendata.publish import Feed
from lifecycle.service import Lifecycle

router = APIRouter(tags=["open data"])
OCDS_PACKAGE = {200: {"content": {"application/json": {"schema": {"type": "object"}}},
                      "description": "An OCDS 1.1.5 package."}}


def feed_of(request: Request, lc: Lifecycle) -> Feed:
    """One feed per app: it keeps the releases already built and reads only new entries."""
    feed = getattr(request.app.state, "ocds_feed", None)
    if feed is None:
        feed = request.app.state.ocds_feed = Feed.of(lc)
    return feed


def _json(package: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(package, headers=headers)


@router.get("/ocds/releases", responses={**OCDS_PACKAGE, 204: {
    "description": "No release after `after` yet: poll again later."}})
def ocds_releases(request: Request, lc: LifecycleDep,
                  after: Annotated[int, Query(ge=-1, le=MAX_SEQ, description=(
                      "Return releases of log entries with seq > after."))] = -1,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    """An OCDS release package: one immutable release per log entry that changes what OCDS
    describes, in log order and without gaps. Page on with the `next` link (the last
    release's entry seq as `after`); 204 when there is nothing after `after`."""
    feed = feed_of(request, lc)
    page = feed.page(after, limit)
    if not page.releases:
        return Response(status_code=204)
    uri = feed.publication.api(f"/ocds/releases?after={after}&limit={limit}")
    headers = None
    if page.next_after is not None:
        following = feed.publication.api(f"/ocds/releases?after={page.next_after}&limit={limit}")
        headers = {"Link": f'<{following}>; rel="next"'}
    return _json(feed.release_package(page, uri), headers)


@router.get("/ocds/records/{ocid:path}", responses={**OCDS_PACKAGE, **problems(404)})
def ocds_record(request: Request, lc: LifecycleDep,
                ocid: Annotated[str, Path(max_length=200)]):
    """An OCDS record package for one work: every release, the compiled release and the
    versioned release, merged by the standard's rules (ocdsmerge, with the vendored schema)."""
    feed = feed_of(request, lc)
    work = feed.work_by_ocid(ocid)
    package = feed.record_package(work, feed.publication.api(f"/ocds/records/{ocid}")) \
        if work is not None else None
    if package is None:
        raise NotFound(f"no contracting process with ocid {ocid}")
    return _json(package)


@router.get("/oc4ids/projects/{work_id}", responses={
    200: {"content": {"application/json": {"schema": {"type": "object"}}},
          "description": "An OC4IDS 0.9 project package."}, **problems(404)})
def oc4ids_project(request: Request, lc: LifecycleDep,
                   work_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """The work as an OC4IDS 0.9 project package: status from its stage, budget, location,
    its contracting process summary with modifications, and completion once closed."""
    feed = feed_of(request, lc)
    work = feed.work(work_id)
    if work is None:
        raise NotFound(f"work {work_id} not found")
    return _json(feed.project_package(work, feed.publication.api(
        f"/oc4ids/projects/{work_id}")))
