"""Execution under oversight through the HTTP API: each rule and the attack it stops
(DESIGN §2, §5), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from lifecycle.execution import appeal_window_end
from tests.api.api_world import SUPPLIER, ApiWorld, build_api_world

AWARD = {"supplier": SUPPLIER, "amount": "12000000.00", "bidders": 3}


@pytest.fixture
def api(lc, clock) -> ApiWorld:
    with TestClient(create_app(lc)) as client:
        yield build_api_world(lc, client)


def milestone(api, code, name="oficial", **extra):
    return api.post(f"/works/{api.work_id}/milestones", name,
                    json={"code": code, "date": api_today(api), **extra})


def api_today(api) -> str:
    return api.clock.now.date().isoformat()


def valuation(api, period, physical, financial, amount, document_id, name="oficial"):
    return api.post(f"/works/{api.work_id}/valuations", name, json={
        "period": period, "physical_pct": physical, "financial_pct": financial,
        "amount": amount, "document_id": document_id})


def problem_fields(response) -> set:
    return {e.get("field") or e.get("guard") for e in response.json()["errors"]}


@pytest.fixture
def tender(api, lc, clock):
    api.clock = clock
    api.advance("approve_design", ("feasibilityStudy",))
    api.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    return api


@pytest.fixture
def execution(tender, lc, clock):
    api = tender
    api.ok(milestone(api, "bases_integrated"), 201)
    clock.advance(days=15)
    assert api.advance("award", ("evaluationReports",), award=AWARD)["applied"]
    work = lc.get_work(api.work_id)
    clock.now = appeal_window_end(work, lc.get_network(work.network_id).policy) + \
        timedelta(minutes=1)
    assert api.advance("sign_contract", ("contractSigned",))["applied"]
    return api


def document(api, kind="paymentCertificate") -> int:
    return api.ok(api.attach(kind), 201)["id"]


def test_an_award_without_the_bases_integrated_is_refused_naming_the_guard(tender, clock):
    api = tender
    clock.advance(days=15)
    for kind in ("evaluationReports",):
        api.ok(api.attach(kind), 201)
    proposal = api.ok(api.propose("award", AWARD), 201)
    for name in ("rosa", "jorge", "ana"):
        api.ok(api.sign(proposal["id"], name), 201)
    refused = api.apply(proposal["id"])
    assert refused.status_code == 409
    assert problem_fields(refused) == {"bases_integrated"}
    api.ok(milestone(api, "bases_integrated"), 201)
    assert api.ok(api.apply(proposal["id"]))["applied"]


def test_milestones_are_the_entitys_officials_alone(tender):
    api = tender
    for name in ("rosa", "otro", "auditora"):
        assert milestone(api, "bases_integrated", name).status_code == 403
    assert milestone(api, "bases_integrated", None).status_code == 401
    bad = api.post(f"/works/{api.work_id}/milestones", "oficial",
                   json={"code": "bribe_paid", "date": api_today(api)})
    assert bad.status_code == 422
    assert milestone(api, "appeal_filed").status_code == 409  # not in the award stage
    created = api.ok(milestone(api, "bases_integrated"), 201)
    assert created["code"] == "bases_integrated" and created["id"] == 1


def test_signing_the_contract_while_an_appeal_is_pending_is_refused(tender, lc, clock):
    api = tender
    api.ok(milestone(api, "bases_integrated"), 201)
    clock.advance(days=15)
    api.advance("award", ("evaluationReports",), award=AWARD)
    api.ok(milestone(api, "appeal_filed"), 201)
    clock.advance(days=30)
    api.ok(api.attach("contractSigned"), 201)
    proposal = api.ok(api.propose("sign_contract"), 201)
    for name in ("rosa", "jorge", "ana"):
        api.ok(api.sign(proposal["id"], name), 201)
    refused = api.apply(proposal["id"])
    assert refused.status_code == 409
    assert problem_fields(refused) == {"buena_pro_consented"}
    api.ok(milestone(api, "appeal_resolved"), 201)
    assert api.ok(api.apply(proposal["id"]))["applied"]


def test_a_valuation_lowering_progress_or_exceeding_the_contract_is_refused(execution, clock):
    api = execution
    doc = document(api)
    first = api.ok(valuation(api, "2026-03", "20.00", "18.00", "2000000.00", doc), 201)
    assert first["physical_pct"] == "20.00"
    clock.advance(days=10)  # into April
    lower = valuation(api, "2026-04", "19.50", "18.00", "1.00", document(api))
    assert lower.status_code == 409 and "physical_pct" in problem_fields(lower)
    over = valuation(api, "2026-04", "25.00", "20.00", "10000000.01", document(api))
    assert over.status_code == 409 and "amount" in problem_fields(over)
    assert valuation(api, "2026-04", "25.00", "20.00", "10000000.00",
                     document(api)).status_code == 201


def test_valuation_input_is_checked_naming_the_field(execution):
    api = execution
    doc = document(api)
    for body, field in (({"physical_pct": 30}, "physical_pct"),          # a number, not a string
                        ({"physical_pct": "101.5"}, "physical_pct"),
                        ({"amount": "1e6"}, "amount"),
                        ({"period": "2026-3"}, "period"),
                        ({"document_id": 0}, "document_id")):
        full = {"period": "2026-03", "physical_pct": "1", "financial_pct": "1",
                "amount": "1.00", "document_id": doc, **body}
        response = api.post(f"/works/{api.work_id}/valuations", "oficial", json=full)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    missing = valuation(api, "2026-03", "1", "1", "1.00", 999)
    assert missing.status_code == 409 and "document_id" in problem_fields(missing)


def test_valuations_are_the_entitys_officials_alone(execution):
    api = execution
    doc = document(api)
    for name in ("rosa", "otro", "admin"):
        assert valuation(api, "2026-03", "1", "1", "1.00", doc, name).status_code == 403
    assert valuation(api, "2026-03", "1", "1", "1.00", doc, None).status_code == 401


def test_an_amendment_above_15_percent_needs_the_comptroller_through_the_api(execution):
    api = execution
    api.ok(api.attach("contractAmendment"), 201)
    proposal = api.ok(api.post(f"/works/{api.work_id}/proposals", "oficial", json={
        "trigger": "amend", "justification": "Adicional de obra N.° 1",
        "amendment": {"kind": "additional", "amount": "1801200.00"}}), 201)
    assert proposal["red_flags"] == ["additional_works_above_limit"]
    for name in ("rosa", "jorge", "ana", "luis"):
        api.ok(api.sign(proposal["id"], name), 201)
    refused = api.apply(proposal["id"])
    assert refused.status_code == 409 and "amendment_terms" in problem_fields(refused)
    api.ok(api.attach("escalationApproval"), 201)
    for name in ("rosa", "jorge", "ana", "luis"):
        api.ok(api.sign(proposal["id"], name), 201)
    assert api.ok(api.apply(proposal["id"]))["applied"]
    assert api.work()["stage"] == "execution"


def test_amendment_terms_are_checked_through_the_api(execution):
    api = execution
    path = f"/works/{api.work_id}/proposals"
    no_days = api.post(path, "oficial", json={"trigger": "amend", "justification": "x",
                                              "amendment": {"kind": "extension"}})
    assert no_days.status_code == 422 and "amendment.days" in no_days.text
    nothing = api.post(path, "oficial", json={"trigger": "amend", "justification": "x"})
    assert nothing.status_code == 422 and "amendment" in nothing.text
    elsewhere = api.post(path, "oficial", json={"trigger": "close", "justification": "x",
                                                "amendment": {"kind": "extension", "days": 5}})
    assert elsewhere.status_code == 422


def test_the_stalled_report_lists_paralysed_works_apart(execution, clock):
    api = execution
    api.ok(valuation(api, "2026-03", "42.00", "40.00", "4800000.00", document(api)), 201)
    assert api.ok(api.get("/reports/stalled"))["paralysed"] == []
    clock.advance(days=190)
    report = api.ok(api.get("/reports/stalled"))
    assert [(r["work_id"], r["physical_pct"], r["ley_31589"]) for r in report["paralysed"]] == [
        (api.work_id, "42.00", True)]
    assert report["overdue"] == []  # 190 days is within execution's 540
    paralysed = api.ok(api.get("/works", params={"paralysed": "true"}))["works"]
    assert [w["id"] for w in paralysed] == [api.work_id]
    assert api.ok(api.get("/works", params={"paralysed": "false"}))["works"] == []
    assert api.get("/works", params={"paralysed": "yes"}).status_code == 422
