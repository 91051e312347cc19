"""RFC 9457 problem details for every error the API answers.

Every error under /api/ is `application/problem+json` with an `errors` list that names the
field (or the guard) at fault, so a client never has to parse a sentence to know what to fix.
Outside /api/ a refusal of the HTTP layer (a parameter out of range, an unknown address, a body
over the limit) is a page in the reader's language (api/web/refusals.py).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifecycle.errors import LifecycleError

PROBLEM_MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
REALM = 'Bearer realm="lifecycle"'
# Refusals a person reading the site gets as a page in their language (api/web/refusals.py).
WEB_STATUS_PAGES = (400, 404, 405, 413)


class BodyTooLarge(StarletteHTTPException):
    """A request body over the upload limit (413). It subclasses Starlette's HTTPException
    because FastAPI re-raises those from body parsing instead of turning them into a 400."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")
        self.errors = [{"field": "file", "message": f"is larger than {limit} bytes"}]


def problem(status: int, title: str, detail: str, errors: list[dict] | None = None,
            headers: dict | None = None, **extensions) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "errors": errors or []}
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def challenge(token_given: bool) -> dict:
    """The WWW-Authenticate header of a 401 (RFC 6750 §3)."""
    if token_given:
        return {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
    return {"WWW-Authenticate": REALM}


def field_name(loc: tuple | list) -> str:
    """`("body", "award", "amount")` -> `award.amount`; `("header", "if-match")` -> `If-Match`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if source == "header" and parts:
            return "-".join(w.capitalize() for w in parts[0].split("-"))
        if source == "body" and (not parts or parts[0].isdigit()):
            return "body"  # malformed JSON: pydantic reports a character position
    return ".".join(parts) or "body"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def install_error_handlers(app: FastAPI) -> None:
    from api.web.refusals import status_page, validation_page

    @app.exception_handler(LifecycleError)
    async def lifecycle_error(request: Request, exc: LifecycleError):
        headers = getattr(exc, "headers", None)  # e.g. Retry-After of a 429
        if exc.status == 401:
            headers = challenge(bool(request.headers.get("authorization")))
        return problem(exc.status, exc.title, exc.message, exc.errors, headers,
                       **getattr(exc, "extensions", {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if not _is_api(request):
            return await run_in_threadpool(validation_page, request, exc)
        errors = []
        for error in exc.errors():
            message = error.get("msg", "is invalid")
            if error.get("type") == "json_invalid":
                message = f"is not valid JSON: {error.get('ctx', {}).get('error', message)}"
            errors.append({"field": field_name(error.get("loc", ())), "message": message})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not _is_api(request):
            if exc.status_code in WEB_STATUS_PAGES:
                return await run_in_threadpool(status_page, request, exc.status_code)
            return await http_exception_handler(request, exc)
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not decode (e.g. invalid UTF-8). For the
            # client that is malformed input like any other, so answer as for bad JSON.
            return problem(422, "Invalid input", "body: could not be decoded",
                           [{"field": "body", "message": "is not valid JSON in UTF-8"}])
        titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                       getattr(exc, "errors", None), getattr(exc, "headers", None))
