"""The HTTP boundary: what every request and response passes through before any route.

- A query string must be percent-encoded UTF-8 without control characters and of bounded
  length; anything else is a 422 naming the parameter (the JSON API) or a Spanish error page
  (the web), before a route decodes it into replacement characters or hands a NUL to SQL.
  What passes reaches the routes in NFC.
- Every response carries the security headers: no framing, no sniffing, no referrer to other
  sites, and a Content-Security-Policy without inline script on the pages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote_plus, unquote_to_bytes

from api.uploads import has_unsafe_characters

API_PREFIX = "/api/"
# A query string is a filter or a cursor; 8 KiB is far more than any of them needs.
MAX_QUERY_BYTES = 8 * 1024
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")

# The pages load nothing from other sites and run no inline script; forms post only here.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
# JSON, text and files from the API are never documents to render.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
COMMON_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
# FastAPI's interactive documentation loads its script from a CDN: it keeps its own rules.
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")


class QueryFault(Enum):
    TOO_LONG = "too_long"
    ENCODING = "encoding"
    CONTROL = "control"


@dataclass(frozen=True)
class QueryProblem:
    field: str
    message: str
    fault: QueryFault


def query_problem(raw: bytes) -> QueryProblem | None:
    """What is wrong with a raw query string, or None. Pure: bytes in, verdict out."""
    if len(raw) > MAX_QUERY_BYTES:
        return QueryProblem("query", f"is longer than {MAX_QUERY_BYTES} bytes",
                            QueryFault.TOO_LONG)
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name_raw, _, value_raw = pair.partition(b"=")
        name = _decoded(name_raw)
        field = name if name is not None and not has_unsafe_characters(name) else "query"
        if name is None or _BAD_PERCENT.search(name_raw):
            return QueryProblem("query", "a parameter name is not percent-encoded UTF-8",
                                QueryFault.ENCODING)
        if _BAD_PERCENT.search(value_raw):
            return QueryProblem(field, "is not correctly percent-encoded", QueryFault.ENCODING)
        value = _decoded(value_raw)
        if value is None:
            return QueryProblem(field, "is not UTF-8 text", QueryFault.ENCODING)
        if has_unsafe_characters(name) or has_unsafe_characters(value):
            return QueryProblem(field, "must not contain control characters",
                                QueryFault.CONTROL)
    return None


def nfc_query(raw: bytes) -> bytes:
    """The query string with every name and value in NFC (a Mac sends what was typed in NFD:
    a search for "Ferreñafe" must find what the same word typed elsewhere finds). Pure ASCII,
    the common case, is returned as it is. Call only on a string query_problem accepted."""
    if raw.isascii() and b"%" not in raw:
        return raw
    pairs = []
    for pair in raw.split(b"&"):
        name_raw, equals, value_raw = pair.partition(b"=")
        name, value = _decoded(name_raw) or "", _decoded(value_raw) or ""
        if unicodedata.is_normalized("NFC", name) and unicodedata.is_normalized("NFC", value):
            pairs.append(pair)
            continue
        pairs.append(quote_plus(unicodedata.normalize("NFC", name)).encode() + equals +
                     quote_plus(unicodedata.normalize("NFC", value)).encode())
    return b"&".join(pairs)


def _decoded(raw: bytes) -> str | None:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:  # strict UTF-8 refuses encoded surrogates too
        return None


def response_headers(path: str) -> dict[bytes, bytes]:
    """The security headers a response to `path` gets unless the route set its own."""
    headers = dict(COMMON_HEADERS)
    if path.startswith(API_PREFIX):
        headers[b"content-security-policy"] = API_POLICY.encode()
    elif path not in DOCS_PATHS:
        headers[b"content-security-policy"] = PAGE_POLICY.encode()
    return headers


class HttpBoundary:
    """ASGI middleware: refuse malformed query strings, add the security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = response_headers(path)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        query = scope.get("query_string", b"")
        found = query_problem(query)
        if found is not None:
            response = await refusal(scope, receive, found)
            return await response(scope, receive, send_with_headers)
        normalized = nfc_query(query)
        if normalized is not query:
            scope = {**scope, "query_string": normalized}
        return await self.app(scope, receive, send_with_headers)


async def refusal(scope, receive, found: QueryProblem):
    """A 422 for a malformed query string: problem details under /api/, a page elsewhere."""
    if scope.get("path", "").startswith(API_PREFIX):
        from api.errors import problem

        return problem(422, "Invalid input", f"{found.field}: {found.message}",
                       [{"field": found.field, "message": found.message}])
    from api.web.refusals import query_refusal

    return query_refusal(scope, receive, found)
