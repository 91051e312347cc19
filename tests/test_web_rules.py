"""The web pages under the wave-2 rules: an award names its supplier by RUC, and the new
reasons and entries are said in Spanish."""

from __future__ import annotations

import pytest

from api.main import create_app
from tests.conftest import SUPPLIER
from tests.test_web_pages import Browser


@pytest.fixture
def official(world):
    browser = Browser(create_app(world.lc), world)
    browser.login("oficial")
    return browser


def in_tender(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.attach("evaluationReports")
    world.clock.advance(days=15)
    world.prepare("award")


def test_the_award_form_finds_the_supplier_by_ruc(world, official):
    in_tender(world)
    page = f"/works/{world.work_id}"
    form = {"trigger": "award", "justification": "Buena pro", "supplier": SUPPLIER["name"],
            "amount": "11000000.00", "bidders": "3"}
    refused = official.post(f"{page}/proposals", dict(form, supplier_tax_id="20100070971"),
                            page=page)
    assert refused.status_code == 422
    assert "RUC" in refused.text
    assert world.work.open_proposal is None
    opened = official.post(f"{page}/proposals", dict(form, supplier_tax_id=SUPPLIER["tax_id"]),
                           page=page)
    assert opened.status_code == 200, opened.text
    award = world.work.open_proposal.award
    assert award["tax_id"] == SUPPLIER["tax_id"] and isinstance(award["supplier_id"], int)
    assert "oferta anormalmente baja" in opened.text  # 88% of the reference: the low flag


def test_a_rejected_answer_and_an_overruled_block_are_said_in_spanish(world, official):
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="Faltan los tramos 3 a 5")
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Ver anexo 4")
    world.lc.judge_answer(actor=world.members["luis"], work_id=world.work_id,
                          observation_id=1, accept=False, reason="No los incluye")
    text = official.get(f"/works/{world.work_id}").text
    assert "rechazó la respuesta a la observación n.º 1, porque: «No los incluye»" in text
