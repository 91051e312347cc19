"""Hardening of the JSON API at the HTTP boundary (issue 14): uploaded file names and part
headers, query strings, strict booleans and the OpenAPI document's security. On SQLite and
PostgreSQL."""

from __future__ import annotations

import unicodedata

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.test_hardening_web import NFD_NAME, file_part, multipart

API = "/api/v1"


@pytest.fixture
def hard_client(world):
    with TestClient(create_app(world.lc), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def official_token(world) -> str:
    _, token = world.lc.create_user(actor=world.admin, username="oficial2", role="official",
                                    organization_id=world.orgs["entity"])
    return token


def upload(client, world, token: str, part_headers: bytes):
    body, headers = multipart({"kind": "feasibilityStudy", "title": "Estudio"}, part_headers)
    return client.post(f"{API}/works/{world.work_id}/documents", content=body,
                       headers={**headers, "Authorization": f"Bearer {token}"})


def test_an_nfd_file_name_is_stored_in_nfc(hard_client, world, official_token):
    response = upload(hard_client, world, official_token, file_part(NFD_NAME.encode()))
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == unicodedata.normalize("NFC", NFD_NAME)
    download = hard_client.get(f"{API}/works/{world.work_id}/documents/{response.json()['id']}")
    assert download.status_code == 200 and "An%C3%A1lisis.pdf" in download.headers[
        "content-disposition"]


def test_a_path_in_the_file_name_keeps_only_the_name(hard_client, world, official_token):
    response = upload(hard_client, world, official_token,
                      file_part(b"C:\\Users\\ana\\Escritorio\\estudio.pdf"))
    assert response.status_code == 201 and response.json()["filename"] == "estudio.pdf"


@pytest.mark.parametrize("part_headers, field", [
    (file_part(b"a\x1bb.pdf"), "file.filename"),
    (file_part(b"\xed\xa0\x80.pdf"), "file.filename"),
    (file_part(b"x" * 300 + b".pdf"), "file.filename"),
    (file_part(b"a.pdf", b"application/pdf\x7f"), "file.content_type"),
    (file_part(b"a.pdf", b"application/pdf\nX-Injected: 1"), "file.content_type"),
    # A bare CR breaks the multipart framing itself: the parser refuses the whole body.
    (file_part(b"a.pdf", b"application/pdf\r"), "body"),
])
def test_bad_part_headers_are_refused_naming_the_field(hard_client, world, official_token,
                                                       part_headers, field):
    before = len(world.work.documents)
    response = upload(hard_client, world, official_token, part_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert len(world.work.documents) == before


def test_the_stored_media_type_is_the_plain_type(hard_client, world, official_token):
    response = upload(hard_client, world, official_token,
                      file_part(b"plano.dwg", b"Image/VND.DWG ; version=2018"))
    assert response.status_code == 201 and response.json()["media_type"] == "image/vnd.dwg"
    download = hard_client.get(f"{API}/works/{world.work_id}/documents/{response.json()['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/vnd.dwg"


@pytest.mark.parametrize("query, field", [
    ("search=%ED%A0%80", "search"), ("search=%FF", "search"), ("region=%00", "region"),
    ("search=abc%", "search"), ("entity=%zz", "entity"), ("cursor=%C2%9B", "cursor"),
    ("search=" + "a" * 9000, "query"),
])
def test_a_malformed_query_string_is_a_422_naming_the_parameter(hard_client, query, field):
    response = hard_client.get(f"{API}/works?{query}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_the_log_and_proofs_refuse_malformed_numbers_cleanly(hard_client):
    for url in ("/log?after=%ED%A0%80", "/log?after=99999999999999999999",
                "/log/proof/inclusion?index=%00&size=1", "/works/2147483648",
                "/works/99999999999999999999/history", "/networks/2147483648"):
        response = hard_client.get(API + url)
        assert 400 <= response.status_code < 500, url


def test_an_nfd_search_finds_the_nfc_title(hard_client):
    response = hard_client.get(f"{API}/works",
                               params={"search": unicodedata.normalize("NFD", "Ferreñafe")})
    assert response.status_code == 200
    assert [w["code"] for w in response.json()["works"]] == ["LAM-2026-001"]


@pytest.mark.parametrize("value", ["1", "0", "yes", "on", "True"])
def test_a_boolean_query_parameter_is_true_or_false_only(hard_client, value):
    response = hard_client.get(f"{API}/works?stalled={value}")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "stalled"
    assert hard_client.get(f"{API}/works?stalled=true").status_code == 200
    assert hard_client.get(f"{API}/works?stalled=false").status_code == 200


def test_a_boolean_body_field_is_not_an_integer(hard_client, world):
    _, token = world.lc.create_user(actor=world.admin, username="admin2", role="admin")
    response = hard_client.put(f"{API}/networks/{world.network_id}/policy",
                               json={"require_member_signatures": 1},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert "require_member_signatures" in [e["field"] for e in response.json()["errors"]]


def test_the_openapi_document_marks_public_reads_open_and_writes_secured(hard_client):
    schema = hard_client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/works", "/works/{work_id}", "/works/{work_id}/history", "/log",
                 "/log/checkpoint", "/networks", "/reports/stalled", "/stages",
                 "/works/{work_id}/documents/{document_id}"):
        assert paths[API + path]["get"]["security"] == [], path
    for path, method in (("/works", "post"), ("/users", "post"), ("/users/me", "get"),
                         ("/works/{work_id}/observations", "post")):
        assert paths[API + path][method]["security"] == [{"HTTPBearer": []}], path
    stalled = next(p for p in paths[API + "/works"]["get"]["parameters"]
                   if p["name"] == "stalled")
    assert {"type": "boolean"} in stalled["schema"]["anyOf"]


def test_api_responses_carry_the_security_headers(hard_client):
    for url in ("/stages", "/works/2147483648", "/works?search=%00", "/log/checkpoint"):
        response = hard_client.get(API + url)
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url


def test_unknown_tokens_from_one_address_are_throttled(world, clock):
    from api.throttle import TOKEN_POLICY

    _, token = world.lc.create_user(actor=world.admin, username="lectora", role="auditor")
    app = create_app(world.lc)
    probing = TestClient(app, client=("203.0.113.50", 1000))
    for number in range(TOKEN_POLICY.max_failures - 1):
        response = probing.get(f"{API}/users/me",
                               headers={"Authorization": f"Bearer guess-{number}"})
        assert response.status_code == 401
    locked = probing.get(f"{API}/users/me", headers={"Authorization": "Bearer guess-last"})
    assert locked.status_code == 429 and locked.headers["content-type"] == \
        "application/problem+json"
    assert 0 < int(locked.headers["retry-after"]) <= TOKEN_POLICY.lockout.total_seconds()
    # While locked, that address gets nothing checked; other addresses are not affected.
    assert probing.get(f"{API}/users/me",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 429
    elsewhere = TestClient(app, client=("198.51.100.20", 1000))
    assert elsewhere.get(f"{API}/users/me",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Anonymous reads are never throttled.
    assert probing.get(f"{API}/stages").status_code == 200
    clock.advance(seconds=TOKEN_POLICY.lockout.total_seconds() + 1)
    assert probing.get(f"{API}/users/me",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
