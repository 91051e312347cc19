"""The web side of member signatures, without a browser: the page "Mis llaves y mis firmas",
enrolment through its JSON endpoints (CSRF-checked), the sign-off form carrying a signed
statement, and revocation through a form."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.test_web_pages import Browser

from api.main import create_app
from lifecycle.evidence.ed25519 import public_key_bytes
from lifecycle.evidence.statement import b64url


@pytest.fixture
def browser(world):
    return Browser(create_app(world.lc), world)


def json_call(browser, method: str, url: str, body=None, csrf: str | None = None):
    token = csrf if csrf is not None else browser.csrf("/keys")
    return browser.client.request(method, url, json=body, headers={"X-CSRF-Token": token})


def test_the_keys_page_enrols_a_browser_key_and_the_work_page_signs_with_it(world, browser):
    browser.login("rosa")
    page = browser.get("/keys")
    assert page.status_code == 200
    assert "Mis llaves y mis firmas" in page.text and "Aún no tiene llaves" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/keys.js" defer></script>' in page.text
    script = browser.get("/static/keys.js")
    assert script.status_code == 200 and "navigator.credentials.create" in script.text

    private = Ed25519PrivateKey.generate()
    assert json_call(browser, "POST", "/keys", {"kind": "ed25519", "public_key": b64url(
        public_key_bytes(private))}, csrf="forged").status_code == 403
    registered = json_call(browser, "POST", "/keys", {"kind": "ed25519", "public_key": b64url(
        public_key_bytes(private))})
    assert registered.status_code == 201, registered.text
    key_id = registered.json()["key_id"]
    assert key_id in browser.get("/keys").text and "vigente" in browser.get("/keys").text

    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    work_page = browser.get(f"/works/{world.work_id}")
    assert f'data-statement-url="/works/{world.work_id}/proposals/{proposal.id}/statement"' \
        in work_page.text
    assert "script-src 'self'" in work_page.headers["content-security-policy"]
    made = browser.client.get(f"/works/{world.work_id}/proposals/{proposal.id}/statement",
                              params={"decision": "approve"},
                              headers={"X-CSRF-Token": browser.csrf(f"/works/{world.work_id}")})
    assert made.status_code == 200, made.text
    made = made.json()
    assert [k["key_id"] for k in made["keys"]] == [key_id]
    assert made["summary"][:3] == [
        "Obra: LAM-2026-001 — Mejoramiento de la carretera Chiclayo–Ferreñafe",
        "Cambio de etapa propuesto: Aprobar el diseño", "Apruebo este cambio de etapa."]
    message = base64.urlsafe_b64decode(made["message"] + "=")
    proof = {"kind": "ed25519", "key_id": key_id, "signature": b64url(private.sign(message))}
    sent = browser.post(f"/works/{world.work_id}/proposals/{proposal.id}/signoffs",
                        {"decision": "approve", "statement": json.dumps(made["statement"]),
                         "proof": json.dumps(proof)}, page=f"/works/{world.work_id}")
    assert sent.status_code == 200 and "Su aprobación quedó registrada." in sent.text, sent.text
    signoff = world.work.proposal(proposal.id).signoffs[-1]
    assert signoff.key_id == key_id
    listed = browser.get("/keys").text
    assert "Mis aprobaciones y bloqueos firmados" in listed
    assert re.search(rf"<code>{re.escape(key_id)}</code></td>\s*<td>{signoff.seq}</td>", listed)

    revoked = browser.post(f"/keys/{key_id}/revoke", page="/keys")
    assert revoked.status_code == 200 and "La llave quedó revocada" in revoked.text
    assert "revocada el" in revoked.text


def test_a_malformed_signed_form_is_a_page_with_the_field_not_a_500(world, browser):
    browser.login("rosa")
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    sent = browser.post(f"/works/{world.work_id}/proposals/{proposal.id}/signoffs",
                        {"decision": "approve", "statement": "{not json", "proof": "[]"},
                        page=f"/works/{world.work_id}")
    assert sent.status_code == 422 and "statement" in sent.text
    assert world.work.proposal(proposal.id).signoffs == []


def test_the_keys_page_asks_for_login_and_tells_non_members(world, browser):
    assert browser.get("/keys").url.path == "/login"
    browser.login("oficial")
    page = browser.get("/keys").text
    assert "Solo los miembros de una red de integridad firman" in page
