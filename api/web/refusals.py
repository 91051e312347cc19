"""Error pages for what the HTTP layer refuses before a page handler runs: a malformed query
string, a path or query parameter out of range, an unknown address, a body over the limit.

The JSON API answers these with problem details (api/errors.py); a person reading the site
gets a page in their language that says what to fix instead of FastAPI's English JSON."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from api.boundary import QueryFault, QueryProblem
from api.web.render import Page


def _page(scope, receive) -> Page:
    # The page must not echo a refused query back into its own links (language switch).
    return Page(Request({**scope, "query_string": b""}, receive))


def query_refusal(scope, receive, found: QueryProblem) -> Response:
    page = _page(scope, receive)
    _ = page.gettext
    why = {QueryFault.TOO_LONG: _("the address is too long."),
           QueryFault.ENCODING: _("the address is not correctly encoded."),
           QueryFault.CONTROL: _("the address has characters that are not allowed.")}
    return page.error(422, f"{_('Please check what you entered.')} {found.field}: "
                           f"{why[found.fault]}")


def _reason(page: Page, error: dict) -> str:
    """One pydantic error in the reader's words."""
    _ = page.gettext
    kind = error.get("type", "")
    limit = (error.get("ctx") or {}).get("max_length")
    if kind == "string_too_long" and limit is not None:
        return _("must be at most %(num)s characters long.") % {"num": limit}
    if kind == "string_pattern_mismatch":
        return _("has characters that are not allowed.")
    if kind in ("int_parsing", "int_from_float", "less_than_equal", "greater_than_equal",
                "greater_than", "less_than"):
        return _("must be a number")
    if kind == "missing":
        return _("is missing.")
    return _("is not valid.")


def validation_page(request: Request, exc: RequestValidationError) -> Response:
    """A parameter FastAPI refused on a page. An id in the path that cannot name a row (not a
    number, or beyond the database's integer range) names no page at all: 404."""
    page = Page(request)
    _ = page.gettext
    errors = exc.errors()
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        return page.error(404, _("Not found."))
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'query'}: "
                        f"{_reason(page, e)}" for e in errors)
    return page.error(422, f"{_('Please check what you entered.')} {details}")


def status_page(request: Request, status_code: int) -> Response:
    """A form that could not be parsed (400), an unknown address (404), a method the address
    does not take (405), a body over the limit (413), as a page."""
    page = Page(request)
    _ = page.gettext
    message = {400: _("The form could not be read. Go back, reload the page and send it "
                      "again."),
               404: _("Not found."),
               405: _("This address does not take that kind of request."),
               413: _("The file is larger than this server accepts.")
               }.get(status_code, _("Something went wrong"))
    response = page.error(status_code, message)
    if status_code == 413:
        response.headers["Connection"] = "close"
    return response
