"""RFC 9457 problem details for every error the app answers."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lifecycle.errors import LifecycleError


def problem(status: int, title: str, detail: str, errors: list[dict] | None = None,
            headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail,
         "errors": errors or []},
        status_code=status, media_type="application/problem+json", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LifecycleError)
    async def lifecycle_error(request: Request, exc: LifecycleError):
        return problem(exc.status, exc.title, exc.message, exc.errors)
