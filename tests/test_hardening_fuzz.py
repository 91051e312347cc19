"""Fuzz (hypothesis): random text — NFD, lone surrogates, C0/DEL/C1 controls, huge strings —
into every text field of the API's JSON bodies, the multipart upload, the query strings and
the web forms. Nothing answers 500, what is accepted is stored in NFC exactly as sent (less
surrounding blanks), and the log still verifies with every projection equal to its replay."""

from __future__ import annotations

import itertools
import json
import unicodedata
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from lifecycle.audit.check import check_database
from tests.test_hardening_web import Visitor, multipart

API = "/api/v1"
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
CONTROLS = [chr(c) for c in itertools.chain(range(0x00, 0x20), range(0x7f, 0xa0))]
ACCENTED = "áéíóúÁÉÍÓÚñÑüÜçãõ"


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=ACCENTED + "abc ", min_size=1, max_size=40).map(_nfd),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), st.sampled_from(CONTROLS),
              st.text(max_size=10)),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=10), st.sampled_from(SURROGATES),
              st.text(max_size=10)),
    st.builds(lambda n, c: c * n, st.integers(1, 60_000), st.sampled_from(["a", "ñ", "e\u0301"])),
)
FUZZ = settings(max_examples=15, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def expected(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def json_body(body: dict) -> dict:
    """A JSON request whose strings may hold lone surrogates: \\uXXXX escapes, as a client in
    any language may send them."""
    return {"content": json.dumps(body, ensure_ascii=True).encode(),
            "headers": {"Content-Type": "application/json"}}


def form_body(fields: dict[str, str]) -> dict:
    """An urlencoded form, byte for byte (surrogates as the bytes a broken client sends)."""
    encoded = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}"
                       for k, v in fields.items())
    return {"content": encoded.encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


class Fuzzed:
    """The world's app with a token per role, and the checks every answer must pass."""

    def __init__(self, world):
        self.world = world
        self.app = create_app(world.lc)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.tokens = {}
        for name, role, organization in (("fz-admin", "admin", None),
                                         ("fz-oficial", "official", world.orgs["entity"]),
                                         ("fz-miembro", "member", None)):
            _, self.tokens[role] = world.lc.create_user(
                actor=world.admin, username=name, role=role, organization_id=organization)
        member = next(u for u in world.lc.users() if u.username == "fz-miembro")
        world.lc.add_member(actor=world.admin, network_id=world.network_id, user_id=member.id,
                            organization_id=world.orgs["mesa"], constituencies=[])
        self.serial = itertools.count(1)
        self.visitors: dict[str, Visitor] = {}

    def visitor(self, username: str) -> Visitor:
        """A browser logged in as a world user (once: argon2 is slow on purpose)."""
        if username not in self.visitors:
            address = f"192.0.2.{len(self.visitors) + 10}"
            self.visitors[username] = Visitor(self.app, address=address)
            self.visitors[username].login(self.world, username)
        return self.visitors[username]

    def post(self, role: str, path: str, **kwargs):
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.tokens[role]}"}
        response = self.client.post(API + path, headers=headers, **kwargs)
        assert response.status_code < 500, response.text
        return response

    def echoed(self, response, field: str, sent: str) -> None:
        """Refused with a 4xx, or stored as sent in NFC: never altered any other way."""
        if response.status_code in (200, 201):
            stored = response.json()[field]
            assert stored == expected(sent)
            assert unicodedata.is_normalized("NFC", stored)


@pytest.fixture
def fuzzed(world):
    fuzzed = Fuzzed(world)
    yield fuzzed
    problems, _ = check_database(world.lc)
    assert problems == []


@FUZZ
@given(title=NASTY_TEXT, region=NASTY_TEXT)
def test_registering_works(fuzzed, title, region):
    response = fuzzed.post("official", "/works", **json_body({
        "code": f"FZ-{next(fuzzed.serial)}", "title": title, "region": region,
        "reference_amount": "1000.00", "currency": "PEN"}))
    fuzzed.echoed(response, "title", title)


@FUZZ
@given(code=NASTY_TEXT)
def test_work_codes(fuzzed, code):
    response = fuzzed.post("official", "/works", **json_body({
        "code": code, "title": "Obra", "region": "Lambayeque",
        "reference_amount": "1000.00", "currency": "PEN"}))
    fuzzed.echoed(response, "code", code)


@FUZZ
@given(text=NASTY_TEXT, answer=NASTY_TEXT)
def test_observations_and_answers(fuzzed, text, answer):
    work = fuzzed.world.work_id
    filed = fuzzed.post("member", f"/works/{work}/observations", **json_body({"text": text}))
    if filed.status_code != 201:
        return
    observation = filed.json()
    answered = fuzzed.post("official", f"/works/{work}/observations/{observation['id']}/answer",
                           **json_body({"text": answer}))
    if answered.status_code == 200:
        stored = next(o for o in fuzzed.world.work.observations if o.id == observation["id"])
        assert stored.text == expected(text) and stored.answer == expected(answer)


@FUZZ
@given(justification=NASTY_TEXT, reason=NASTY_TEXT)
def test_proposals_and_signoffs(fuzzed, justification, reason):
    work = fuzzed.world.work_id
    opened = fuzzed.post("official", f"/works/{work}/proposals", **json_body({
        "trigger": "approve_design", "justification": justification}))
    if opened.status_code != 201:
        return
    fuzzed.echoed(opened, "justification", justification)
    proposal = opened.json()["id"]
    fuzzed.post("member", f"/works/{work}/proposals/{proposal}/signoffs",
                **json_body({"decision": "approve", "reason": reason}))
    fuzzed.post("official", f"/works/{work}/proposals/{proposal}/withdraw")


@FUZZ
@given(statement=NASTY_TEXT)
def test_conflict_statements(fuzzed, statement):
    fuzzed.post("member", f"/works/{fuzzed.world.work_id}/conflicts",
                **json_body({"statement": statement}))


@FUZZ
@given(username=NASTY_TEXT, name=NASTY_TEXT)
def test_users_and_networks(fuzzed, username, name):
    created = fuzzed.post("admin", "/users", **json_body({"username": username,
                                                          "role": "auditor"}))
    fuzzed.echoed(created, "username", username)
    fuzzed.post("admin", "/networks", **json_body({"name": name, "regions": ["Piura"]}))


@FUZZ
@given(title=NASTY_TEXT, filename=NASTY_TEXT, media_type=NASTY_TEXT)
def test_document_uploads(fuzzed, title, filename, media_type):
    part = (b'Content-Disposition: form-data; name="file"; filename="' +
            filename.replace('"', "").encode("utf-8", "surrogatepass") +
            b'"\r\nContent-Type: ' + media_type.replace("\r\n", "").encode(
                "utf-8", "surrogatepass"))
    body, headers = multipart({"kind": "feasibilityStudy", "title": "x"}, part)
    body = body.replace(b"\r\n\r\nx\r\n", b"\r\n\r\n" + title.encode("utf-8", "surrogatepass")
                        + b"\r\n", 1)
    response = fuzzed.post("official", f"/works/{fuzzed.world.work_id}/documents",
                           content=body, headers=headers)
    if response.status_code == 201:
        document = response.json()
        assert unicodedata.is_normalized("NFC", document["filename"])
        assert unicodedata.is_normalized("NFC", document["title"])
        download = fuzzed.client.get(
            f"{API}/works/{fuzzed.world.work_id}/documents/{document['id']}")
        assert download.status_code == 200
        assert download.headers["content-type"].isascii()


@FUZZ
@given(search=NASTY_TEXT, region=NASTY_TEXT)
def test_query_strings(fuzzed, search, region):
    def encoded(value: str) -> str:
        # httpx refuses URLs past 64 KiB; the boundary's own bound is far below that.
        return quote(value.encode("utf-8", "surrogatepass"))[:20_000]

    query = f"search={encoded(search)}&region={encoded(region)}"
    for url in (f"{API}/works?{query}", f"/?q={encoded(search)}",
                f"/works/{fuzzed.world.work_id}?{query}"):
        response = fuzzed.client.get(url)
        assert response.status_code < 500, url


@FUZZ
@given(username=NASTY_TEXT, password=NASTY_TEXT)
def test_the_login_form(fuzzed, username, password):
    visitor = Visitor(fuzzed.app)
    response = visitor.client.post("/login", **form_body(
        {"csrf": visitor.csrf("/login"), "username": username, "password": password}))
    assert response.status_code in (401, 429), response.text


@FUZZ
@given(text=NASTY_TEXT, statement=NASTY_TEXT, title=NASTY_TEXT)
def test_web_forms(fuzzed, text, statement, title):
    work = fuzzed.world.work_id
    member, official = fuzzed.visitor("rosa"), fuzzed.visitor("oficial")
    for visitor, path, fields in (
            (member, f"/works/{work}/observations", {"text": text}),
            (member, f"/works/{work}/conflicts", {"statement": statement}),
            (official, "/works", {"code": f"FZW-{next(fuzzed.serial)}", "title": title,
                                  "region": text, "network_id": str(fuzzed.world.network_id),
                                  "reference_amount": "1000"})):
        response = visitor.client.post(path, **form_body({"csrf": visitor.csrf("/"),
                                                          **fields}))
        assert response.status_code < 500, path
    registered = [w for w in fuzzed.world.lc.list_works(limit=500).works
                  if w.code.startswith("FZW-")]
    assert all(unicodedata.is_normalized("NFC", w.title) for w in registered)
