"""The FastAPI application: the JSON API under /api/v1 and the web pages under /."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.boundary import HttpBoundary
from lifecycle.bootstrap import open_lifecycle
from lifecycle.db import WalCheckpointer, is_sqlite
from lifecycle.service import Lifecycle

# Multipart framing around an upload (boundaries, part headers, the kind and title fields).
MULTIPART_ALLOWANCE = 64 * 1024
API_MOUNT = "/api/v1"


def body_limit(scope) -> int:
    """The largest upload a path takes: the anonymous bundle-verify form its own (smaller)
    bound, everything else the engine's document limit."""
    from api.web.audit import MAX_BUNDLE_UPLOAD_BYTES, VERIFY_PATH

    if scope.get("path") == VERIFY_PATH:
        return MAX_BUNDLE_UPLOAD_BYTES
    return scope["app"].state.lc.max_upload_bytes


class BodySizeLimit:
    """Refuse request bodies over the engine's upload limit before they are read to the end:
    at once when Content-Length says so, else as soon as a chunked body passes the limit."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from api.errors import API_PREFIX, BodyTooLarge, problem

        upload_limit = body_limit(scope)
        limit = upload_limit + MULTIPART_ALLOWANCE
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            exc = BodyTooLarge(upload_limit)
            if scope["path"].startswith(API_PREFIX):
                response = problem(413, "Content too large", exc.detail, exc.errors,
                                   {"Connection": "close"})
            else:
                from starlette.requests import Request

                from api.web.refusals import status_page

                response = status_page(Request(scope, receive), 413)
            return await response(scope, receive, send)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(upload_limit)
            return message

        return await self.app(scope, counting_receive, send)


def _problem_media_type(schema: dict) -> dict:
    """FastAPI documents error models under the route's media type (application/json, or
    text/plain for the checkpoint); errors are served as application/problem+json."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if status[:1] == "4" and content:
                    response["content"] = {"application/problem+json":
                                           next(iter(content.values()))}
    return schema


def _needs_user(dependant) -> bool:
    """Whether a route's dependencies include the signed-in caller (current_user)."""
    from api.deps import current_user

    return any(dep.call is current_user or _needs_user(dep) for dep in dependant.dependencies)


def _api_routes(routes):
    """Every APIRoute of the app, through included routers."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            yield from _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _api_routes(route.routes)


def _public_reads(api_router, schema: dict) -> dict:
    """Every API route looks at a presented token (a bad one is a 401), so FastAPI marks them
    all as secured. Operations that need no caller are documented as open: `security: []`."""
    paths = schema.get("paths", {})
    for route in _api_routes(api_router.routes):
        if _needs_user(route.dependant):
            continue
        for method in route.methods:
            operation = paths.get(API_MOUNT + route.path, {}).get(method.lower())
            if operation is not None:
                operation["security"] = []
    return schema


def create_app(lifecycle: Lifecycle | None = None) -> FastAPI:
    """Build the app on an engine (by default the one of $LIFECYCLE_DATA_DIR)."""
    from api.errors import install_error_handlers
    from api.routes import api_router
    from api.web import web_router

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        lc = app.state.lc
        checkpointer = WalCheckpointer(lc.engine).start() if is_sqlite(lc.engine) else None
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, whose pauses otherwise land on some request's latency.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if checkpointer is not None:
                checkpointer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="lifecycle",
        summary="Public works under civil-society oversight, with a tamper-evident log.",
        description="Reading is public. Every write needs `Authorization: Bearer <token>`. "
                    "Errors are RFC 9457 problem details whose `errors` name each field or "
                    "guard at fault.",
        version="0.1.0",
        # /docs is served by api/docs.py from the app's own files, never from a CDN.
        docs_url=None, redoc_url=None,
    )
    app.state.lc = lifecycle or open_lifecycle()
    # A missing, empty or short web session key stops the server here, not at the first page.
    from api.web.session import session_secret

    session_secret(app.state.lc.data_dir)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    # Outermost: query strings are checked before anything reads them, and every response,
    # a 413 or a 500 included, leaves with the security headers.
    app.add_middleware(HttpBoundary)
    app.include_router(api_router, prefix=API_MOUNT)
    app.include_router(web_router)
    from api.docs import router as docs_router

    app.include_router(docs_router)
    from api.routing import flatten_routes

    flatten_routes(app)  # one pass over a flat list per request, not a walk of the tree

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _public_reads(api_router,
                                               _problem_media_type(FastAPI.openapi(app)))
        return app.openapi_schema

    app.openapi = openapi
    return app
