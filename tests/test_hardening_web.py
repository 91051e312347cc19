"""Hardening of the web pages at the HTTP boundary (issue 14): what a careless or hostile
visitor sends never gives a 500 — file names in NFD or with control characters, broken part
headers, malformed query strings, ids past the database's integer range — and every response
carries the security headers. Through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PASSWORD = "contraseña-de-prueba"
NFD_NAME = unicodedata.normalize("NFD", "Análisis.pdf")


class Visitor:
    """A browser: keeps its cookies, reads the CSRF token off the page it is on."""

    def __init__(self, app, address: str = "192.0.2.1"):
        self.client = TestClient(app, headers={"Accept-Language": "es"},
                                 raise_server_exceptions=False, client=(address, 50000))

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf(self, url: str = "/login") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(url).text)
        assert found, f"no form on {url}"
        return found.group(1)

    def post(self, url: str, data: dict | None = None, *, page: str = "/", **kwargs):
        return self.client.post(url, data={**(data or {}), "csrf": self.csrf(page)},
                                follow_redirects=True, **kwargs)

    def login(self, world, username: str):
        user = next(u for u in world.lc.users() if u.username == username)
        world.lc.set_password(user_id=user.id, password=PASSWORD)
        response = self.post("/login", {"username": username, "password": PASSWORD},
                             page="/login")
        assert response.status_code == 200, response.text
        return response


def multipart(fields: dict[str, str], part_headers: bytes, content: bytes = b"%PDF-1.7",
              csrf: str | None = None) -> tuple[bytes, dict]:
    """A multipart body written byte for byte, so a part's headers can hold what no client
    library would send (DEL, a bare line feed, raw control characters)."""
    boundary = b"lifecycle-test-boundary"
    body = b""
    for name, value in {**fields, **({"csrf": csrf} if csrf else {})}.items():
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' +
                 name.encode() + b'"\r\n\r\n' + value.encode() + b"\r\n")
    body += b"--" + boundary + b"\r\n" + part_headers + b"\r\n\r\n" + content + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}


def file_part(filename: bytes, content_type: bytes = b"application/pdf") -> bytes:
    return (b'Content-Disposition: form-data; name="file"; filename="' + filename +
            b'"\r\nContent-Type: ' + content_type)


@pytest.fixture
def app(world):
    return create_app(world.lc)


@pytest.fixture
def visitor(app):
    return Visitor(app)


@pytest.fixture
def official(app, world):
    visitor = Visitor(app)
    visitor.login(world, "oficial")
    return visitor


# ---------------------------------------------------------------------- uploads
def test_a_mac_file_name_in_nfd_is_stored_in_nfc_and_downloads(world, official):
    page = f"/works/{world.work_id}"
    body, headers = multipart({"kind": "feasibilityStudy", "title": "Estudio"},
                              file_part(NFD_NAME.encode()), csrf=official.csrf(page))
    response = official.client.post(f"{page}/documents", content=body, headers=headers,
                                    follow_redirects=True)
    assert response.status_code == 200, response.text
    document = world.work.documents[-1]
    assert document.filename == "Análisis.pdf" and unicodedata.is_normalized("NFC",
                                                                            document.filename)
    download = official.get(f"{page}/documents/{document.id}/download")
    assert download.status_code == 200 and download.content == b"%PDF-1.7"
    assert "An%C3%A1lisis.pdf" in download.headers["content-disposition"]


@pytest.mark.parametrize("filename", [b"a\x07b.pdf", b"informe\x7f.pdf", b"\xed\xa0\x80.pdf",
                                      b"nul\x00.pdf"])
def test_a_file_name_with_control_characters_is_refused_naming_the_field(world, official,
                                                                         filename):
    page = f"/works/{world.work_id}"
    before = len(world.work.documents)
    body, headers = multipart({"kind": "feasibilityStudy", "title": "Estudio"},
                              file_part(filename), csrf=official.csrf(page))
    response = official.client.post(f"{page}/documents", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert "file.filename" in response.text and "Revise lo que ingresó" in response.text
    assert len(world.work.documents) == before


@pytest.mark.parametrize("content_type", [b"application/pdf\x7f", b"application/pdf\nX-A: b",
                                          b"application/\x00pdf", b"text/plain\xc3\xa9"])
def test_a_part_content_type_with_invalid_bytes_is_refused(world, official, content_type):
    page = f"/works/{world.work_id}"
    before = len(world.work.documents)
    body, headers = multipart({"kind": "feasibilityStudy", "title": "Estudio"},
                              file_part(b"estudio.pdf", content_type), csrf=official.csrf(page))
    response = official.client.post(f"{page}/documents", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert "file.content_type" in response.text
    assert len(world.work.documents) == before  # nothing stored, nothing counts for the guard


@pytest.mark.parametrize("content_type, stored", [
    (b"Application/PDF; charset=binary", "application/pdf"),
    (b"pdf", "application/octet-stream"),
    (b"text/html", "text/html"),
])
def test_the_stored_media_type_is_a_plain_type_and_every_document_downloads(
        world, official, content_type, stored):
    page = f"/works/{world.work_id}"
    body, headers = multipart({"kind": "feasibilityStudy", "title": "Estudio"},
                              file_part(b"estudio.pdf", content_type), csrf=official.csrf(page))
    assert official.client.post(f"{page}/documents", content=body, headers=headers,
                                follow_redirects=True).status_code == 200
    document = world.work.documents[-1]
    assert document.media_type == stored
    download = official.get(f"{page}/documents/{document.id}/download")
    assert download.status_code == 200
    assert download.headers["content-type"].split(";")[0] == stored
    # An uploaded HTML file is never rendered as part of this site.
    assert download.headers["content-security-policy"] == "sandbox"


# ---------------------------------------------------------------------- query strings, ids
@pytest.mark.parametrize("query", ["q=%00", "q=a%01b", "q=%7F", "q=%C2%85", "q=%ED%A0%80",
                                   "q=%FF", "q=%zz", "q=" + "a" * 60_000,
                                   "region=%00", "cursor=%ED%B0%80", "%00=x"])
def test_a_malformed_query_string_is_a_spanish_422_page(visitor, query):
    response = visitor.get("/?" + query)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Revise lo que ingresó" in response.text
    assert "\x00" not in response.text and "a" * 1000 not in response.text


def test_a_search_longer_than_the_bound_is_refused_with_the_limit(visitor):
    response = visitor.get("/?q=" + "a" * 201)
    assert response.status_code == 422 and "q: debe tener como máximo 200 caracteres" \
        in response.text
    assert visitor.get("/?q=" + "a" * 200).status_code == 200


def test_a_search_in_nfd_finds_what_nfc_finds(world, visitor):
    nfd = unicodedata.normalize("NFD", "Ferreñafe")
    response = visitor.get("/", params={"q": nfd})
    assert response.status_code == 200 and "LAM-2026-001" in response.text


@pytest.mark.parametrize("path", [
    "/works/99999999999999999999", "/works/2147483648", "/works/0", "/works/-1",
    "/works/abc", "/networks/99999999999999999999", "/networks/2147483648",
    "/works/1/documents/2147483648/download", "/works/2147483648/documents/1/download",
])
def test_an_id_beyond_the_database_range_is_a_404_page(visitor, path):
    response = visitor.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "No encontrado" in response.text


@pytest.mark.parametrize("path", [
    "/works/2147483648/observations", "/works/99999999999999999999/proposals",
    "/works/1/proposals/2147483648/signoffs", "/works/1/observations/2147483648/answer",
])
def test_a_form_posted_to_an_id_beyond_the_range_is_a_404(official, path):
    response = official.post(path, {"text": "hola"}, page="/")
    assert response.status_code == 404, response.text


def test_unknown_addresses_and_methods_are_spanish_pages(visitor):
    missing = visitor.get("/no-such-page")
    assert missing.status_code == 404 and "No encontrado" in missing.text
    wrong_method = visitor.client.delete("/audit")
    assert wrong_method.status_code == 405 and "text/html" in wrong_method.headers[
        "content-type"]


def test_odd_header_bytes_do_not_break_a_page(visitor, world):
    for headers in ({"Accept-Language": b"es\xed\xa0\x80;q=\xff"},
                    {"Cookie": b"lifecycle_lang=\xff\xfe; lifecycle_session=\x80\x81"},
                    {"Referer": b"http://x/\xc3"}, {"If-Match": b"\xff"}):
        response = visitor.get(f"/works/{world.work_id}", headers=headers)
        assert response.status_code == 200, headers


# ---------------------------------------------------------------------- security headers
def test_every_response_carries_the_security_headers(world, visitor, official):
    responses = {
        "page": visitor.get("/"),
        "work": visitor.get(f"/works/{world.work_id}"),
        "not found": visitor.get("/works/2147483648"),
        "refused query": visitor.get("/?q=%00"),
        "stylesheet": visitor.get("/static/site.css"),
        "redirect": visitor.client.get("/works/new", follow_redirects=False),
        "language": visitor.client.get("/language/en", follow_redirects=False),
        "api": visitor.get("/api/v1/stages"),
        "api error": visitor.get("/api/v1/works/2147483648"),
    }
    for name, response in responses.items():
        assert response.status_code < 500, name
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, name
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("referrer-policy") == "same-origin", name
    for name in ("page", "work", "not found", "refused query"):
        policy = responses[name].headers["content-security-policy"]
        assert re.search(r"script-src '(none|self)'", policy), name


def test_templates_hold_no_inline_script_or_event_handler():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), template.name
        assert "javascript:" not in text.lower(), template.name


@pytest.mark.parametrize("number", ["²", "٣", "99999999999999999999", "2147483648", "-1"])
def test_odd_numbers_in_form_fields_are_refused_cleanly(world, official, number):
    page = f"/works/{world.work_id}"
    proposal = world.propose("approve_design")
    for path, fields in (
            ("/works", {"code": "LAM-2026-777", "title": "Obra", "region": "Lambayeque",
                        "network_id": number, "reference_amount": "1000"}),
            (f"{page}/proposals/{proposal.id}/apply", {"version": number}),
            (f"{page}/proposals/{proposal.id}/withdraw", {}),
            (f"{page}/proposals", {"trigger": "award", "justification": "j",
                                   "supplier": "S", "amount": "1", "bidders": number})):
        response = official.post(path, fields, page=page)
        assert response.status_code < 500, (path, response.text)
    response = official.get(f"/?network={number}")
    assert response.status_code == 422 and "network" in response.text
