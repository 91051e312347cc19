"""Execution under oversight (DESIGN §2, wave 2) through the service, on SQLite and PostgreSQL:
each rule at its boundary, and replay re-judging the entries it produced."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lifecycle.audit.replay import replay_entries
from lifecycle.errors import Conflict, Forbidden, Invalid
from lifecycle.execution import appeal_window_end
from lifecycle.log.canonical import format_time
from tests.conftest import SUPPLIER

CONTRACT = "12000000.00"


def record_milestone(world, code, **extra):
    return world.lc.record_milestone(actor=world.official, work_id=world.work_id, code=code,
                                     date=world.clock.now.date().isoformat(), **extra)


def to_tender(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))


def to_award(world):
    to_tender(world)
    record_milestone(world, "bases_integrated")
    world.clock.advance(days=15)
    world.advance("award", ("evaluationReports",),
                  award={"supplier": SUPPLIER, "amount": CONTRACT, "bidders": 3})


def past_appeal_window(world):
    network = world.lc.get_network(world.network_id)
    world.clock.now = appeal_window_end(world.work, network.policy) + timedelta(minutes=1)


def to_execution(world):
    to_award(world)
    past_appeal_window(world)
    world.advance("sign_contract", ("contractSigned",))


def value(world, period, physical, financial, amount, document_id=None):
    if document_id is None:
        document_id = world.attach("paymentCertificate").documents[-1].id
    return world.lc.report_valuation(actor=world.official, work_id=world.work_id,
                                     period=period, physical_pct=physical,
                                     financial_pct=financial, amount=amount,
                                     document_id=document_id)


def amend(world, signers=("rosa", "jorge", "ana"), documents=("contractAmendment",), **terms):
    for kind in documents:
        world.attach(kind)
    proposal = world.lc.open_proposal(actor=world.official, work_id=world.work_id,
                                      trigger="amend", justification="adicional de obra",
                                      amendment=terms)
    world.sign(proposal.id, *signers)
    return proposal, world.apply(proposal.id)


def failing(outcome):
    return {r.guard: r.message for r in outcome.results if not r.ok}


def replayed(lc):
    return replay_entries([json.loads(raw) for raw in lc.entries(limit=100_000)])


# ---------------------------------------------------------------- tender calendar
def test_award_needs_the_bases_integrated(world):
    to_tender(world)
    world.clock.advance(days=15)
    world.attach("evaluationReports")
    proposal = world.propose("award", award={"supplier": SUPPLIER, "amount": CONTRACT,
                                             "bidders": 3})
    world.sign(proposal.id, "rosa", "jorge", "ana")
    outcome = world.apply(proposal.id)
    assert not outcome.applied
    assert set(failing(outcome)) == {"bases_integrated"}
    record_milestone(world, "bases_integrated")
    world.sign(proposal.id, "rosa", "jorge", "ana")  # a milestone is not a dossier change
    assert world.apply(proposal.id).applied


def test_sign_contract_one_business_day_early_is_refused(world):
    to_award(world)
    awarded = world.work.stage_entered_at  # Tuesday 2026-03-17, 04:00 in Lima
    assert awarded.startswith("2026-03-17")
    world.attach("contractSigned")
    proposal = world.propose("sign_contract")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    # The fifth business day after the award is Tuesday the 24th: still inside the window.
    world.clock.now = world.clock.now.replace(day=24, hour=23)  # 18:00 in Lima on the 24th
    outcome = world.apply(proposal.id)
    assert not outcome.applied
    assert "2026-03-25" in failing(outcome)["buena_pro_consented"]
    world.clock.now = world.clock.now.replace(day=25, hour=5, minute=0)  # 00:00 in Lima
    assert world.apply(proposal.id).applied
    assert world.work.stage == "execution"


def test_an_appeal_pending_holds_the_contract_until_resolved(world):
    to_award(world)
    record_milestone(world, "appeal_filed")
    past_appeal_window(world)
    world.attach("contractSigned")
    proposal = world.propose("sign_contract")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    outcome = world.apply(proposal.id)
    assert failing(outcome) == {"buena_pro_consented": "an appeal is pending"}
    record_milestone(world, "appeal_resolved")
    assert world.apply(proposal.id).applied


def test_milestones_belong_to_their_stage(world):
    to_tender(world)
    with pytest.raises(Conflict, match="award stage"):
        record_milestone(world, "appeal_filed")
    record_milestone(world, "bases_integrated")
    with pytest.raises(Conflict, match="already recorded"):
        record_milestone(world, "bases_integrated")
    with pytest.raises(Invalid):
        world.lc.record_milestone(actor=world.official, work_id=world.work_id,
                                  code="offers_opened", date="2026-02-30")
    tomorrow = (world.clock.now + timedelta(days=2)).date().isoformat()
    with pytest.raises(Conflict, match="future"):
        world.lc.record_milestone(actor=world.official, work_id=world.work_id,
                                  code="offers_opened", date=tomorrow)
    with pytest.raises(Forbidden):
        world.lc.record_milestone(actor=world.members["rosa"], work_id=world.work_id,
                                  code="offers_opened", date=world.clock.now.date().isoformat())


def test_appeal_resolved_needs_an_appeal(world):
    to_award(world)
    with pytest.raises(Conflict, match="no appeal is pending"):
        record_milestone(world, "appeal_resolved")


# ---------------------------------------------------------------- valuations
def test_valuations_never_lower_progress_nor_exceed_the_contract(world):
    to_execution(world)
    value(world, "2026-03", "10.00", "8.00", "960000.00")
    with pytest.raises(Conflict, match="physical_pct cannot decrease"):
        value(world, "2026-04", "9.99", "9.00", "100.00")
    with pytest.raises(Conflict, match="financial_pct cannot decrease"):
        value(world, "2026-04", "11.00", "7.99", "100.00")
    with pytest.raises(Conflict, match="must come after 2026-03"):
        value(world, "2026-03", "11.00", "9.00", "100.00")
    world.clock.advance(days=40)
    rest = "11040000.00"  # 12000000.00 - 960000.00: the whole contract, exactly
    with pytest.raises(Conflict, match="exceed the current contract amount"):
        value(world, "2026-04", "100", "100", "11040000.01")
    work = value(world, "2026-04", "100", "100", rest)
    assert [v.period for v in work.valuations] == ["2026-03", "2026-04"]


def test_a_valuation_reports_a_month_that_has_begun_with_its_document(world):
    to_execution(world)
    now = world.clock.now
    next_month = f"{now.year + now.month // 12}-{now.month % 12 + 1:02d}"
    with pytest.raises(Conflict, match="has not begun"):
        value(world, next_month, "1", "1", "1.00")
    plan = world.attach("contractSchedule").documents[-1].id
    with pytest.raises(Conflict, match="paymentCertificate or physicalProgressReport"):
        value(world, "2026-03", "1", "1", "1.00", document_id=plan)
    with pytest.raises(Invalid):
        value(world, "2026-13", "1", "1", "1.00")
    with pytest.raises(Invalid):
        value(world, "2026-03", "100.01", "1", "1.00")
    with pytest.raises(Invalid):
        value(world, "2026-03", "1", "1", "-1.00")
    report = world.attach("physicalProgressReport").documents[-1].id
    assert value(world, "2026-03", "1", "1", "1.00", document_id=report).valuations


def test_valuations_only_during_execution_and_by_the_entitys_official(world):
    to_award(world)
    with pytest.raises(Conflict, match="during execution"):
        value(world, "2026-03", "1", "1", "1.00")
    past_appeal_window(world)
    world.advance("sign_contract", ("contractSigned",))
    document = world.attach("paymentCertificate").documents[-1].id
    other = world.other_official()
    with pytest.raises(Forbidden):
        world.lc.report_valuation(actor=other, work_id=world.work_id, period="2026-03",
                                  physical_pct="1", financial_pct="1", amount="1.00",
                                  document_id=document)


# ---------------------------------------------------------------- amendments
def test_additional_works_at_15_00_percent_raise_no_flag(world):
    to_execution(world)
    proposal, outcome = amend(world, kind="additional", amount="1800000.00")  # 15.00%
    assert proposal.red_flags == []
    assert outcome.applied, failing(outcome)
    assert world.lc.execution_summary(world.work)["current_amount"] == "13800000.00"
    assert world.work.stage == "execution"


def test_additional_works_at_15_01_percent_flag_and_need_the_comptrollers_approval(world):
    to_execution(world)
    amend(world, kind="additional", amount="1000000.00")
    # Cumulative 1000000 + 801200 = 1801200 = 15.01% of 12000000.
    proposal, outcome = amend(world, kind="additional", amount="801200.00",
                              signers=("rosa", "jorge", "ana", "luis"))
    assert proposal.red_flags == ["additional_works_above_limit"]
    assert "escalationApproval" in failing(outcome)["amendment_terms"]
    world.attach("escalationApproval")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    outcome = world.apply(proposal.id)
    assert "4 approvals" in failing(outcome)["quorum"]  # the flag raised the quorum by one
    world.sign(proposal.id, "luis")
    assert world.apply(proposal.id).applied


def test_a_third_extension_is_a_red_flag(world):
    to_execution(world)
    for _ in range(2):
        proposal, outcome = amend(world, kind="extension", days=30)
        assert proposal.red_flags == [] and outcome.applied
    proposal, _ = amend(world, kind="extension", days=30,
                        signers=("rosa", "jorge", "ana", "luis"))
    assert proposal.red_flags == ["third_or_later_extension"]
    assert world.lc.execution_summary(world.work)["extension_days"] == 90


def test_amendment_terms_are_checked(world):
    to_execution(world)
    for terms, field in (({"kind": "extension"}, "amendment.days"),
                         ({"kind": "additional", "days": 3}, "amendment.days"),
                         ({"kind": "additional", "amount": "0"}, "amendment.amount"),
                         ({"kind": "rebate", "amount": "10.00"}, "amendment.kind")):
        with pytest.raises(Invalid) as raised:
            world.lc.open_proposal(actor=world.official, work_id=world.work_id,
                                   trigger="amend", justification="x", amendment=terms)
        assert raised.value.field == field
    with pytest.raises(Conflict, match="positive contract amount"):
        world.lc.open_proposal(actor=world.official, work_id=world.work_id, trigger="amend",
                               justification="x",
                               amendment={"kind": "deductive", "amount": CONTRACT})
    with pytest.raises(Invalid, match="only an amend proposal"):
        world.lc.open_proposal(actor=world.official, work_id=world.work_id, trigger="close",
                               justification="x", amendment={"kind": "extension", "days": 3})


def test_each_amendment_needs_its_own_contract_amendment(world):
    to_execution(world)
    amend(world, kind="deductive", amount="100000.00")
    proposal, outcome = amend(world, documents=(), kind="deductive", amount="100000.00")
    assert "contractAmendment" in failing(outcome)["amendment_terms"]
    assert world.lc.execution_summary(world.work)["current_amount"] == "11900000.00"


# ---------------------------------------------------------------- paralysis and Ley 31589
def test_paralysis_at_six_months_minus_and_plus_one_day(world):
    to_execution(world)
    value(world, "2026-03", "45.00", "40.00", "4800000.00")
    rose = world.work.valuations[-1].reported_at
    six_months = world.clock.now.replace(month=world.clock.now.month + 6)
    assert format_time(world.clock.now)[:10] == rose[:10]
    assert world.lc.paralysed_report(six_months - timedelta(days=1)) == []
    report = world.lc.paralysed_report(six_months + timedelta(days=1))
    assert [(r["work_id"], r["since"], r["physical_pct"], r["ley_31589"]) for r in report] == [
        (world.work_id, rose, "45.00", True)]


def test_progress_that_rises_resets_the_paralysis_clock(world):
    to_execution(world)
    value(world, "2026-03", "10.00", "10.00", "100.00")
    world.clock.advance(days=150)
    value(world, "2026-08", "10.00", "11.00", "100.00")  # no physical rise
    world.clock.advance(days=40)
    report = world.lc.paralysed_report()
    assert [r["physical_pct"] for r in report] == ["10.00"]
    assert report[0]["ley_31589"] is False  # below 40%
    value(world, "2026-09", "12.00", "12.00", "100.00")
    assert world.lc.paralysed_report() == []
    assert [w.id for w in world.lc.list_works(paralysed=False).works] == [world.work_id]


def test_reception_needs_the_observations_of_execution_answered(world):
    to_execution(world)
    world.lc.file_observation(actor=world.members["rosa"], work_id=world.work_id,
                              text="La valorización de marzo no cuadra con el avance.")
    world.attach("completionCertificate")
    proposal = world.propose("close")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    outcome = world.apply(proposal.id)
    assert set(failing(outcome)) == {"reception_observations"}
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Se corrigió el metrado.")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied


def test_a_terminated_contract_goes_back_to_the_technical_file(world):
    to_execution(world)
    value(world, "2026-03", "41.00", "40.00", "4800000.00")
    proposal = world.propose("terminate_contract")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert set(failing(world.apply(proposal.id))) == {"documents"}
    world.attach("termination")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied
    assert world.work.stage == "technical_file"
    summary = world.lc.execution_summary(world.work)
    assert summary["terminated"] and summary["ley_31589"]


def test_replay_finds_the_execution_history_legal(world):
    to_execution(world)
    value(world, "2026-03", "10.00", "8.00", "960000.00")
    amend(world, kind="extension", days=15)
    world.clock.advance(days=200)
    replayer = replayed(world.lc)
    assert replayer.illegal == []
    assert replayer.state.works[world.work_id].to_dict() == world.work.to_dict()
