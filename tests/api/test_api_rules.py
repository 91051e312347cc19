"""The wave-2 rules of DESIGN §3 through the HTTP API: each attack they close is refused with a
clear 4xx naming the field or rule, never a 500, and nothing reaches the log."""

from __future__ import annotations

import json

import pytest

from api_world import SUPPLIER  # tests/api/api_world.py
from lifecycle.decide import MAX_SIGNOFFS_PER_MEMBER


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def fields(body: dict) -> set[str]:
    return {e.get("field") or e.get("guard") for e in body["errors"]}


def log_size(api) -> int:
    return api.ok(api.get("/log"))["size"]


# ---------------------------------------------------------------- organizations
def test_organizations_are_registered_with_a_valid_unique_ruc(api):
    before = log_size(api)
    bad = problem(api.post("/organizations", "admin", json={
        "name": "Constructora", "kind": "company", "sector": "private_sector",
        "tax_id": "20100070971"}), 422)
    assert fields(bad) == {"tax_id"}
    taken = problem(api.post("/organizations", "admin", json={
        "name": "GOBIERNO REGIONAL DE LAMBAYEQUE", "kind": "public_entity",
        "sector": "government", "tax_id": "20479569861"}), 409)
    assert "already registered" in taken["detail"]
    problem(api.post("/organizations", "rosa", json={
        "name": "X", "kind": "ngo", "sector": "civil_society"}), 403)
    assert log_size(api) == before
    twin = api.ok(api.post("/organizations", "admin", json={
        "name": "MESA DE CONCERTACION DE MUJERES", "kind": "ngo", "sector": "civil_society"}),
        201)
    assert twin["likely_duplicates"] == [api.orgs["mesa"]]  # a warning, not a refusal
    found = api.ok(api.get("/organizations", params={"q": "concertación"}))
    assert [o["id"] for o in found] == [api.orgs["mesa"], twin["id"]]
    renamed = api.ok(api.client.patch(f"/api/v1/organizations/{twin['id']}",
                                      headers=api.auth("admin"),
                                      json={"name": "Colectivo de Mujeres de Mórrope"}))
    assert renamed["name"] == "Colectivo de Mujeres de Mórrope"
    assert api.ok(api.get(f"/organizations/{twin['id']}"))["likely_duplicates"] == []


def test_the_same_organization_in_three_sectors_counts_once(api):
    for name in ("rosa2", "rosa3"):
        api.add_user(name, "member")
        api.ok(api.post(f"/networks/{api.network_id}/members", "admin", json={
            "user_id": api.ids[name], "organization_id": api.orgs["mesa"]}), 201)
    api.add_user("rosa4", "member")
    sector = problem(api.post(f"/networks/{api.network_id}/members", "admin", json={
        "user_id": api.ids["rosa4"], "organization_id": api.orgs["mesa"],
        "sector": "academia"}), 422)  # the sector is the organization's, not the caller's
    assert fields(sector) == {"sector"}
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    for name in ("rosa", "rosa2", "rosa3"):
        api.ok(api.sign(proposal, name), 201)
    refused = problem(api.apply(proposal), 409)
    quorum = next(e for e in refused["errors"] if e["guard"] == "quorum")
    assert quorum["message"] == "1 of 3 approvals; approvals from 1 of 2 sectors"


def test_a_work_is_overseen_by_its_regions_network(api):
    chosen = problem(api.post("/works", "oficial", json={
        "code": "LAM-2", "title": "Obra", "region": "Lambayeque",
        "network_id": api.other_network_id, "reference_amount": "100.00"}), 422)
    assert fields(chosen) == {"network_id"}
    nowhere = problem(api.post("/works", "oficial", json={
        "code": "LAM-3", "title": "Obra", "region": "Cusco", "reference_amount": "100.00"}), 422)
    assert fields(nowhere) == {"region"}


def test_an_official_of_another_entity_cannot_register_ours(api):
    forged = problem(api.post("/works", "otro", json={
        "code": "LAM-4", "title": "Obra", "region": "Lambayeque",
        "entity_id": api.orgs["entity"], "reference_amount": "100.00"}), 403)
    assert "do not act for Gobierno Regional de Lambayeque" in forged["detail"]


def test_one_person_is_not_official_and_member_of_the_same_network(api):
    api.add_user("doble", "member", person_id="41234567")
    api.ok(api.post(f"/networks/{api.network_id}/members", "admin", json={
        "user_id": api.ids["doble"], "organization_id": api.orgs["camara"]}), 201)
    refused = problem(api.post("/users", "admin", json={
        "username": "doble.oficial", "role": "official", "person_id": "41234567",
        "organization_id": api.orgs["entity"]}), 409)
    assert fields(refused) == {"person_id"}


# ---------------------------------------------------------------- policy
def test_policy_floors_are_422_naming_the_field(api):
    before = log_size(api)
    for body, field in (({"min_approvals": 1}, "min_approvals"),
                        ({"min_tender_days": 0}, "min_tender_days"),
                        ({"low_tolerance_pct": 50}, "low_tolerance_pct"),
                        ({"required_sectors": ["academia"]}, "required_sectors")):
        refused = problem(api.client.put(f"/api/v1/networks/{api.network_id}/policy",
                                         headers=api.auth("admin"), json=body), 422)
        assert fields(refused) == {field}
    assert log_size(api) == before


def test_a_quorum_lowered_between_signoffs_and_apply_gains_nothing(api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    api.ok(api.client.put(f"/api/v1/networks/{api.network_id}/policy",
                          headers=api.auth("admin"), json={"min_approvals": 2}))
    api.ok(api.sign(proposal, "rosa"), 201)
    api.ok(api.sign(proposal, "jorge"), 201)
    refused = problem(api.apply(proposal), 409)
    assert {"guard": "quorum", "message": "2 of 3 approvals"} in refused["errors"]
    history = api.ok(api.get(f"/works/{api.work_id}/history"))
    entries = history["entries"] if isinstance(history, dict) else history
    assert "policy.set" in [e["type"] for e in entries]


# ---------------------------------------------------------------- blocks and sign-offs
def test_withdraw_and_reopen_does_not_drop_a_block(api):
    api.ok(api.attach("feasibilityStudy"), 201)
    first = api.ok(api.propose("approve_design"), 201)["id"]
    api.ok(api.sign(first, "luis", "block", "Falta el estudio de suelos"), 201)
    api.ok(api.post(f"/works/{api.work_id}/proposals/{first}/withdraw", "oficial"))
    second = api.ok(api.propose("approve_design"), 201)["id"]
    for name in ("rosa", "jorge", "ana"):
        api.ok(api.sign(second, name), 201)
    refused = problem(api.apply(second), 409)
    assert "blocks" in fields(refused)
    overrule = problem(api.post(f"/works/{api.work_id}/proposals/{second}/overrule", "oficial",
                                json={"user_id": api.ids["luis"], "reason": "Avanzar"}), 409)
    assert "still a member" in overrule["detail"]


def test_signoffs_per_member_are_bounded(api):
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    for n in range(MAX_SIGNOFFS_PER_MEMBER):
        api.ok(api.sign(proposal, "rosa", "approve" if n % 2 else "withdraw"), 201)
    refused = problem(api.sign(proposal, "rosa"), 409)
    assert f"at most {MAX_SIGNOFFS_PER_MEMBER}" in refused["detail"]


# ---------------------------------------------------------------- observations
def test_only_its_author_accepts_or_rejects_an_answer(api):
    obs = api.ok(api.post(f"/works/{api.work_id}/observations", "luis",
                          json={"text": "Faltan los tramos 3 a 5"}), 201)["id"]
    base = f"/works/{api.work_id}/observations/{obs}"
    problem(api.post(f"{base}/accept", "luis"), 409)  # nothing to accept yet
    api.ok(api.post(f"{base}/answer", "oficial", json={"text": "Ver anexo 4"}))
    problem(api.post(f"{base}/reject", "rosa", json={"reason": "no"}), 403)
    problem(api.post(f"{base}/reject", "oficial", json={"reason": "no"}), 403)
    no_reason = problem(api.post(f"{base}/reject", "luis", json={}), 422)
    assert fields(no_reason) == {"reason"}
    rejected = api.ok(api.post(f"{base}/reject", "luis",
                               json={"reason": "El anexo no los incluye"}))
    assert rejected["accepted"] is False
    again = api.ok(api.post(f"{base}/answer", "oficial", json={"text": "Anexo 5"}))
    assert again["accepted"] is None
    assert api.ok(api.post(f"{base}/accept", "luis"))["accepted"] is True


# ---------------------------------------------------------------- amounts
@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_zero_or_negative_amounts_are_refused(api, amount):
    refused = problem(api.post("/works", "oficial", json={
        "code": "LAM-Z", "title": "Obra", "region": "Lambayeque",
        "reference_amount": amount}), 422)
    assert fields(refused) == {"reference_amount"}


def test_an_award_names_its_supplier_by_ruc(api):
    refused = problem(api.propose("award", award={
        "supplier": "Constructora Andina", "amount": "100.00", "bidders": 2}), 422)
    assert any(f and f.startswith("award") for f in fields(refused))
    bad_ruc = problem(api.propose("award", award={
        "supplier": dict(SUPPLIER, tax_id="123"), "amount": "100.00", "bidders": 2}), 422)
    assert bad_ruc["errors"]


# ---------------------------------------------------------------- input
@pytest.mark.parametrize("raw", ['"a\\u0000b"', '"a\\u007fb"', '"a\\u0085b"', '"a\\u009fb"',
                                 '"a\\ud800b"', '"a\\udfffb"', '"a\\u001bb"'])
def test_control_characters_and_lone_surrogates_are_422_naming_the_field(api, raw):
    before = log_size(api)
    body = '{"text": ' + raw + '}'
    response = api.client.post(f"/api/v1/works/{api.work_id}/observations", content=body,
                               headers={**api.auth("rosa"), "Content-Type": "application/json"})
    refused = problem(response, 422)
    assert "text" in fields(refused)
    assert log_size(api) == before


def test_nfd_text_everywhere_is_stored_as_nfc(api):
    nfd = "Ferren\u0303afe"
    work = api.ok(api.post("/works", "oficial", json={
        "code": "LAM-N", "title": f"Carretera Chiclayo\u2013{nfd}", "region": "Lambayeque",
        "reference_amount": "100.00"}), 201)
    assert work["title"].endswith("Ferre\u00f1afe")
    org = api.ok(api.post("/organizations", "admin", json={
        "name": "Asociacio\u0301n de Regantes", "kind": "association",
        "sector": "civil_society"}), 201)
    assert org["name"] == "Asociaci\u00f3n de Regantes"
    obs = api.ok(api.post(f"/works/{work['id']}/observations", "rosa",
                          json={"text": "l\u0131\u0301nea\n\tsegunda"}), 201)
    assert obs["text"] == "l\u0131\u0301nea\n\tsegunda"  # already NFC: kept, tab and newline
    entries = api.ok(api.get("/log", params={"limit": 500}))
    raw = json.dumps(entries, ensure_ascii=False)
    assert "n\u0303" not in raw
