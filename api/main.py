"""The FastAPI application: the JSON API under /api/v1 and the web pages under /."""

from __future__ import annotations

from fastapi import FastAPI

from lifecycle.bootstrap import open_lifecycle
from lifecycle.service import Lifecycle


def create_app(lifecycle: Lifecycle | None = None) -> FastAPI:
    """Build the app on an engine (by default the one of $LIFECYCLE_DATA_DIR)."""
    from api.errors import install_error_handlers
    from api.routes import api_router
    from api.web import web_router

    app = FastAPI(
        title="lifecycle",
        summary="Public works under civil-society oversight, with a tamper-evident log.",
        version="0.1.0",
    )
    app.state.lc = lifecycle or open_lifecycle()
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(web_router)
    return app
