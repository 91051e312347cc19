"""Forged entries written past the service by the operator, who then re-signs the log with
the operator's own key: the bundle verifies, and replay names each forged entry by its
number, with the rule the live service would have refused it by (DESIGN §4, "Replay")."""

from __future__ import annotations

import json

import pytest
from tests.test_audit_export import published_key
from tests.test_audit_tamper import lines_of, rechain, sign_bundle, write_lines

from lifecycle.audit.export import export_bundle
from lifecycle.audit.replay import replay_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.log.canonical import encode
from lifecycle.log.merkle import leaf_hash
from lifecycle.log.note import load_signer


def forge(world, tmp_path, type_: str, actor: dict, data: dict, *, at: str | None = None,
          before=None) -> tuple[int, list[str]]:
    """Export the log, append one forged entry, re-sign; return its number and what replay
    reports."""
    if before is not None:
        before()
    bundle_dir = tmp_path / "bundle"
    export_bundle(world.lc, bundle_dir)
    lines = lines_of(bundle_dir)
    k = len(lines)
    last = json.loads(lines[-1])
    forged = {"v": 1, "seq": k, "prev": leaf_hash(lines[-1]).hex(), "at": at or last["at"],
              "type": type_, "actor": actor, "data": data}
    write_lines(bundle_dir, lines + [encode(forged)])
    sign_bundle(bundle_dir, load_signer(world.lc.data_dir))
    assert verify_bundle(bundle_dir, published_key(world)).ok  # chain and signature are fine
    report = replay_bundle(bundle_dir, vkey=published_key(world))
    assert report.problem is None and not report.ok
    return k, [str(i) for i in report.illegal]


def admin(world) -> dict:
    return {"id": world.admin.id, "role": "admin"}


def as_member(world, name: str) -> dict:
    return {"id": world.members[name].id, "role": "member"}


def official(world) -> dict:
    return {"id": world.official.id, "role": "official"}


def test_the_untouched_log_replays_as_legal(world, tmp_path):
    world.advance("approve_design", ("feasibilityStudy",))
    export_bundle(world.lc, tmp_path / "bundle")
    report = replay_bundle(tmp_path / "bundle", vkey=published_key(world))
    assert report.ok, [str(i) for i in report.illegal]


def test_an_official_made_member(world, tmp_path):
    k, illegal = forge(world, tmp_path, "member.joined", admin(world), {
        "network_id": world.network_id, "user_id": world.official.id, "username": "oficial",
        "organization_id": world.orgs["mesa"], "organization": "Mesa", "sector":
        "civil_society", "constituencies": []})
    assert f"entry {k}: member.joined not allowed: user_id: user oficial has the role " \
           "official, not member" in illegal


def test_a_signoff_by_someone_never_registered(world, tmp_path):
    proposal = world.propose("approve_design")
    k, illegal = forge(world, tmp_path, "signoff.recorded", {"id": 999, "role": "member"}, {
        "work_id": world.work_id, "proposal_id": proposal.id, "decision": "approve"})
    assert illegal == [f"entry {k}: signoff.recorded not allowed: permission: user 999 was "
                       "never registered"]


def test_a_signoff_by_the_proposer(world, tmp_path):
    proposal = world.propose("approve_design")
    k, illegal = forge(world, tmp_path, "signoff.recorded", official(world), {
        "work_id": world.work_id, "proposal_id": proposal.id, "decision": "approve"})
    assert illegal == [f"entry {k}: signoff.recorded not allowed: permission: this needs the "
                       "role member; you are official"]


def test_a_policy_under_the_floors(world, tmp_path):
    policy = world.lc.get_network(world.network_id).policy.settings()
    k, illegal = forge(world, tmp_path, "policy.set", admin(world), {
        "network_id": world.network_id, "version": 2, "policy": dict(policy, min_approvals=1)})
    assert illegal == [f"entry {k}: policy.set not allowed: min_approvals: must be at least 2"]


def test_a_policy_set_by_an_official(world, tmp_path):
    policy = world.lc.get_network(world.network_id).policy.settings()
    k, illegal = forge(world, tmp_path, "policy.set", official(world), {
        "network_id": world.network_id, "version": 2, "policy": policy})
    assert illegal == [f"entry {k}: policy.set not allowed: permission: this needs the role "
                       "admin; you are official"]


def test_a_duplicate_registration(world, tmp_path):
    k, illegal = forge(world, tmp_path, "user.registered", admin(world), {
        "user_id": world.members["rosa"].id, "username": "rosa", "role": "member",
        "entity": None})
    assert f"entry {k}: user.registered not allowed: user: user " \
           f"{world.members['rosa'].id} is registered twice" in illegal
    assert f"entry {k}: user.registered not allowed: username: username 'rosa' is taken" \
        in illegal


def test_a_duplicate_ruc(world, tmp_path):
    k, illegal = forge(world, tmp_path, "organization.registered", admin(world), {
        "organization_id": 99, "name": "Gob. Reg. Lambayeque", "kind": "public_entity",
        "sector": "government", "tax_id": "20479569861"})
    assert illegal == [f"entry {k}: organization.registered not allowed: tax_id: RUC "
                       "20479569861 is already registered as organization "
                       f"{world.orgs['entity']} (Gobierno Regional de Lambayeque)"]


def test_a_back_dated_signoff(world, tmp_path):
    """Time running backwards is an integrity problem: verify and replay both name the entry
    (replay judges nothing past it)."""
    proposal = world.propose("approve_design")
    bundle_dir = tmp_path / "bundle"
    export_bundle(world.lc, bundle_dir)
    lines = lines_of(bundle_dir)
    k = len(lines)
    last = json.loads(lines[-1])
    forged = {"v": 1, "seq": k, "prev": leaf_hash(lines[-1]).hex(),
              "at": "2020-01-01T00:00:00.000000Z", "type": "signoff.recorded",
              "actor": as_member(world, "rosa"),
              "data": {"work_id": world.work_id, "proposal_id": proposal.id,
                       "decision": "approve"}}
    write_lines(bundle_dir, lines + [encode(forged)])
    sign_bundle(bundle_dir, load_signer(world.lc.data_dir))
    expected = (f"entry {k}: at 2020-01-01T00:00:00.000000Z is earlier than entry {k - 1}'s "
                f"{last['at']}: the log's time runs backwards")
    verified = verify_bundle(bundle_dir, published_key(world))
    assert not verified.ok and verified.problem == expected
    assert replay_bundle(bundle_dir, vkey=published_key(world)).problem == expected


def test_time_running_backwards_across_chunks_is_found(world, tmp_path, monkeypatch):
    """The same check where the two entries fall in different chunks (verified apart)."""
    from lifecycle.audit import verify

    monkeypatch.setattr(verify, "CHUNK", 4)
    world.attach("feasibilityStudy")
    bundle_dir = tmp_path / "bundle"
    export_bundle(world.lc, bundle_dir)
    lines = lines_of(bundle_dir)
    k = 8  # the first entry of the third chunk
    entry = json.loads(lines[k])
    entry["at"] = "2020-01-01T00:00:00.000000Z"
    lines[k] = encode(entry)
    write_lines(bundle_dir, rechain(lines, k))
    sign_bundle(bundle_dir, load_signer(world.lc.data_dir))
    problem = verify_bundle(bundle_dir, published_key(world), workers=1).problem
    assert problem.startswith(f"entry {k}: at 2020-01-01T00:00:00.000000Z is earlier than "
                              f"entry {k - 1}'s ")


def test_an_answer_by_a_non_official(world, tmp_path):
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="Falta el estudio de suelos")
    k, illegal = forge(world, tmp_path, "observation.answered", as_member(world, "rosa"), {
        "work_id": world.work_id, "observation_id": 1, "text": "Respondido"})
    assert illegal == [f"entry {k}: observation.answered not allowed: permission: this needs "
                       "the role official; you are member"]


def test_an_answer_rejected_by_someone_else_than_its_author(world, tmp_path):
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="Falta el estudio de suelos")
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Adjunto")
    k, illegal = forge(world, tmp_path, "observation.rejected", as_member(world, "rosa"), {
        "work_id": world.work_id, "observation_id": 1, "reason": "no"})
    assert illegal == [f"entry {k}: observation.rejected not allowed: permission: only the "
                       "observation's author accepts or rejects its answer"]


def test_a_transition_whose_recorded_verdicts_say_failed(world, tmp_path):
    """The guards all hold, but the operator rewrote the verdicts it shows the public."""
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    verdicts = [r.as_dict() for r in world.lc.dry_run(world.work)]
    verdicts[1] = dict(verdicts[1], ok=False, message="0 of 3 approvals")
    k, illegal = forge(world, tmp_path, "transition.applied", official(world), {
        "work_id": world.work_id, "proposal_id": proposal.id, "trigger": "approve_design",
        "from": "design", "to": "technical_file", "guards": verdicts})
    assert illegal == [f"entry {k}: approve_design of work {world.work_id} not allowed: "
                       "verdicts: the recorded verdicts differ from the recomputed ones"]


def test_a_refusal_that_the_guards_did_not_give(world, tmp_path):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    verdicts = [r.as_dict() for r in world.lc.dry_run(world.work)]
    k, illegal = forge(world, tmp_path, "transition.refused", official(world), {
        "work_id": world.work_id, "proposal_id": proposal.id, "trigger": "approve_design",
        "stage": "design", "guards": verdicts})
    assert illegal == [f"entry {k}: transition.refused not allowed: verdicts: every guard "
                       "holds: the change was not refused by them"]


@pytest.mark.parametrize("case", ["work_of_another_region", "approval_after_leaving"])
def test_more_forged_entries(world, tmp_path, case):
    if case == "work_of_another_region":
        other = world.lc.create_network(actor=world.admin, name="Red Piura", regions=["Piura"])
        k, illegal = forge(world, tmp_path, "work.registered", official(world), {
            "work_id": 2, "code": "X-2", "title": "Obra", "entity": "GR",
            "entity_id": world.orgs["entity"], "region": "Lambayeque",
            "network_id": other.id, "reference_amount": "10.00", "currency": "PEN"})
        assert illegal == [f"entry {k}: work.registered not allowed: network_id: works of "
                           f"Lambayeque are overseen by network {world.network_id} "
                           "(Red de Integridad Lambayeque)"]
    else:
        proposal = world.propose("approve_design")
        world.lc.remove_member(actor=world.admin, network_id=world.network_id,
                               user_id=world.members["rosa"].id)
        k, illegal = forge(world, tmp_path, "signoff.recorded", as_member(world, "rosa"), {
            "work_id": world.work_id, "proposal_id": proposal.id, "decision": "approve"})
        assert illegal == [f"entry {k}: signoff.recorded not allowed: permission: you are not "
                           "a member of the network Red de Integridad Lambayeque that "
                           "oversees work LAM-2026-001"]


def test_an_organization_given_another_ones_ruc(world, tmp_path):
    k, illegal = forge(world, tmp_path, "organization.updated", admin(world), {
        "organization_id": world.orgs["mesa"], "changes": {"tax_id": "20479569861"}})
    assert illegal == [f"entry {k}: organization.updated not allowed: tax_id: RUC 20479569861 "
                       f"is already registered as organization {world.orgs['entity']} "
                       "(Gobierno Regional de Lambayeque)"]


def _forged_by_type(world):
    """For each remaining entry type: (set-up, actor, data, expected rule: message)."""
    w, net = world.work_id, world.network_id
    member, outsider = as_member(world, "rosa"), official(world)

    def observation_answered():
        world.lc.file_observation(actor=world.members["luis"], work_id=w, text="x")
        world.lc.answer_observation(actor=world.official, work_id=w, observation_id=1, text="y")

    def proposal_open():
        world.propose("approve_design")

    return {
        "network.created": (None, outsider, {"network_id": 9, "name": "Red", "region": "Piura",
                                             "regions": ["Piura"]},
                            "permission: this needs the role admin; you are official"),
        "member.left": (None, outsider, {"network_id": net, "user_id": world.members["ana"].id},
                        "permission: this needs the role admin; you are official"),
        "document.attached": (None, member, {
            "work_id": w, "document_id": 1, "kind": "feasibilityStudy", "title": "t",
            "filename": "f.pdf", "media_type": "application/pdf", "sha256": "0" * 64,
            "size": 1}, "permission: this needs the role official; you are member"),
        "observation.filed": (None, outsider, {"work_id": w, "observation_id": 1, "text": "x"},
                              "permission: this needs the role member; you are official"),
        "observation.accepted": (observation_answered, member, {"work_id": w,
                                                                "observation_id": 1},
                                 "permission: only the observation's author accepts or "
                                 "rejects its answer"),
        "conflict.declared": (None, outsider, {"work_id": w, "statement": "x"},
                              "permission: this needs the role member; you are official"),
        "proposal.opened": (None, member, {"work_id": w, "proposal_id": 1,
                                           "trigger": "approve_design", "justification": "x",
                                           "red_flags": []},
                            "permission: this needs the role official; you are member"),
        "proposal.withdrawn": (proposal_open, member, {"work_id": w, "proposal_id": 1},
                               "permission: this needs the role official; you are member"),
        "block.overruled": (proposal_open, outsider, {"work_id": w, "proposal_id": 1,
                                                      "user_id": world.members["ana"].id,
                                                      "reason": "x"},
                            f"block: user {world.members['ana'].id} has no standing block on "
                            "this proposal"),
    }


@pytest.mark.parametrize("type_", ["network.created", "member.left", "document.attached",
                                   "observation.filed", "observation.accepted",
                                   "conflict.declared", "proposal.opened", "proposal.withdrawn",
                                   "block.overruled"])
def test_one_forged_entry_of_each_remaining_type(world, tmp_path, type_):
    before, actor, data, expected = _forged_by_type(world)[type_]
    k, illegal = forge(world, tmp_path, type_, actor, data, before=before)
    assert f"entry {k}: {type_} not allowed: {expected}" in illegal, illegal
