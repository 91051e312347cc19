"""JSON API routers, one per resource, mounted under /api/v1.

Most routes are coroutines that call the engine directly on the event loop. A command takes
about a millisecond and appends are serialized anyway; sending each request (and each sync
dependency) through the thread pool cost more than the work, and the threads only fought over
the GIL (bench/load.py: 3x the throughput, a fraction of the p99). On PostgreSQL, where every
statement waits for the server, commands go to one writer thread and the busiest reads to a
few reader threads (api/writer.py); on SQLite they run inline. Routes that can take long —
uploads (hashing up to the size limit), password hashing, checkpoint signing and log exports —
stay plain functions, which FastAPI runs in its thread pool.
"""

from fastapi import APIRouter, Depends

from api.deps import optional_user
from api.routes import (
    documents,
    execution,
    exports,
    keys,
    log,
    me,
    networks,
    observations,
    opendata,
    organizations,
    proposals,
    reports,
    stages,
    users,
    works,
)
from api.schemas import problems

# Every route checks a presented token (a bad one is a 401 even on a public read); the
# dependency is cached per request, so routes that need a user do not look it up twice.
api_router = APIRouter(dependencies=[Depends(optional_user)],
                       responses=problems(401, 422, 429))
for module in (stages, users, organizations, networks, works, documents, observations, proposals, log, reports,
               keys):
    api_router.include_router(module.router)
api_router.include_router(execution.router)  # valuations and milestones (DESIGN §2, wave 2)
for module in (me,):  # the caller's inbox and notification settings
    api_router.include_router(module.router)
for module in (opendata, exports):  # open data and downloads (DESIGN §6)
    api_router.include_router(module.router)
