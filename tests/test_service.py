"""Service commands: who may do what, one transaction per command, bad input named."""

from __future__ import annotations

import hashlib

import pytest

from lifecycle.audit.check import check_database
from lifecycle.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from lifecycle.service import Actor
from tests.conftest import SUPPLIER


def test_register_work_starts_in_design_and_is_logged(world):
    work = world.work
    assert (work.stage, work.version, work.code) == ("design", 1, "LAM-2026-001")
    entry = world.lc.history(world.work_id)[0]
    assert entry["type"] == "work.registered"
    assert entry["actor"] == {"id": world.official.id, "role": "official"}
    assert entry["data"]["reference_amount"] == "12500000.00"


def test_each_command_checks_role_entity_and_network(world):
    lc, wid = world.lc, world.work_id
    other_official = world.other_official()
    outsider = world.user("extrano", "member")
    auditor = world.user("contraloria", "auditor")
    rosa = world.members["rosa"]
    with pytest.raises(Forbidden):
        lc.attach_document(actor=other_official, work_id=wid, kind="feasibilityStudy",
                           title="t", filename="f.pdf", content=b"x")
    with pytest.raises(Forbidden):
        lc.register_work(actor=other_official, code="X-1", title="t",
                         entity_id=world.orgs["entity"], region="Lambayeque",
                         reference_amount="10.00")
    with pytest.raises(Forbidden):
        lc.open_proposal(actor=rosa, work_id=wid, trigger="approve_design", justification="")
    with pytest.raises(Forbidden):
        lc.create_network(actor=world.official, name="n", region="r")
    with pytest.raises(Forbidden):
        lc.file_observation(actor=auditor, work_id=wid, text="hello")
    proposal = world.propose("approve_design")
    with pytest.raises(Forbidden) as not_member:
        lc.record_signoff(actor=outsider, work_id=wid, proposal_id=proposal.id,
                          decision="approve")
    assert "not a member of the network" in not_member.value.message
    with pytest.raises(Forbidden):
        lc.apply_proposal(actor=other_official, work_id=wid, proposal_id=proposal.id)
    with pytest.raises(Forbidden):
        lc.record_signoff(actor=auditor, work_id=wid, proposal_id=proposal.id,
                          decision="approve")
    # Nothing of the refused commands reached the log.
    types = [e["type"] for e in lc.history(wid)]
    assert types == ["work.registered", "proposal.opened"]


def test_one_open_proposal_per_work_and_withdraw(world):
    proposal = world.propose("approve_design")
    with pytest.raises(Conflict):
        world.propose("cancel")
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=proposal.id)
    with pytest.raises(Conflict) as closed:
        world.sign(proposal.id, "rosa")
    assert "no longer open" in closed.value.message
    assert world.propose("cancel").id == 2


def test_documents_are_stored_by_sha256(world):
    content = b"%PDF-1.7 feasibility study of the Chiclayo-Ferrenafe road"
    work = world.attach("feasibilityStudy", content=content)
    document = work.documents[0]
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert b"".join(world.lc.blobs.chunks(document.sha256)) == content


def test_upload_limit_and_unknown_kind_are_named(world):
    world.lc.max_upload_bytes = 10
    with pytest.raises(Invalid) as too_big:
        world.attach("feasibilityStudy", content=b"x" * 11)
    assert too_big.value.field == "file"
    with pytest.raises(Invalid) as kind:
        world.attach("holidayPhotos")
    assert kind.value.field == "kind"
    assert world.work.documents == []


@pytest.mark.parametrize("field,kwargs", [
    ("reference_amount", {"reference_amount": 12.5}),
    ("reference_amount", {"reference_amount": "12,5"}),
    ("currency", {"currency": "soles"}),
    ("code", {"code": ""}),
])
def test_bad_work_input_names_the_field(world, field, kwargs):
    base = dict(code="LAM-2026-002", title="Puente", region="Lambayeque",
                reference_amount="100.00", currency="PEN")
    with pytest.raises(Invalid) as invalid:
        world.lc.register_work(actor=world.official, **{**base, **kwargs})
    assert invalid.value.field == field


def test_award_amount_must_be_a_decimal_string(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    with pytest.raises(Invalid) as invalid:
        world.propose("award", award={"supplier": SUPPLIER, "amount": 1.5, "bidders": 2})
    assert invalid.value.field == "award.amount"


def test_stale_if_match_is_refused(world):
    proposal = world.propose("approve_design")
    with pytest.raises(PreconditionFailed):
        world.lc.apply_proposal(actor=world.official, work_id=world.work_id,
                                proposal_id=proposal.id, if_match=world.work.version - 1)


def test_unknown_things_are_not_found(world):
    with pytest.raises(NotFound):
        world.lc.get_work(999)
    with pytest.raises(NotFound):
        world.sign(42, "rosa")


def test_a_crash_before_commit_leaves_nothing(world):
    lc = world.lc
    proposal = world.propose("approve_design")
    size_before, root_before = lc.log_head()
    work_before = world.work

    def crash(tx):
        assert tx.entries, "the entries were written before the crash"
        raise RuntimeError("power cut")

    lc.before_commit = crash
    with pytest.raises(RuntimeError):
        world.sign(proposal.id, "rosa")
    with pytest.raises(RuntimeError):
        world.attach("feasibilityStudy")
    lc.before_commit = None
    assert lc.log_head() == (size_before, root_before)
    assert world.work == work_before
    assert check_database(lc)[0] == []
    world.sign(proposal.id, "rosa")  # and the engine carries on from the same head
    assert check_database(lc)[0] == []


def test_tokens_are_stored_hashed(world):
    from sqlmodel import Session, select

    from lifecycle.db import User

    info, token = world.lc.create_user(actor=world.admin, username="nuevo", role="auditor")
    with Session(world.lc.engine) as session:
        row = session.exec(select(User).where(User.username == "nuevo")).one()
    assert token not in row.token_hash
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert world.lc.authenticate_token(token) == Actor(info.id, "nuevo", "auditor", None)
    assert world.lc.authenticate_token(token + "x") is None


def test_passwords_are_argon2(world):
    world.user("clave", "member", password="correct horse battery")
    from sqlmodel import Session, select

    from lifecycle.db import User

    with Session(world.lc.engine) as session:
        row = session.exec(select(User).where(User.username == "clave")).one()
    assert row.password_hash.startswith("$argon2")
    assert world.lc.authenticate_password("clave", "correct horse battery").username == "clave"
    assert world.lc.authenticate_password("clave", "wrong") is None


def test_stalled_report_uses_service_levels(world, clock):
    world.advance("approve_design", ("feasibilityStudy",))
    clock.advance(days=119)
    assert world.lc.stalled_report() == []
    clock.advance(days=2)
    report = world.lc.stalled_report()
    assert [(r["code"], r["stage"], r["days_overdue"]) for r in report] == [
        ("LAM-2026-001", "technical_file", 1)]
    page = world.lc.list_works(stalled=True)
    assert [w.code for w in page.works] == ["LAM-2026-001"]


def test_list_works_pages_with_a_cursor(world):
    for i in range(2, 7):
        world.lc.register_work(actor=world.official, code=f"LAM-2026-00{i}", title=f"Obra {i}",
                               region="Lambayeque",
                               reference_amount="100.00")
    first = world.lc.list_works(limit=4)
    second = world.lc.list_works(limit=4, cursor=first.next_cursor)
    codes = [w.code for w in first.works + second.works]
    assert codes == [f"LAM-2026-00{i}" for i in range(1, 7)]
    assert second.next_cursor is None
    with pytest.raises(Invalid):
        world.lc.list_works(cursor="not-a-cursor!")
