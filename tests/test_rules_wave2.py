"""The rules of DESIGN §3 marked (wave 2), each at its boundary, through the service (both
databases). The HTTP attacks are in tests/api/test_api_rules.py; the forged log entries in
tests/test_audit_forged.py."""

from __future__ import annotations

import pytest

from lifecycle.audit.check import check_database
from lifecycle.decide import MAX_SIGNOFFS_PER_MEMBER
from lifecycle.errors import Conflict, Forbidden, Invalid
from lifecycle.guards import GuardState, approval_tally
from lifecycle.organizations import normalize_name
from lifecycle.validation import ruc_is_valid
from tests.conftest import SUPPLIER

AWARD = {"supplier": SUPPLIER, "amount": "12000000.00", "bidders": 3}
CONSORTIUM_PARTNER = {"name": "Ingenieros Asociados del Norte S.R.L.", "tax_id": "20131312955"}


def failing(outcome) -> dict[str, str]:
    return {r.guard: r.message for r in outcome.results if not r.ok}


def to_tender(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))


def exclusions(world) -> dict[int, str | None]:
    """Why each current approval on the open proposal does not count (None: it counts)."""
    work = world.work
    state = GuardState(work, world.lc.get_network(work.network_id))
    return {t.signoff.user_id: t.excluded for t in approval_tally(state, work.open_proposal)}


def legal(world) -> None:
    """Every entry the service wrote is one replay judges legal, and replay == projections."""
    problems, _ = check_database(world.lc)
    assert problems == []


# ---------------------------------------------------------------- organizations
def test_ruc_check_digit():
    assert ruc_is_valid("20100070970")
    assert not ruc_is_valid("20100070971")  # last digit off by one
    assert not ruc_is_valid("2010007097")  # ten digits
    assert not ruc_is_valid("30100070970")  # no such prefix


def test_public_entities_and_companies_need_a_valid_unique_ruc(world):
    with pytest.raises(Invalid) as missing:
        world.organization("x", "Constructora Sin RUC", "company", "private_sector")
    assert missing.value.field == "tax_id"
    with pytest.raises(Invalid) as bad:
        world.organization("x", "Constructora", "company", "private_sector", "20100070971")
    assert bad.value.field == "tax_id"
    with pytest.raises(Conflict):  # the entity's RUC, its name written another way
        world.organization("x", "GOBIERNO REGIONAL DE LAMBAYEQUE", "public_entity",
                           "government", "20479569861")
    with pytest.raises(Invalid) as sector:
        world.organization("x", "Municipalidad", "public_entity", "civil_society",
                           "20148445061")
    assert sector.value.field == "sector"


def test_names_are_compared_only_after_normalization_and_only_to_warn(world):
    assert normalize_name("Constructora Andina S.A.C.") == \
        normalize_name("CONSTRUCTORA  ANDINA SAC")
    world.organization("twin", "MESA DE CONCERTACION DE MUJERES", "ngo", "civil_society")
    duplicates = {o.id for o in world.lc.likely_duplicates("Mesa de Concertación de Mujeres")}
    assert duplicates == {world.orgs["mesa"], world.orgs["twin"]}
    assert [o.id for o in world.lc.list_organizations("concertacion")] == [
        world.orgs["mesa"], world.orgs["twin"]]


def test_a_member_takes_the_sector_of_their_organization(world):
    """The same organization in three sectors: refused, one organization has one sector."""
    person = world.user("camila", "member")
    with pytest.raises(Invalid) as invalid:
        world.lc.add_member(actor=world.admin, network_id=world.network_id, user_id=person.id,
                            organization_id=world.orgs["mesa"], sector="academia")
    assert invalid.value.field == "sector"


def test_one_counted_approval_per_organization(world):
    world.member("rosa2", "mesa")
    world.member("rosa3", "mesa")
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "rosa2", "rosa3")
    assert failing(world.apply(proposal.id)) == {
        "quorum": "1 of 3 approvals; approvals from 1 of 2 sectors"}
    assert exclusions(world)[world.members["rosa2"].id] == \
        "another approval of the same organization counts"
    world.sign(proposal.id, "jorge", "ana")
    assert world.apply(proposal.id).applied
    legal(world)


def test_the_entitys_own_member_is_excluded_by_id_not_by_name(world):
    # carmen sits for the entity itself (the same organization id): she never counts.
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "carmen")
    assert failing(world.apply(proposal.id)) == {"quorum": "2 of 3 approvals"}


def test_a_person_is_never_official_and_member_of_the_same_network(world):
    world.member("dni.member", "mesa", person_id="41234567")
    with pytest.raises(Conflict) as both:
        world.user("dni.official", "official", world.orgs["entity"], person_id="41234567")
    assert both.value.errors[0]["field"] == "person_id"
    second = world.user("dni.member2", "member", person_id="41234567")
    with pytest.raises(Conflict):  # one member account per person per network
        world.lc.add_member(actor=world.admin, network_id=world.network_id, user_id=second.id,
                            organization_id=world.orgs["camara"])


def test_the_works_network_is_its_regions_network(world):
    other = world.lc.create_network(actor=world.admin, name="Red Piura", regions=["Piura"])
    with pytest.raises(Invalid) as chosen:
        world.lc.register_work(actor=world.official, code="LAM-9", title="Obra",
                               region="Lambayeque", reference_amount="100.00",
                               network_id=other.id)
    assert chosen.value.field == "network_id"
    with pytest.raises(Conflict):  # a region is overseen by one network only
        world.lc.create_network(actor=world.admin, name="Red 2", regions=["Lambayeque"])
    work = world.lc.register_work(actor=world.official, code="PIU-1", title="Obra",
                                  region="Piura", reference_amount="100.00")
    assert work.network_id == other.id


# ---------------------------------------------------------------- supplier and consortium
def awarded(world, award=AWARD):
    to_tender(world)
    world.attach("evaluationReports")
    world.clock.advance(days=15)
    return world.advance("award", award=award)


def test_the_contractors_staff_never_count_from_the_award_on(world):
    world.organization("supplier", SUPPLIER["name"], "company", "private_sector",
                       SUPPLIER["tax_id"])
    world.member("ing.obra", "supplier")
    awarded(world)
    for trigger, kind in (("sign_contract", "contractSigned"),
                          ("close", "completionCertificate")):
        world.prepare(trigger)
        world.attach(kind)
        proposal = world.propose(trigger)
        world.sign(proposal.id, "rosa", "ing.obra", "ana")
        assert failing(world.apply(proposal.id)) == {"quorum": "2 of 3 approvals"}, trigger
        assert exclusions(world)[world.members["ing.obra"].id] == \
            "works for the awarded supplier or a consortium member"
        world.sign(proposal.id, "luis")
        assert world.apply(proposal.id).applied
    legal(world)


def test_every_consortium_member_is_excluded(world):
    world.organization("partner", CONSORTIUM_PARTNER["name"], "company", "private_sector",
                       CONSORTIUM_PARTNER["tax_id"])
    world.member("socio", "partner")
    awarded(world, dict(AWARD, consortium=[CONSORTIUM_PARTNER]))
    assert world.orgs["partner"] in world.work.excluded_organizations
    world.prepare("sign_contract")
    world.attach("contractSigned")
    proposal = world.propose("sign_contract")
    world.sign(proposal.id, "rosa", "socio", "ana")
    assert failing(world.apply(proposal.id)) == {"quorum": "2 of 3 approvals"}


def test_a_new_supplier_and_a_new_partner_registered_by_one_award_get_two_ids(world):
    # Neither is registered yet: the award registers both in its one transaction.
    awarded(world, dict(AWARD, consortium=[CONSORTIUM_PARTNER]))
    award = world.work.award
    assert award["supplier_id"] != award["consortium_ids"][0]
    assert world.lc.get_organization(award["supplier_id"]).tax_id == SUPPLIER["tax_id"]
    assert world.lc.get_organization(award["consortium_ids"][0]).tax_id == \
        CONSORTIUM_PARTNER["tax_id"]
    assert award["consortium_ids"][0] in world.work.excluded_organizations
    legal(world)


def test_a_new_supplier_is_registered_by_its_ruc_and_found_again(world):
    awarded(world)
    supplier_id = world.work.award["supplier_id"]
    assert world.lc.get_organization(supplier_id).tax_id == SUPPLIER["tax_id"]
    assert [o.id for o in world.lc.list_organizations(SUPPLIER["tax_id"])] == [supplier_id]
    legal(world)


# ---------------------------------------------------------------- policy
def test_policy_floors_are_refused_naming_the_field(world):
    for field, value in (("min_approvals", 1), ("min_sectors", 1), ("min_tender_days", 7),
                         ("award_tolerance_pct", 11), ("low_tolerance_pct", 11),
                         ("required_sectors", ["academia"])):
        with pytest.raises(Invalid) as below:
            world.lc.set_policy(actor=world.admin, network_id=world.network_id,
                                **{field: value})
        assert below.value.field == field
    world.lc.set_policy(actor=world.admin, network_id=world.network_id, min_approvals=2,
                        min_tender_days=8)  # exactly the floors


def test_a_quorum_lowered_after_opening_does_not_apply(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")  # pins min_approvals 3
    world.lc.set_policy(actor=world.admin, network_id=world.network_id, min_approvals=2)
    world.sign(proposal.id, "rosa", "jorge")
    assert failing(world.apply(proposal.id)) == {"quorum": "2 of 3 approvals"}
    world.lc.set_policy(actor=world.admin, network_id=world.network_id, min_approvals=4)
    world.sign(proposal.id, "ana")  # raised after opening: the stricter (current) holds
    assert failing(world.apply(proposal.id)) == {"quorum": "3 of 4 approvals"}
    world.sign(proposal.id, "luis")
    assert world.apply(proposal.id).applied
    legal(world)


def test_policy_changes_appear_in_every_works_history(world):
    world.lc.set_policy(actor=world.admin, network_id=world.network_id, min_approvals=4)
    types = [e["type"] for e in world.lc.history(world.work_id)]
    assert types == ["work.registered", "policy.set"]


# ---------------------------------------------------------------- blocks
def test_withdraw_and_reopen_carries_the_block_over(world):
    world.attach("feasibilityStudy")
    first = world.propose("approve_design")
    world.sign(first.id, "luis", decision="block", reason="Falta el estudio de suelos")
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=first.id)
    second = world.propose("approve_design")
    world.sign(second.id, "rosa", "jorge", "ana")
    assert "blocked by luis" in failing(world.apply(second.id))["blocks"]
    world.sign(second.id, "luis", decision="withdraw", reason="Ya se adjuntó")
    assert world.apply(second.id).applied
    legal(world)


def test_a_departed_members_block_is_lifted_only_by_an_overrule(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el estudio de suelos")
    world.lc.remove_member(actor=world.admin, network_id=world.network_id,
                           user_id=world.members["luis"].id)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert "blocks" in failing(world.apply(proposal.id))
    overrule = dict(actor=world.official, work_id=world.work_id, proposal_id=proposal.id,
                    user_id=world.members["luis"].id, reason="La autora dejó la red")
    with pytest.raises(Conflict) as short:  # quorum 3 + 2 = 5 counted approvals
        world.lc.overrule_block(**overrule)
    assert "needs 5 counted approvals; 3 so far" in short.value.message
    for name, org in (("sofia", "ngo1"), ("pedro", "ngo2")):
        world.organization(org, f"Colectivo {name}", "ngo", "civil_society")
    with pytest.raises(Invalid):
        world.lc.overrule_block(**dict(overrule, reason=" "))
    # Members who joined after opening do not count towards the overrule either.
    world.member("sofia", "ngo1")
    world.sign(proposal.id, "sofia")
    with pytest.raises(Conflict):
        world.lc.overrule_block(**overrule)
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=proposal.id)
    world.member("pedro", "ngo2")
    again = world.propose("approve_design")  # luis's block carried over
    world.sign(again.id, "rosa", "jorge", "ana", "sofia", "pedro")
    assert "blocks" in failing(world.apply(again.id))
    world.lc.overrule_block(**dict(overrule, proposal_id=again.id))
    outcome = world.apply(again.id)
    assert outcome.applied
    assert [g for g in outcome.entry["data"]["guards"] if g["guard"] == "blocks"][0][
        "message"] == "no standing block (1 overruled)"
    legal(world)


def test_a_standing_members_block_cannot_be_overruled(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el estudio")
    with pytest.raises(Conflict) as standing:
        world.lc.overrule_block(actor=world.official, work_id=world.work_id,
                                proposal_id=proposal.id, user_id=world.members["luis"].id,
                                reason="Queremos avanzar")
    assert "still a member" in standing.value.message


# ---------------------------------------------------------------- eligibility
def test_leave_and_rejoin_never_revives_an_earlier_approval(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    rosa = world.members["rosa"]
    world.lc.remove_member(actor=world.admin, network_id=world.network_id, user_id=rosa.id)
    world.lc.add_member(actor=world.admin, network_id=world.network_id, user_id=rosa.id,
                        organization_id=world.orgs["mesa"])
    outcome = world.apply(proposal.id)
    assert failing(outcome)["quorum"].startswith("2 of 3 approvals")
    world.sign(proposal.id, "rosa")  # a new approval under the new membership: still not
    assert failing(world.apply(proposal.id))["quorum"].startswith("2 of 3 approvals")
    legal(world)


def test_members_added_after_opening_do_not_count(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.organization("ngo", "Colectivo Nuevo", "ngo", "civil_society")
    world.member("nueva", "ngo")
    world.sign(proposal.id, "nueva", "jorge", "ana")
    assert failing(world.apply(proposal.id))["quorum"].startswith("2 of 3 approvals")


# ---------------------------------------------------------------- the dossier
def test_an_observation_filed_or_answered_makes_approvals_stale(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="Falta el estudio de tráfico")
    assert failing(world.apply(proposal.id))["quorum"].startswith("0 of 3")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Adjunto en el anexo 2")
    assert failing(world.apply(proposal.id))["quorum"].startswith("0 of 3")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied


def test_answers_are_accepted_or_rejected_by_the_observations_author_only(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="Faltan los tramos 3 a 5")
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Ver anexo 4")
    with pytest.raises(Forbidden):
        world.lc.judge_answer(actor=world.members["rosa"], work_id=world.work_id,
                              observation_id=1, accept=True)
    with pytest.raises(Invalid) as no_reason:
        world.lc.judge_answer(actor=world.members["luis"], work_id=world.work_id,
                              observation_id=1, accept=False)
    assert no_reason.value.field == "reason"
    world.lc.judge_answer(actor=world.members["luis"], work_id=world.work_id,
                          observation_id=1, accept=False, reason="El anexo no los incluye")
    for kind in ("technicalSpecifications", "budgetApproval"):
        world.attach(kind)
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "observations_answered": "1 observation(s) unanswered or answer rejected: #1"}
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Se adjuntan los tramos 3 a 5")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied
    legal(world)


def test_each_required_kind_is_a_distinct_file(world):
    world.advance("approve_design", ("feasibilityStudy",))
    same = b"%PDF one file for two kinds"
    world.attach("technicalSpecifications", content=same)
    world.attach("budgetApproval", content=same)
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "documents": "missing in this stage: budgetApproval"}


def test_identical_bytes_re_attached_after_a_void_do_not_count(world):
    world.advance("approve_design", ("feasibilityStudy",))
    specs, budget = b"%PDF specs v1", b"%PDF budget v1"
    world.attach("technicalSpecifications", content=specs)
    world.attach("budgetApproval", content=budget)
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied
    world.clock.advance(days=15)
    world.advance("declare_void", ("evaluationReports",))
    world.attach("technicalSpecifications", content=specs)
    world.attach("budgetApproval", content=b"%PDF budget v2")
    again = world.propose("publish_tender")
    world.sign(again.id, "rosa", "jorge", "ana")
    assert failing(world.apply(again.id)) == {
        "documents": "missing in this stage: technicalSpecifications"}
    world.attach("technicalSpecifications", content=b"%PDF specs v2")
    world.sign(again.id, "rosa", "jorge", "ana")
    assert world.apply(again.id).applied


def test_documents_attached_while_suspended_do_not_count(world):
    world.advance("approve_design", ("feasibilityStudy",))
    suspend = world.propose("suspend", justification="Falta disponibilidad presupuestal")
    assert world.apply(suspend.id).applied
    world.attach("technicalSpecifications")
    world.attach("budgetApproval")
    world.advance("resume")
    proposal = world.propose("publish_tender")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "documents": "missing in this stage: technicalSpecifications, budgetApproval"}


# ---------------------------------------------------------------- time
def test_a_void_needs_the_tender_period(world):
    to_tender(world)
    world.attach("evaluationReports")
    proposal = world.propose("declare_void")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert set(failing(world.apply(proposal.id))) == {"tender_period"}
    world.clock.advance(days=15)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied


def test_suspended_days_do_not_count_towards_the_tender_period(world):
    to_tender(world)
    world.clock.advance(days=2)
    suspend = world.propose("suspend", justification="Medida cautelar")
    assert world.apply(suspend.id).applied
    world.clock.advance(days=20)
    world.advance("resume")
    world.attach("evaluationReports")
    world.prepare("award")
    proposal = world.propose("award", award=AWARD)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "tender_period": "2 of 15 days since the tender opened"}
    world.clock.advance(days=13)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied


def test_suspend_and_resume_do_not_reset_the_overdue_clock(world):
    world.clock.advance(days=181)  # design's level is 180 days
    assert [r["code"] for r in world.lc.stalled_report()] == ["LAM-2026-001"]
    world.advance("approve_design", ("feasibilityStudy",))
    world.clock.advance(days=121)  # technical_file: 120
    suspend = world.propose("suspend", justification="Revisión")
    assert world.apply(suspend.id).applied
    world.advance("resume")
    report = world.lc.stalled_report()
    assert [(r["stage"], r["days_overdue"]) for r in report] == [("technical_file", 1)]


def test_the_log_time_never_runs_backwards(world):
    before = world.lc.history(world.work_id)[-1]["at"]
    world.clock.advance(hours=-5)
    world.attach("feasibilityStudy")
    after = world.lc.history(world.work_id)[-1]["at"]
    assert after == before  # clamped to the previous entry's time
    legal(world)


# ---------------------------------------------------------------- amounts
def test_a_low_amount_is_a_red_flag_and_zero_is_refused(world):
    to_tender(world)
    world.attach("evaluationReports")
    world.clock.advance(days=15)
    world.prepare("award")
    with pytest.raises(Invalid) as zero:
        world.propose("award", award=dict(AWARD, amount="0.00"))
    assert zero.value.field == "award.amount"
    with pytest.raises(Invalid):
        world.lc.register_work(actor=world.official, code="LAM-0", title="Obra",
                               region="Lambayeque", reference_amount="0")
    low = world.propose("award", award=dict(AWARD, amount="11249999.99"))  # 90% is 11250000
    assert low.red_flags == ["amount_below_reference"]
    world.sign(low.id, "rosa", "jorge", "ana")
    assert failing(world.apply(low.id))["quorum"].startswith(
        "3 of 4 approvals (raised by red flags: amount_below_reference)")
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=low.id)
    assert world.propose("award", award=dict(AWARD, amount="11250000.00")).red_flags == []


# ---------------------------------------------------------------- bounds
def test_sign_offs_per_member_and_proposal_are_bounded(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    for n in range(MAX_SIGNOFFS_PER_MEMBER):
        world.sign(proposal.id, "rosa", decision="approve" if n % 2 else "withdraw")
    with pytest.raises(Conflict) as bounded:
        world.sign(proposal.id, "rosa")
    assert f"at most {MAX_SIGNOFFS_PER_MEMBER}" in bounded.value.message
    world.sign(proposal.id, "jorge")  # others still can


# ---------------------------------------------------------------- input
@pytest.mark.parametrize("bad", ["a\x00b", "a\x7fb", "a\x85b", "a\x9fb", "a\ud800b", "a\x1bb"])
def test_control_characters_and_lone_surrogates_are_refused_naming_the_field(world, bad):
    with pytest.raises(Invalid) as invalid:
        world.lc.file_observation(actor=world.members["rosa"], work_id=world.work_id, text=bad)
    assert invalid.value.field == "text"


def test_text_is_stored_in_nfc(world):
    nfd = "Ferren\u0303afe"  # n + combining tilde
    work = world.lc.register_work(actor=world.official, code="LAM-NFD", title=nfd,
                                  region="Lambayeque", reference_amount="10.00")
    assert work.title == "Ferre\u00f1afe"
    world.lc.file_observation(actor=world.members["rosa"], work_id=work.id,
                              text="l\u00ednea 1\n\tl\u0131\u0301nea 2")
    assert "\n\t" in world.lc.get_work(work.id).observations[0].text
    legal(world)


def test_observations_filed_during_the_tender_are_answered_before_the_award(world):
    to_tender(world)
    world.attach("evaluationReports")
    world.clock.advance(days=15)
    world.prepare("award")
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="El acta de evaluación no está firmada por el comité")
    proposal = world.propose("award", award=AWARD)
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert failing(world.apply(proposal.id)) == {
        "tender_observations": "1 observation(s) filed during the tender unanswered or "
                               "answer rejected: #1"}
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Se adjunta el acta firmada")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied
    legal(world)
