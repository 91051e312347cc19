"""Each guard rule of DESIGN §3 at its boundary, through the service as an official would hit it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lifecycle.errors import Forbidden
from lifecycle.guards import GuardState, evaluate, red_flags
from lifecycle.log.canonical import parse_time
from lifecycle.model import Network, Policy, Proposal, SignOff, Work
from tests.conftest import SUPPLIER

AWARD = {"supplier": SUPPLIER, "amount": "12000000.00", "bidders": 3}


def failing(outcome) -> dict[str, str]:
    return {r.guard: r.message for r in outcome.results if not r.ok}


@pytest.fixture
def design_proposal(world):
    world.attach("feasibilityStudy")
    return world.propose("approve_design")


def test_two_approvals_are_not_enough_three_are(world, design_proposal):
    world.sign(design_proposal.id, "rosa", "jorge")
    refused = world.apply(design_proposal.id)
    assert failing(refused) == {"quorum": "2 of 3 approvals"}
    world.sign(design_proposal.id, "ana")
    assert world.apply(design_proposal.id).applied


def test_one_sector_is_not_enough(world):
    for name in ("sofia", "pedro"):
        world.organization(name, f"Colectivo {name}", "ngo", "civil_society")
        world.member(name, name)
    world.attach("feasibilityStudy")
    design_proposal = world.propose("approve_design")
    world.sign(design_proposal.id, "rosa", "sofia", "pedro")
    assert failing(world.apply(design_proposal.id)) == {
        "quorum": "approvals from 1 of 2 sectors"}
    world.sign(design_proposal.id, "luis")
    assert world.apply(design_proposal.id).applied


def test_civil_society_is_required(world, design_proposal):
    world.sign(design_proposal.id, "jorge", "ana")
    outcome = world.apply(design_proposal.id)
    assert failing(outcome) == {"quorum": "2 of 3 approvals; none from civil_society"}
    world.sign(design_proposal.id, "luis")
    assert failing(world.apply(design_proposal.id)) == {"quorum": "none from civil_society"}


def test_a_new_document_makes_earlier_approvals_stale(world, design_proposal):
    world.sign(design_proposal.id, "rosa", "jorge", "ana")
    world.attach("feasibilityStudy", content=b"revised feasibility study v2")
    assert failing(world.apply(design_proposal.id)) == {
        "quorum": "0 of 3 approvals; approvals from 0 of 2 sectors; none from civil_society"}
    world.sign(design_proposal.id, "rosa", "jorge", "ana")
    assert world.apply(design_proposal.id).applied


def test_a_conflicted_member_does_not_count(world, design_proposal):
    world.lc.declare_conflict(actor=world.members["ana"], work_id=world.work_id,
                              statement="My brother owns one of the bidding firms")
    world.sign(design_proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(design_proposal.id)) == {"quorum": "2 of 3 approvals"}
    world.sign(design_proposal.id, "luis")
    assert world.apply(design_proposal.id).applied


def test_the_works_own_entity_does_not_review_itself(world, design_proposal):
    world.sign(design_proposal.id, "rosa", "jorge", "carmen")
    assert failing(world.apply(design_proposal.id)) == {"quorum": "2 of 3 approvals"}


def test_the_proposer_cannot_sign_off(world, design_proposal):
    with pytest.raises(Forbidden):
        world.lc.record_signoff(actor=world.official, work_id=world.work_id,
                                proposal_id=design_proposal.id, decision="approve")


def test_separation_of_duties_guard_catches_a_proposer_signoff():
    """The service refuses it; the guard still catches one written past the service."""
    at = "2026-03-02T09:00:00.000000Z"
    work = Work(id=1, code="W", title="t", entity="GR", region="R", network_id=1,
                reference_amount="100.00", currency="PEN", registered_at=at, registered_by=9,
                stage_entered_at=at)
    proposal = Proposal(id=1, trigger="approve_design", justification="", opened_by=9,
                        opened_at=at, signoffs=[SignOff(9, "approve", "", at, 5)])
    results = evaluate(GuardState(work, Network(1, "n", "R", at)), proposal, Policy(),
                       datetime(2026, 3, 3, tzinfo=timezone.utc))
    verdicts = {r.guard: r for r in results}
    assert not verdicts["separation_of_duties"].ok
    assert verdicts["quorum"].message.startswith("0 of 3 approvals")


def test_a_member_who_left_does_not_count(world, design_proposal):
    world.sign(design_proposal.id, "rosa", "jorge", "ana")
    world.lc.remove_member(actor=world.admin, network_id=world.network_id,
                           user_id=world.members["ana"].id)
    assert failing(world.apply(design_proposal.id)) == {"quorum": "2 of 3 approvals"}


def test_a_block_stands_until_its_author_lifts_it(world, design_proposal):
    world.sign(design_proposal.id, "rosa", "jorge", "ana")
    world.sign(design_proposal.id, "luis", decision="block",
               reason="The feasibility study ignores the flood zone")
    outcome = world.apply(design_proposal.id)
    assert set(failing(outcome)) == {"blocks"}
    assert "The feasibility study ignores the flood zone" in failing(outcome)["blocks"]
    world.sign(design_proposal.id, "carmen", decision="approve")  # someone else cannot lift it
    assert set(failing(world.apply(design_proposal.id))) == {"blocks"}
    world.sign(design_proposal.id, "luis", decision="withdraw")
    assert world.apply(design_proposal.id).applied


def test_a_block_needs_a_reason(world, design_proposal):
    from lifecycle.errors import Invalid

    with pytest.raises(Invalid) as invalid:
        world.sign(design_proposal.id, "luis", decision="block", reason="")
    assert invalid.value.field == "reason"


def test_documents_must_be_attached_in_the_current_stage(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.attach("technicalSpecifications")
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "documents": "missing in this stage: budgetApproval"}


def test_a_retender_needs_a_revised_technical_file(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.clock.advance(days=15)
    world.advance("declare_void", ("evaluationReports",))
    assert world.work.stage == "technical_file"
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "documents": "missing in this stage: technicalSpecifications, budgetApproval"}


def test_observations_must_be_answered_before_the_tender(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="The soil study covers only two of the five sections")
    world.attach("technicalSpecifications")
    world.attach("budgetApproval")
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "observations_answered": "1 observation(s) unanswered or answer rejected: #1"}
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="The full soil study is now attached as annex 4")
    # The answer changed the dossier: the approvals given before it are stale.
    assert "stale" in failing(world.apply(proposal.id))["quorum"] or \
        failing(world.apply(proposal.id))["quorum"].startswith("0 of 3")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied


@pytest.fixture
def in_tender(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.prepare("award")  # the bases integrated
    world.attach("evaluationReports")
    return world


def test_tender_period_of_14_days_is_too_short_15_is_enough(in_tender, clock):
    world = in_tender
    entered = world.work.stage_entered_at
    proposal = world.propose("award", award=AWARD)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    # The clock moves one second per call: stop just short of 14 days, so apply lands on day 14.
    clock.now = parse_time(entered) + timedelta(days=14) - timedelta(seconds=1)
    assert failing(world.apply(proposal.id)) == {
        "tender_period": "14 of 15 days since the tender opened"}
    clock.advance(days=1)
    assert world.apply(proposal.id).applied


def test_a_single_bidder_raises_the_quorum(in_tender, clock):
    world = in_tender
    clock.advance(days=15)
    proposal = world.propose("award", award=dict(AWARD, bidders=1))
    assert proposal.red_flags == ["single_bidder"]
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "quorum": "3 of 4 approvals (raised by red flags: single_bidder)"}
    world.sign(proposal.id, "luis")
    assert world.apply(proposal.id).applied


def test_an_amount_over_the_tolerance_is_a_red_flag():
    policy = Policy()
    assert red_flags("1000.00", {"amount": "1100.00", "bidders": 2}, policy) == []
    assert red_flags("1000.00", {"amount": "1100.01", "bidders": 2}, policy) == [
        "amount_above_reference"]


def test_the_suppliers_member_does_not_count(in_tender, clock):
    world = in_tender
    clock.advance(days=15)
    world.organization("supplier", SUPPLIER["name"], "company", "private_sector",
                       SUPPLIER["tax_id"])
    world.member("ingeniera", "supplier")  # the supplier's engineer sits in the network
    proposal = world.propose("award", award=AWARD)
    world.sign(proposal.id, "rosa", "ingeniera", "ana")
    assert failing(world.apply(proposal.id)) == {"quorum": "2 of 3 approvals"}


def test_a_refusal_lists_every_failing_guard_and_is_logged(world, design_proposal):
    world.sign(design_proposal.id, "jorge")
    world.sign(design_proposal.id, "ana", decision="block", reason="No environmental study")
    outcome = world.apply(design_proposal.id)
    assert not outcome.applied
    assert set(failing(outcome)) == {"quorum", "blocks"}
    last = world.lc.history(world.work_id)[-1]
    assert last["type"] == "transition.refused"
    assert {g["guard"]: g["ok"] for g in last["data"]["guards"]}["quorum"] is False
    assert world.work.stage == "design"


def test_the_stricter_policy_keeps_signatures_required_from_either_side():
    """Turning `require_member_signatures` off after a proposal opened does not let unsigned
    approvals count for it; turning it on applies at once (DESIGN §3 policy pinning)."""
    from lifecycle.guards.policy import pinned, stricter
    from lifecycle.model import Policy

    signed = Policy(require_member_signatures=True)
    unsigned = Policy(require_member_signatures=False)
    assert stricter(pinned(signed), unsigned).require_member_signatures is True
    assert stricter(pinned(unsigned), signed).require_member_signatures is True
    assert stricter(pinned(unsigned), unsigned).require_member_signatures is False
