"""A work's details (CUI, province, district, sector, description) and their logged correction:
`PATCH /works/{id}` through the API, the attacks it refuses, and the forged `work.corrected`
that replay reports."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from lifecycle.audit.export import export_bundle
from lifecycle.audit.replay import replay_bundle
from tests.test_audit_export import published_key
from tests.test_audit_forged import forge, official


@pytest.fixture
def client(world):
    with TestClient(create_app(world.lc)) as test_client:
        yield test_client


def _token(world, name: str) -> dict:
    info, token = world.lc.create_user(actor=world.admin, username=name, role="official",
                                       organization_id=world.orgs["entity"])
    return {"Authorization": f"Bearer {token}"}


def _patch(client, world, headers, **body):
    return client.patch(f"/api/v1/works/{world.work_id}", headers=headers, json=body)


def test_details_given_at_registration_are_kept_and_shown(world, client):
    headers = _token(world, "registradora")
    created = client.post("/api/v1/works", headers=headers, json={
        "code": "LAM-2026-015", "title": "Puesto de salud de Íllimo", "region": "Lambayeque",
        "province": "Lambayeque", "district": "Íllimo", "cui": "2456789",
        "sector": "health", "description": "Construcción de un puesto de salud I-2.",
        "reference_amount": "2300000.00"})
    assert created.status_code == 201, created.text
    work = created.json()
    assert (work["cui"], work["province"], work["district"], work["sector"]) == (
        "2456789", "Lambayeque", "Íllimo", "health")
    bad = client.post("/api/v1/works", headers=headers, json={
        "code": "LAM-2026-016", "title": "x", "region": "Lambayeque", "cui": "12AB",
        "reference_amount": "100.00"})
    assert bad.status_code == 422 and "cui" in bad.text
    bad = client.post("/api/v1/works", headers=headers, json={
        "code": "LAM-2026-016", "title": "x", "region": "Lambayeque", "sector": "mining",
        "reference_amount": "100.00"})
    assert bad.status_code == 422 and "sector" in bad.text


def test_a_correction_is_logged_with_its_reason_and_the_values_before(world, client):
    headers = _token(world, "correctora")
    title_before = world.work.title
    done = _patch(client, world, headers, title="Mejoramiento de la carretera, tramo II",
                  district="Ferreñafe", reason="El expediente nombra el tramo II.")
    assert done.status_code == 200, done.text
    assert done.json()["title"] == "Mejoramiento de la carretera, tramo II"
    history = client.get(f"/api/v1/works/{world.work_id}/history").json()
    entries = history if isinstance(history, list) else history.get("entries", history)
    corrected = [e for e in entries if e["type"] == "work.corrected"]
    assert len(corrected) == 1
    data = corrected[0]["data"]
    assert data["reason"] == "El expediente nombra el tramo II."
    assert data["before"] == {"title": title_before, "district": None}
    assert data["changes"]["district"] == "Ferreñafe"


def test_what_the_rules_depend_on_cannot_be_corrected(world, client):
    headers = _token(world, "apurada")
    for field, value in (("reference_amount", "1.00"), ("region", "Cusco"),
                         ("code", "OTRA-001")):
        refused = _patch(client, world, headers, reason="cambio", **{field: value})
        assert refused.status_code == 422, (field, refused.text)
    assert world.work.reference_amount == "12500000.00" and world.work.region == "Lambayeque"


def test_a_correction_needs_a_reason_a_change_and_the_entity(world, client):
    headers = _token(world, "sin-motivo")
    size = world.lc.log_size()
    assert _patch(client, world, headers, title="Otro título", reason="").status_code == 422
    assert _patch(client, world, headers, title=world.work.title,
                  reason="nada").status_code == 422
    # An official of another entity, and a member, are refused.
    other = world.lc.create_organization(actor=world.admin, name="Municipalidad de Chiclayo",
                                         kind="public_entity", sector="government",
                                         tax_id=_ruc("2014570012"), region="Lambayeque")
    _info, token = world.lc.create_user(actor=world.admin, username="ajena", role="official",
                                        organization_id=other.id)
    assert world.lc.log_size() == size + 2  # the organization and the user; no correction
    refused = _patch(client, world, {"Authorization": f"Bearer {token}"}, title="Mía",
                     reason="porque sí")
    assert refused.status_code == 403
    assert world.lc.log_size() == size + 2


def _ruc(first_ten: str) -> str:
    from lifecycle.validation import ruc_check_digit

    return first_ten + str(ruc_check_digit(first_ten))


def test_the_corrected_log_replays_as_legal(world, tmp_path):
    world.lc.correct_work(actor=world.official, work_id=world.work_id, title="Título corregido",
                          reason="Errata en el registro")
    export_bundle(world.lc, tmp_path / "bundle")
    report = replay_bundle(tmp_path / "bundle", vkey=published_key(world))
    assert report.ok, [str(i) for i in report.illegal]


def test_a_forged_correction_without_a_reason_is_reported(world, tmp_path):
    k, illegal = forge(world, tmp_path, "work.corrected", official(world), {
        "work_id": world.work_id, "changes": {"title": "Nuevo"}, "before": {"title": "x"},
        "reason": ""})
    assert any(line.startswith(f"entry {k}: work.corrected not allowed: reason")
               for line in illegal), illegal


def test_a_correction_forged_by_a_member_is_reported(world, tmp_path):
    k, illegal = forge(world, tmp_path, "work.corrected",
                       {"id": world.members["rosa"].id, "role": "member"},
                       {"work_id": world.work_id, "changes": {"title": "Nuevo"},
                        "before": {}, "reason": "porque sí"})
    assert any(line.startswith(f"entry {k}: work.corrected not allowed") for line in illegal)
    assert json.dumps(illegal)  # printable as the CLI prints it


# ---------------------------------------------------------------------- in the web
def _browser(world):
    from tests.test_web_pages import Browser

    return Browser(create_app(world.lc), world)


def test_an_official_registers_with_details_and_corrects_a_typo_in_the_web(world):
    browser = _browser(world)
    browser.login("oficial")
    form = browser.get("/works/new").text
    assert '<option value="Lambayeque">Lambayeque · Red de Integridad Lambayeque</option>' in form
    assert "agua y saneamiento" in form
    done = browser.post("/works", {"code": "LAM-2026-030", "title": "Canal de riego Tucume",
                                   "region": "Lambayeque", "province": "Lambayeque",
                                   "district": "Túcume", "cui": "2501234",
                                   "sector": "economy", "reference_amount": "800000.00",
                                   "currency": "PEN"}, page="/works/new")
    assert "La obra está registrada." in done.text
    assert "2501234" in done.text and "agricultura y riego" in done.text
    work_id = next(r.id for r in world.lc.list_works().works if r.code == "LAM-2026-030")
    page = f"/works/{work_id}"
    fixed = browser.post(f"/works/{work_id}/correct",
                         {"title": "Canal de riego Túcume", "cui": "2501234",
                          "province": "Lambayeque", "district": "Túcume", "description": "",
                          "reason": "Faltaba la tilde de Túcume."}, page=page)
    assert "La corrección quedó registrada" in fixed.text
    assert "corrigió el título de la obra, porque: «Faltaba la tilde de Túcume.»" in fixed.text
    assert world.lc.get_work(work_id).title == "Canal de riego Túcume"
    unchanged = browser.post(f"/works/{work_id}/correct",
                             {"title": "Canal de riego Túcume", "reason": "nada"}, page=page)
    assert unchanged.status_code == 422


def test_the_work_page_says_first_that_it_is_overdue(world):
    world.clock.advance(days=200)  # design allows 180 days
    page = _browser(world).get(f"/works/{world.work_id}").text
    assert "Atrasada: 20 días más de los 180 días que su red permite" in page


def test_the_work_page_says_first_that_it_is_suspended_and_why(world):
    world.advance("approve_design", ("feasibilityStudy",))
    proposal = world.propose("suspend", justification="El presupuesto fue recortado")
    assert world.apply(proposal.id).applied
    page = _browser(world).get(f"/works/{world.work_id}").text
    assert "Suspendida desde el" in page and "(estaba en Expediente técnico)" in page
    assert "Motivo: «El presupuesto fue recortado»" in page
