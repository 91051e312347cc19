"""The work page's execution section (DESIGN §2, wave 2): the progress chart and table, the
valuation form for the entity's officials, and Spanish words for the execution's guards and
entries."""

from __future__ import annotations

import pytest

from api.main import create_app
from tests.test_execution import to_execution, value
from tests.test_web_pages import Browser


@pytest.fixture
def browser(world):
    return Browser(create_app(world.lc), world)


def valuation_form(browser, world, **fields):
    document = world.attach("paymentCertificate").documents[-1].id
    data = {"period": "2026-04", "physical_pct": "12.50", "financial_pct": "10.00",
            "amount": "1200000.00", "document_id": str(document), **fields}
    return browser.post(f"/works/{world.work_id}/valuations", data,
                        page=f"/works/{world.work_id}")


def test_the_official_reports_a_valuation_and_sees_it_charted(world, browser):
    to_execution(world)
    browser.login("oficial")
    page = browser.get(f"/works/{world.work_id}").text
    assert "Reportar la valorización del mes" in page
    done = valuation_form(browser, world)
    assert done.status_code == 200
    assert "La valorización está reportada y consta en el registro." in done.text
    assert "<polyline" in done.text and "2026-04" in done.text
    assert "Valorizaciones" in done.text and "12.5 %" in done.text
    assert "reportó la valorización de 2026-04" in done.text  # the timeline, in Spanish
    assert [v.period for v in world.work.valuations] == ["2026-04"]


def test_a_valuation_lowering_progress_is_refused_on_the_page(world, browser):
    to_execution(world)
    value(world, "2026-03", "20.00", "18.00", "100.00")
    browser.login("oficial")
    refused = valuation_form(browser, world, physical_pct="19.00")
    assert refused.status_code == 409
    assert "physical_pct" in refused.text or "avance" in refused.text.lower()
    assert [v.period for v in world.work.valuations] == ["2026-03"]
    malformed = valuation_form(browser, world, document_id="abc")
    assert malformed.status_code == 422


def test_members_and_the_public_get_no_valuation_form(world, browser):
    to_execution(world)
    assert "Reportar la valorización" not in browser.get(f"/works/{world.work_id}").text
    browser.login("rosa")
    assert "Reportar la valorización" not in browser.get(f"/works/{world.work_id}").text
    forged = valuation_form(browser, world)
    assert forged.status_code == 403
    assert world.work.valuations == []


def test_the_appeal_window_refusal_is_said_in_spanish(world, browser):
    from tests.test_execution import to_award

    to_award(world)
    world.attach("contractSigned")
    proposal = world.propose("sign_contract")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    browser.login("oficial")
    refused = browser.post(f"/works/{world.work_id}/proposals/{proposal.id}/apply",
                           {"confirm_refusal": "on"},
                           page=f"/works/{world.work_id}")
    assert refused.status_code == 409
    box = refused.text.split('id="refusal-title"', 1)[1].split("</section>", 1)[0]
    assert "El plazo de apelación de 5 días hábiles tras la buena pro aún no vence." in box
    assert "Buena pro consentida" in box and "appeal" not in box


def test_the_stalled_report_lists_paralysed_works_apart_in_spanish(world, browser):
    to_execution(world)
    value(world, "2026-03", "44.00", "40.00", "100.00")
    assert "Ninguna obra está paralizada." in browser.get("/reports/stalled").text
    world.clock.advance(days=200)
    report = browser.get("/reports/stalled").text
    section = report.split('id="paralysed-title"', 1)[1]
    assert world.work.code in section and "comprendida" in section  # Ley 31589 at 44%
    assert "Obras paralizadas" in report
