"""'Mis pendientes' in the web: the count in the header of every page, and a page that tells a
member what awaits her, in Spanish, with the one-step re-approve of a stale approval."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from tests.test_web_pages import Browser


@pytest.fixture
def browser(world):
    return Browser(create_app(world.lc), world)


def _header_count(html: str) -> int | None:
    match = re.search(r'href="/pending">[^<]*<span class="badge count"[^>]*>(\d+)</span>', html)
    return int(match.group(1)) if match else None


def test_the_public_and_admins_have_no_inbox(browser):
    assert _header_count(browser.get("/").text) is None
    assert browser.get("/pending", follow_redirects=False).status_code == 303


def test_a_member_finds_her_review_from_the_header(browser, world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    browser.login("rosa")
    home = browser.get("/").text
    assert "Mis pendientes" in home
    assert _header_count(home) == 1
    page = browser.get("/pending")
    assert page.status_code == 200
    assert "Propuestas que esperan su revisión" in page.text
    assert "Aprobar el diseño" in page.text and "LAM-2026-001" in page.text
    assert f'/works/{world.work_id}#review-title' in page.text
    world.sign(proposal.id, "rosa")
    assert _header_count(browser.get("/").text) == 0
    assert "Nada le espera" in browser.get("/pending").text


def test_a_stale_approval_says_what_changed_and_approves_again_in_one_step(browser, world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    world.attach("feasibilityStudy", b"%PDF estudio corregido")
    browser.login("rosa")
    page = browser.get("/pending").text
    assert "Sus aprobaciones que ya no cuentan" in page
    assert "Documento adjuntado: Estudio de preinversión" in page
    done = browser.post(f"/works/{world.work_id}/proposals/{proposal.id}/signoffs",
                        {"decision": "approve"}, page="/pending")
    assert done.status_code == 200
    assert _header_count(browser.get("/").text) == 0
    latest = world.lc.get_work(world.work_id).proposal(proposal.id).latest_signoffs()
    assert latest[world.members["rosa"].id].decision == "approve"


def test_an_official_sees_a_refusal_to_fix_in_spanish(browser, world):
    proposal = world.propose("approve_design")
    world.apply(proposal.id)
    browser.login("oficial")
    page = browser.get("/pending").text
    assert "Cambios de etapa rechazados por corregir" in page
    assert "Documentos" in page and "Aprobaciones" in page
    assert _header_count(browser.get("/").text) == 1


def test_an_author_accepts_or_rejects_an_answer_in_the_web(browser, world):
    observation = world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                                            text="Falta el estudio de suelos.")
    obs_id = observation.observations[-1].id
    world.lc.answer_observation(actor=world.official, work_id=world.work_id,
                                observation_id=obs_id, text="Está en el anexo 3.")
    page = f"/works/{world.work_id}"
    browser.login("ana")
    assert "Aceptar la respuesta" in browser.get(page).text
    rejected = browser.post(f"/works/{world.work_id}/observations/{obs_id}/reject",
                            {"reason": "El anexo 3 no tiene el estudio."}, page=page)
    assert "Usted rechazó la respuesta" in rejected.text
    assert "Su autor rechazó la respuesta: «El anexo 3 no tiene el estudio.»" in rejected.text
    assert world.work.observation(obs_id).accepted is False
    official = type(browser)(browser.client.app, world)
    official.login("oficial")
    assert f'action="/works/{world.work_id}/observations/{obs_id}/answer"' in official.get(page).text
    # Someone else cannot judge ana's observation.
    other = type(browser)(browser.client.app, world)
    other.login("rosa")
    refused = other.post(f"/works/{world.work_id}/observations/{obs_id}/accept", {}, page=page)
    assert refused.status_code == 403
