"""Every trigger from every stage: legal ones pass once their guards hold, illegal ones are
refused naming the stage guard."""

from __future__ import annotations

import pytest

from lifecycle.errors import Refused
from tests.conftest import SUPPLIER
from lifecycle.states import STAGES, TRANSITIONS, TRIGGERS, destination, spec_for, stage_table

AWARD = {"supplier": SUPPLIER, "amount": "12000000.00", "bidders": 3}

# How to bring the test work to each stage from design.
PATHS = {
    "design": [],
    "technical_file": [("approve_design", ("feasibilityStudy",))],
    "tender": [("approve_design", ("feasibilityStudy",)),
               ("publish_tender", ("technicalSpecifications", "budgetApproval"))],
}
PATHS["award"] = PATHS["tender"] + [("award", ("evaluationReports",))]
PATHS["execution"] = PATHS["award"] + [("sign_contract", ("contractSigned",))]
PATHS["closure"] = PATHS["execution"] + [("close", ("completionCertificate",))]
PATHS["suspended"] = PATHS["technical_file"] + [("suspend", ())]
PATHS["cancelled"] = [("cancel", ("cancellationDetails",))]


def bring_to(world, stage: str) -> None:
    for trigger, documents in PATHS[stage]:
        if trigger == "award":
            world.clock.advance(days=15)
        if trigger == "suspend":
            proposal = world.propose("suspend", justification="landslide on the access road")
            assert world.apply(proposal.id).applied
            continue
        world.advance(trigger, documents, award=AWARD if trigger == "award" else None)
    assert world.work.stage == stage


def test_machine_table_matches_design():
    table = stage_table()
    assert table["stages"] == list(STAGES)
    assert {t["trigger"] for t in table["transitions"]} == set(TRIGGERS)
    edges = {(e["trigger"], e["from"], e["to"]) for e in table["edges"]}
    assert ("approve_design", "design", "technical_file") in edges
    assert ("declare_void", "tender", "technical_file") in edges
    assert ("resume", "suspended", "execution") in edges
    assert not any(e["from"] in ("closure", "cancelled") for e in table["edges"])


@pytest.mark.parametrize("stage", [s for s in STAGES])
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_every_trigger_from_every_stage(world, stage, trigger):
    bring_to(world, stage)
    origin = (world.work.suspended_from or {}).get("stage")
    target = destination(stage, trigger, origin)
    if target is None:
        with pytest.raises(Refused) as refused:
            world.propose(trigger, award=AWARD if trigger == "award" else None)
        assert refused.value.errors[0]["guard"] == "stage"
        assert f"{trigger} is not allowed from stage {stage}" in refused.value.message
        assert world.work.stage == stage
        return
    spec = spec_for(trigger)
    for kind in spec.documents:
        world.attach(kind)
    if trigger in ("award", "declare_void"):
        world.clock.advance(days=15)
    world.prepare(trigger)  # bases integrated, appeal window over (wave 2)
    if trigger == "amend":
        proposal = world.lc.open_proposal(actor=world.official, work_id=world.work_id,
                                          trigger="amend", justification="ampliación de plazo",
                                          amendment={"kind": "extension", "days": 30})
    else:
        proposal = world.propose(trigger, award=AWARD if trigger == "award" else None)
    if spec.signoff:
        # Before the sign-offs the guards refuse it, and nothing moves.
        refused = world.apply(proposal.id)
        assert not refused.applied
        assert "quorum" in {r.guard for r in refused.results if not r.ok}
        assert world.work.stage == stage
        world.sign(proposal.id, "rosa", "jorge", "ana")
    outcome = world.apply(proposal.id)
    assert outcome.applied, [r for r in outcome.results if not r.ok]
    assert world.work.stage == target


def test_resume_returns_to_the_stage_it_left(world):
    bring_to(world, "tender")
    proposal = world.propose("suspend", justification="court injunction")
    assert world.apply(proposal.id).applied
    assert world.work.stage == "suspended"
    world.advance("resume")
    assert world.work.stage == "tender"


def test_suspend_needs_a_reason(world):
    bring_to(world, "technical_file")
    from lifecycle.errors import Invalid

    with pytest.raises(Invalid) as invalid:
        world.propose("suspend", justification="  ")
    assert invalid.value.field == "justification"


def test_transitions_cover_the_design_table():
    assert [t.trigger for t in TRANSITIONS] == [
        "approve_design", "publish_tender", "award", "sign_contract", "close", "declare_void",
        "terminate_contract", "amend", "suspend", "resume", "cancel"]
    assert spec_for("cancel").sources == tuple(s for s in STAGES
                                               if s not in ("closure", "cancelled"))
