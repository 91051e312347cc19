"""Tampered bundles: each is caught, at the right entry and for the right reason.

The bundles come from a real engine history (the `world` fixture, then export). The attacker
edits the files; where the case says so, the attacker is the operator and holds the signing key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.test_audit_export import bundle, published_key, run_history  # noqa: F401 (fixture)

from lifecycle.audit.export import export_bundle
from lifecycle.audit.replay import replay_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.guards import GuardResult
from lifecycle.log.canonical import encode
from lifecycle.log.merkle import StreamingRoot, leaf_hash
from lifecycle.log.note import Signer, checkpoint_body, format_vkey, load_signer


def lines_of(bundle_dir: Path) -> list[bytes]:
    data = (bundle_dir / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def write_lines(bundle_dir: Path, lines: list[bytes]) -> None:
    (bundle_dir / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def sign_bundle(bundle_dir: Path, signer: Signer) -> None:
    """Re-sign the bundle as it now stands, and make its manifest agree (what an operator
    holding the key, or an attacker with their own key, would do)."""
    tree = StreamingRoot()
    for line in lines_of(bundle_dir):
        tree.add(leaf_hash(line))
    (bundle_dir / "checkpoint").write_text(
        signer.sign(checkpoint_body(signer.origin, tree.size, tree.root())))
    manifest = json.loads((bundle_dir / "MANIFEST.json").read_text())
    manifest.update(size=tree.size, root=tree.root().hex())
    (bundle_dir / "MANIFEST.json").write_text(json.dumps(manifest))


def rechain(lines: list[bytes], start: int) -> list[bytes]:
    """Recompute every prev from entry `start` on, so the chain is whole again."""
    lines = list(lines)
    for seq in range(start, len(lines)):
        entry = json.loads(lines[seq])
        entry["prev"] = leaf_hash(lines[seq - 1]).hex() if seq else "0" * 64
        lines[seq] = encode(entry)
    return lines


def index_of(lines: list[bytes], type_: str, **data) -> int:
    """The first entry of that type whose data has those values."""
    for seq, line in enumerate(lines):
        entry = json.loads(line)
        if entry["type"] == type_ and all(entry["data"].get(k) == v for k, v in data.items()):
            return seq
    raise AssertionError(f"no {type_} entry with {data}")


def problem(bundle_dir: Path, world, **options) -> str:
    result = verify_bundle(bundle_dir, published_key(world), **options)
    assert not result.ok
    return result.problem


def test_the_untouched_bundle_verifies(world, bundle):
    assert verify_bundle(bundle, published_key(world)).ok


def test_one_byte_changed_inside_an_entry(world, bundle):
    lines = lines_of(bundle)
    k = index_of(lines, "work.registered")
    lines[k] = lines[k].replace(b"Chiclayo", b"Chiclayx")
    write_lines(bundle, lines)
    assert problem(bundle, world) == (f"entry {k + 1}: prev does not match the hash of entry {k} "
                                      f"(entry {k} was altered, or this prev was)")


def test_one_byte_that_breaks_the_json(world, bundle):
    lines = lines_of(bundle)
    k = 9
    lines[k] = b"[" + lines[k][1:]
    write_lines(bundle, lines)
    assert problem(bundle, world).startswith(f"entry {k}: invalid JSON: ")


def test_a_field_changed_and_reencoded_canonically(world, bundle):
    lines = lines_of(bundle)
    k = index_of(lines, "signoff.recorded", decision="block")  # luis's block of the award
    entry = json.loads(lines[k])
    entry["data"] = {**entry["data"], "decision": "approve"}
    del entry["data"]["reason"]
    lines[k] = encode(entry)
    write_lines(bundle, lines)
    assert problem(bundle, world) == (f"entry {k + 1}: prev does not match the hash of entry {k} "
                                      f"(entry {k} was altered, or this prev was)")


def test_a_space_added(world, bundle):
    lines = lines_of(bundle)
    k = 12
    at = lines[k].index(b'"seq":') + len(b'"seq":')
    lines[k] = lines[k][:at] + b" " + lines[k][at:]
    write_lines(bundle, lines)
    assert problem(bundle, world) == (f"entry {k}: not canonical (RFC 8785): byte {at} is b' ', "
                                      f"the canonical form has {bytes([lines[k][at + 1]])!r}")


def test_an_entry_deleted(world, bundle):
    lines = lines_of(bundle)
    k = 17
    del lines[k]
    write_lines(bundle, lines)
    assert problem(bundle, world) == f"entry {k}: seq is {k + 1}, expected {k} (its line number)"


def test_two_entries_swapped(world, bundle):
    lines = lines_of(bundle)
    k = 20
    lines[k], lines[k + 1] = lines[k + 1], lines[k]
    write_lines(bundle, lines)
    assert problem(bundle, world) == f"entry {k}: seq is {k + 1}, expected {k} (its line number)"


def test_the_tail_truncated(world, bundle):
    lines = lines_of(bundle)
    size = len(lines)
    write_lines(bundle, lines[:-3])
    assert problem(bundle, world) == (f"entry {size - 3}: missing: the checkpoint signs {size} "
                                      f"entries, the bundle has {size - 3}")


def test_a_line_cut_in_the_middle(world, bundle):
    data = (bundle / "entries.jsonl").read_bytes()
    size = len(lines_of(bundle))
    (bundle / "entries.jsonl").write_bytes(data[:-40])
    assert problem(bundle, world).startswith(f"entry {size - 1}: ")


def test_an_entry_appended_without_a_new_checkpoint(world, bundle):
    lines = lines_of(bundle)
    size = len(lines)
    last = json.loads(lines[-1])
    forged = {**last, "seq": size, "prev": leaf_hash(lines[-1]).hex(), "type": "conflict.declared",
              "data": {"work_id": world.work_id, "statement": "added later"}}
    write_lines(bundle, lines + [encode(forged)])
    assert problem(bundle, world) == (f"entry {size}: not covered by the checkpoint, which signs "
                                      f"{size} entries (the bundle has {size + 1})")


def test_a_checkpoint_signed_by_another_key(world, bundle):
    impostor = Signer(load_signer(world.lc.data_dir).origin, Ed25519PrivateKey.generate())
    sign_bundle(bundle, impostor)
    real = load_signer(world.lc.data_dir).verifier
    assert problem(bundle, world) == (
        f"checkpoint: no signature by {real.origin}+{real.key_id.hex()}")


def test_another_key_shipped_in_the_bundle_is_caught_only_with_the_published_key(world,
                                                                                 bundle):
    impostor = Signer(load_signer(world.lc.data_dir).origin, Ed25519PrivateKey.generate())
    lines = lines_of(bundle)
    write_lines(bundle, rechain([lines[0].replace(b'"admin"', b'"admln"')] + lines[1:], 1))
    sign_bundle(bundle, impostor)
    (bundle / "log.vkey").write_text(format_vkey(impostor.origin, impostor.public_key) + "\n")

    trusting = verify_bundle(bundle)  # the auditor did not pass --key: it is only a warning
    assert trusting.ok and "trusting the key shipped in the bundle" in trusting.warnings[0]
    real = load_signer(world.lc.data_dir).verifier
    assert problem(bundle, world) == (
        f"checkpoint: no signature by {real.origin}+{real.key_id.hex()}")


def test_history_rewritten_and_resigned_is_a_fork_against_an_older_checkpoint(world, tmp_path):
    """The operator holds the key: it rewrites entry K, recomputes every hash after it and
    signs a fresh checkpoint. The bundle is perfect on its own; an auditor who kept an older
    checkpoint sees that it is not an extension of what was published."""
    run_history(world)
    older = export_bundle(world.lc, tmp_path / "older")
    world.advance("sign_contract", documents=("contractSigned",))
    export_bundle(world.lc, tmp_path / "later")
    rewritten = tmp_path / "later"

    lines = lines_of(rewritten)
    k = index_of(lines, "signoff.recorded", decision="block")  # the block disappears
    assert k < older.size
    entry = json.loads(lines[k])
    entry["data"] = {"work_id": world.work_id, "proposal_id": entry["data"]["proposal_id"],
                     "decision": "approve"}
    lines[k] = encode(entry)
    write_lines(rewritten, rechain(lines, k + 1))
    sign_bundle(rewritten, load_signer(world.lc.data_dir))

    assert verify_bundle(rewritten, published_key(world)).ok
    fork = problem(rewritten, world, checkpoint=tmp_path / "older" / "checkpoint")
    assert fork.startswith(f"FORK at size {older.size}: the first {older.size} entries hash to ")
    assert fork.endswith(f"the older checkpoint signs {older.root}")


def test_an_older_checkpoint_larger_than_the_bundle_is_a_rollback(world, tmp_path):
    export_bundle(world.lc, tmp_path / "first")
    world.attach("feasibilityStudy")
    later = export_bundle(world.lc, tmp_path / "later")
    assert problem(tmp_path / "first", world, checkpoint=tmp_path / "later" / "checkpoint") == (
        f"older checkpoint: size {later.size} is larger than this bundle's checkpoint "
        f"({later.size - 1}): the log was truncated or rolled back")


def test_a_transition_past_its_guards_verifies_but_replay_catches_it(world, tmp_path,
                                                                     monkeypatch):
    """A patched server applies a stage change without its guards; the log it writes is
    chained and signed by the operator's key like any other."""
    import lifecycle.service

    def guards_waved_through(state, proposal, policy, at):
        return [GuardResult(True, "stage", "waved through")]

    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    monkeypatch.setattr(lifecycle.service, "evaluate", guards_waved_through)
    outcome = world.apply(proposal.id)
    assert outcome.applied
    monkeypatch.undo()
    exported = export_bundle(world.lc, tmp_path / "bundle")
    k = outcome.entry["seq"]

    assert verify_bundle(tmp_path / "bundle", published_key(world)).ok
    report = replay_bundle(tmp_path / "bundle", vkey=published_key(world))
    assert not report.ok and report.problem is None
    assert [str(i) for i in report.illegal] == [
        f"entry {k}: approve_design of work {world.work_id} not allowed: quorum: 1 of 3 "
        "approvals; approvals from 1 of 2 sectors",
        f"entry {k}: approve_design of work {world.work_id} not allowed: documents: missing in "
        "this stage: feasibilityStudy",
    ]
    assert report.size == exported.size


def test_a_forged_transition_from_the_wrong_stage_is_caught(world, tmp_path):
    """The operator appends a transition by hand: closes a work still in design, then signs."""
    bundle_dir = tmp_path / "bundle"
    proposal = world.propose("approve_design")
    export_bundle(world.lc, bundle_dir)
    lines = lines_of(bundle_dir)
    k = len(lines)
    forged = {"v": 1, "seq": k, "prev": leaf_hash(lines[-1]).hex(),
              "at": json.loads(lines[-1])["at"], "type": "transition.applied",
              "actor": {"id": world.official.id, "role": "official"},
              "data": {"work_id": world.work_id, "proposal_id": proposal.id,
                       "trigger": "approve_design", "from": "execution", "to": "closure",
                       "guards": []}}
    write_lines(bundle_dir, lines + [encode(forged)])
    sign_bundle(bundle_dir, load_signer(world.lc.data_dir))

    assert verify_bundle(bundle_dir, published_key(world)).ok
    illegal = [str(i) for i in replay_bundle(bundle_dir).illegal]
    prefix = f"entry {k}: approve_design of work {world.work_id} not allowed: "
    assert prefix + "stage: the entry says from execution, the work was in design" in illegal
    assert prefix + ("stage: the entry says to closure, approve_design leads from design to "
                     "technical_file") in illegal


@pytest.mark.parametrize("case", ["byte", "deleted", "truncated"])
def test_replay_refuses_a_bundle_that_does_not_verify(world, bundle, case):
    lines = lines_of(bundle)
    if case == "byte":
        lines[3] = lines[3].replace(b'"v":1', b'"v":2')
        expected = "entry 3: v is 2, this verifier reads version 1"
    elif case == "deleted":
        del lines[4]
        expected = "entry 4: seq is 5, expected 4 (its line number)"
    else:
        expected = f"entry {len(lines) - 1}: missing: the checkpoint signs {len(lines)} " \
                   f"entries, the bundle has {len(lines) - 1}"
        lines = lines[:-1]
    write_lines(bundle, lines)
    report = replay_bundle(bundle, vkey=published_key(world))
    assert not report.ok and report.problem == expected
