"""Dependencies of the API routes: the engine, the caller, and role checks.

They are coroutines: each is a dictionary lookup or one indexed read, and a sync dependency
would cost a hop to the thread pool per request (see the note in api/routes/__init__.py).

Authorization proper (own entity, own network, own proposal) lives in the service commands, so
every interface gets it. The role checks here only answer early and make each route's audience
visible in its signature and in the OpenAPI document.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.throttle import TokenAttempts, TooManyAttempts
from lifecycle.errors import Forbidden, Invalid, Unauthorized
from lifecycle.service import Actor, Lifecycle

# Ids are PostgreSQL `integer` columns: an id beyond that range names no row, and must never
# reach the driver (an overflow there is a 500). The API's own path types are in api/schemas.py;
# the web pages use this one, and answer a refused id with their 404 page.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# A filter of a page (search words, a region, a cursor): as bounded as the API's (api/schemas.py
# text_query), far below SQLite's 50,000-byte LIKE pattern limit.
MAX_SEARCH_CHARS = 200
SearchText = Annotated[str, Query(max_length=MAX_SEARCH_CHARS)]

bearer = HTTPBearer(auto_error=False, description="The API token printed by `lifecycle users "
                                                  "add`, `lifecycle demo` or `POST /users`.")


async def get_lifecycle(request: Request) -> Lifecycle:
    return request.app.state.lc


LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]


async def optional_user(lc: LifecycleDep, request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                  ) -> Actor | None:
    """The caller, or None for an anonymous read. A token that is presented but unknown is a
    401 even on a public read: a client with a typo should learn it, not be served as anonymous."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("use `Authorization: Bearer <token>`")
        return None
    address = request.client.host if request.client else None
    attempts = token_attempts(request)
    lockout = attempts.lockout(lc, address)
    if lockout is not None:
        raise TooManyAttempts(lockout, "unknown API tokens")
    actor = lc.authenticate_token(credentials.credentials)
    if actor is None:
        lockout = attempts.failed(lc, address)
        if lockout is not None:
            raise TooManyAttempts(lockout, "unknown API tokens")
        raise Unauthorized("unknown API token")
    return actor


def token_attempts(request: Request) -> TokenAttempts:
    """The app's count of unknown tokens (one per app, so per process)."""
    state = request.app.state
    attempts = getattr(state, "token_attempts", None)
    if attempts is None:
        attempts = state.token_attempts = TokenAttempts()
    return attempts


OptionalUser = Annotated[Actor | None, Depends(optional_user)]


async def current_user(actor: OptionalUser) -> Actor:
    if actor is None:
        raise Unauthorized("this needs an API token: `Authorization: Bearer <token>`")
    return actor


CurrentUser = Annotated[Actor, Depends(current_user)]


class RequireRole:
    """A dependency that lets through only callers with one of the given roles."""

    def __init__(self, *roles: str):
        self.roles = roles

    async def __call__(self, actor: CurrentUser) -> Actor:
        if actor.role not in self.roles:
            raise Forbidden(f"this needs the role {' or '.join(self.roles)}; "
                            f"you are {actor.role}")
        return actor


AdminUser = Annotated[Actor, Depends(RequireRole("admin"))]
OfficialUser = Annotated[Actor, Depends(RequireRole("official"))]
MemberUser = Annotated[Actor, Depends(RequireRole("member"))]

_VERSION_TAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


async def if_match_version(
        if_match: Annotated[str | None, Header(
            description="The work's version (its ETag), e.g. `\"3\"`: the change applies only "
                        "if the work is still at that version, else 412.")] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _VERSION_TAG.match(if_match)
    if not found:
        raise Invalid("If-Match", 'must be a work version (ETag) such as "3"')
    return int(found.group(1))


IfMatch = Annotated[int | None, Depends(if_match_version)]
