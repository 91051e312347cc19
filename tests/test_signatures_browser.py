"""End to end in Debian's Chromium with its virtual authenticator (DevTools WebAuthn domain
through Playwright's CDP session): a member enrols a passkey on "Mis llaves y mis firmas",
signs an approval on the work page, the auditor's export verifies, and an approval the
operator forges in the database afterwards makes verify name its entry. The site is browsed
at `localhost`: an IP address is not a valid WebAuthn RP id."""

from __future__ import annotations

import json

import pytest
from tests.test_browser import CHROMIUM, PASSWORD, LiveServer, Person, browser, submit  # noqa: F401
from tests.conftest import Clock, build_world, make_lifecycle

from api.main import create_app
from lifecycle.audit.export import export_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.log.note import VKEY_FILE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: install Debian's chromium package "
                              "(apt-get install chromium) to run the browser tests"),
]


@pytest.fixture
def site(tmp_path):
    clock = Clock()
    lc = make_lifecycle(tmp_path, "sqlite", clock)
    world = build_world(lc, clock)
    for actor in [world.official, *world.members.values()]:
        lc.set_password(user_id=actor.id, password=PASSWORD)
    with LiveServer(create_app(lc)) as server:
        server.url = server.url.replace("127.0.0.1", "localhost")
        yield server, world
    lc.engine.dispose()


def with_virtual_authenticator(person: Person) -> str:
    session = person.context.new_cdp_session(person.page)
    session.send("WebAuthn.enable")
    made = session.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return made["authenticatorId"]


def test_a_member_enrols_a_passkey_signs_an_approval_and_verify_catches_a_forgery(
        site, browser, tmp_path):  # noqa: F811 (the browser fixture)
    server, world = site
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")

    rosa = Person(browser, server.url)
    with_virtual_authenticator(rosa)
    rosa.login("rosa")
    page = rosa.open("/keys")
    assert page.get_by_role("heading", name="Mis llaves y mis firmas").is_visible()
    with page.expect_navigation():  # the script reloads the page once the key is registered
        page.get_by_role("button", name="Registrar una llave de acceso").click()
    assert "llave de acceso (" in page.content() and "vigente" in page.content()
    [key] = world.lc.member_keys(world.members["rosa"].id)
    assert key.kind == "webauthn" and key.rp_id == "localhost"

    page = rosa.open(f"/works/{world.work_id}")
    page.get_by_role("button", name="Aprobar", exact=True).click()
    # Before anything is signed, the page says what the signature covers, in Spanish.
    statement = page.locator(".statement")
    statement.wait_for()
    assert "Obra: LAM-2026-001" in statement.inner_text()
    assert "Apruebo este cambio de etapa." in statement.inner_text()
    assert "Documentos del expediente:" in statement.inner_text()
    rosa.shot("work-statement-to-sign")
    submit(page, page.get_by_role("button", name="Firmar y enviar").click)
    assert page.locator(".notice").inner_text() == "Su aprobación quedó registrada."
    signoff = world.work.proposal(proposal.id).signoffs[-1]
    assert signoff.key_id == key.key_id  # signed by the passkey, not merely recorded
    page = rosa.open("/keys")
    assert key.key_id in page.locator("table").last.inner_text()
    rosa.shot("keys-passkey-signed")
    rosa.close()

    export_bundle(world.lc, tmp_path / "bundle")
    vkey = world.lc.data_dir / VKEY_FILE
    result = verify_bundle(tmp_path / "bundle", vkey)
    assert result.ok, result.problem

    # The operator writes an approval in jorge's name straight into the log, reusing the
    # shape of rosa's signed entry with jorge as its author, and re-exports.
    signed = world.lc.history(world.work_id)[-1]
    forged_data = json.loads(json.dumps(signed["data"]))
    forged_data["statement"]["member"] = world.members["jorge"].id
    with world.lc._write() as tx:
        tx.work(world.work_id)
        forged = tx.emit("signoff.recorded", world.members["jorge"], forged_data)
    export_bundle(world.lc, tmp_path / "forged")
    result = verify_bundle(tmp_path / "forged", vkey)
    assert not result.ok
    assert result.problem.startswith(f"entry {forged['seq']}: signoff.recorded: ")
