"""Export bundles from a real engine history, then verify and replay them offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifecycle.audit import verify as verify_module
from lifecycle.audit.export import ExportError, export_bundle
from lifecycle.audit.replay import replay_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.cli import app
from lifecycle.log.merkle import MemoryNodeStore, leaf_hash, root
from lifecycle.log.note import VKEY_FILE, verify_checkpoint

AWARD = {"supplier": {"name": "Consorcio Vial Norte", "tax_id": "20100070970"},
         "amount": "12000000.00", "bidders": 3}


def run_history(world) -> None:
    """A work from design to award: an observation, a block that is lifted, a refusal."""
    world.advance("approve_design", documents=("feasibilityStudy",))
    world.lc.file_observation(actor=world.members["luis"], work_id=world.work_id,
                              text="El metrado de partidas no coincide con los planos.")
    world.lc.answer_observation(actor=world.official, work_id=world.work_id, observation_id=1,
                                text="Se corrigió el metrado.")
    world.advance("publish_tender", documents=("technicalSpecifications", "budgetApproval"))
    world.clock.advance(days=16)
    world.attach("evaluationReports")
    world.prepare("award")  # the bases integrated (wave 2)
    proposal = world.propose("award", award=AWARD)
    world.sign(proposal.id, "luis", decision="block", reason="Falta el acta de evaluación firmada.")
    world.sign(proposal.id, "rosa", "jorge")
    assert not world.apply(proposal.id).applied
    world.sign(proposal.id, "luis")  # the author lifts his own block by approving
    assert world.apply(proposal.id).applied


def published_key(world) -> Path:
    """The verifier key as the operator publishes it (from the data folder, not the bundle)."""
    return Path(world.lc.data_dir) / VKEY_FILE


@pytest.fixture
def bundle(world, tmp_path) -> Path:
    run_history(world)
    export_bundle(world.lc, tmp_path / "bundle")
    return tmp_path / "bundle"


def test_bundle_holds_the_exact_entries_and_a_checkpoint_at_its_size(world, bundle):
    stored = world.lc.entries(after=-1, limit=10_000)
    lines = (bundle / "entries.jsonl").read_bytes().split(b"\n")
    assert lines.pop() == b""  # every line, the last too, ends with a newline
    assert lines == [bytes(raw) for raw in stored]

    origin, size, signed_root = verify_checkpoint((bundle / "checkpoint").read_text(),
                                                  published_key(world).read_text())
    store = MemoryNodeStore()
    for raw in lines:
        store.append(leaf_hash(raw))
    assert size == len(lines) == world.lc.log_size()
    assert signed_root == root(store, size) == world.lc.log_head()[1]
    assert (bundle / "log.vkey").read_text() == published_key(world).read_text()

    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    assert manifest["format"] == "lifecycle-log-bundle" and manifest["version"] == 1
    assert (manifest["origin"], manifest["size"], manifest["root"]) == (
        origin, size, signed_root.hex())
    assert (manifest["hash"], manifest["tree"]) == ("sha256", "rfc9162")


def test_bundle_verifies_with_the_published_key(world, bundle):
    result = verify_bundle(bundle, published_key(world))
    assert result.ok, result.problem
    assert result.size == world.lc.log_size()
    assert result.root == world.lc.log_head()[1].hex()
    assert result.warnings == []


def test_without_a_key_verify_warns_that_it_trusts_the_bundle(bundle):
    result = verify_bundle(bundle)
    assert result.ok
    assert any("trusting the key shipped in the bundle" in w for w in result.warnings)


def test_a_later_export_extends_the_earlier_checkpoint(world, bundle, tmp_path):
    world.advance("sign_contract", documents=("contractSigned",))
    later = tmp_path / "later"
    export_bundle(world.lc, later)
    result = verify_bundle(later, published_key(world), bundle / "checkpoint")
    assert result.ok, result.problem
    assert result.older_size == verify_bundle(bundle).size < result.size


def test_export_refuses_a_folder_that_already_holds_a_bundle(world, bundle):
    with pytest.raises(ExportError, match="already holds a bundle"):
        export_bundle(world.lc, bundle)


def test_replay_rebuilds_the_work_and_finds_every_change_legal(world, bundle):
    report = replay_bundle(bundle, vkey=published_key(world))
    assert report.ok, (report.problem, [str(i) for i in report.illegal])
    assert (report.networks, report.works, report.transitions) == (1, 1, 3)
    assert report.summary.startswith(f"ok: {world.lc.log_size()} entries replayed")


def test_replay_timeline_says_who_did_what_and_what_each_guard_said(world, bundle):
    report = replay_bundle(bundle, work_id=world.work_id)
    text = "\n".join(report.timeline)
    assert "oficial  opened proposal #3: award" in text
    assert ("luis  blocks proposal #3 (Universidad Nacional Pedro Ruiz Gallo, academia): "
            "Falta el acta de evaluación firmada.") in text
    assert "applying proposal #3 (award) was refused" in text
    assert "✗ blocks: blocked by luis (Universidad Nacional Pedro Ruiz Gallo)" in text
    assert "applied proposal #3: award, tender → award" in text
    assert "✓ tender_period: 16 days since the tender opened (minimum 15)" in text
    assert "approval by rosa: counts" in text
    # Every entry of the timeline is about this work; the member joins are not.
    assert all(line.startswith("entry ") for line in report.timeline)
    assert len(report.timeline) == len(world.lc.history(world.work_id))


def test_replay_of_an_unknown_work_fails(bundle):
    report = replay_bundle(bundle, work_id=999)
    assert not report.ok and report.problem == "work 999 is not in the log"


def test_bundles_verify_the_same_in_parallel_chunks(world, bundle, monkeypatch):
    """Small chunks and two worker processes: chunk boundaries, the fold of chunk roots and an
    older checkpoint cut at every position must give the sequential verdict."""
    from lifecycle.log.merkle import EMPTY_ROOT
    from lifecycle.log.note import checkpoint_body, load_signer

    lines = (bundle / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    store = MemoryNodeStore()
    for raw in lines:
        store.append(leaf_hash(raw))
    signer = load_signer(world.lc.data_dir)
    monkeypatch.setattr(verify_module, "CHUNK", 4)
    for older in range(len(lines) + 1):
        note = signer.sign(checkpoint_body(signer.origin, older,
                                           root(store, older) if older else EMPTY_ROOT))
        result = verify_bundle(bundle, published_key(world), note,
                               workers=2 if older % 7 == 0 else 1)
        assert result.ok, (older, result.problem)
        assert result.root == root(store, len(lines)).hex()


def test_replay_in_parallel_chunks_gives_the_same_report(world, bundle, monkeypatch):
    sequential = replay_bundle(bundle, work_id=world.work_id, workers=1)
    monkeypatch.setattr(verify_module, "CHUNK", 4)
    parallel = replay_bundle(bundle, work_id=world.work_id, workers=2)
    assert parallel.ok and parallel.summary == sequential.summary
    assert parallel.timeline == sequential.timeline


# ------------------------------------------------------------------------------ CLI


def database_env(world) -> dict:
    """The CLI finds a PostgreSQL database through LIFECYCLE_DATABASE_URL, as in production."""
    url = world.lc.engine.url
    if url.get_backend_name() == "sqlite":
        return {}
    return {"LIFECYCLE_DATABASE_URL": url.render_as_string(hide_password=False)}


def test_cli_export_verify_replay(world, tmp_path):
    run_history(world)
    runner = CliRunner(env=database_env(world))
    data = str(world.lc.data_dir)
    out = tmp_path / "cli-bundle"
    exported = runner.invoke(app, ["audit", "export", str(out), "--data-dir", data])
    assert exported.exit_code == 0, exported.output
    assert f"exported {world.lc.log_size()} entries" in exported.stdout

    verified = runner.invoke(app, ["audit", "verify", str(out), "--key",
                                   str(published_key(world))])
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith(f"ok: {world.lc.log_size()} entries, root ")
    assert verified.stderr == ""

    unkeyed = runner.invoke(app, ["audit", "verify", str(out)])
    assert unkeyed.exit_code == 0
    assert "warning: no --key given" in unkeyed.stderr

    replayed = runner.invoke(app, ["audit", "replay", str(out), "--work", str(world.work_id)])
    assert replayed.exit_code == 0, replayed.output
    assert "applied proposal #1: approve_design, design → technical_file" in replayed.stdout
    assert replayed.stdout.strip().splitlines()[-1].startswith("ok: ")


def test_cli_verify_reports_the_first_problem_and_exits_1(world, bundle):
    lines = (bundle / "entries.jsonl").read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b'":', b'": ', 1)
    (bundle / "entries.jsonl").write_bytes(b"\n".join(lines))
    result = CliRunner().invoke(
        app, ["audit", "verify", str(bundle), "--key", str(published_key(world))])
    assert result.exit_code == 1
    assert result.stdout.startswith("entry 5: not canonical (RFC 8785): byte ")


def test_cli_check_also_rejudges_the_live_log(world):
    run_history(world)
    result = CliRunner(env=database_env(world)).invoke(
        app, ["audit", "check", "--data-dir", str(world.lc.data_dir)])
    assert result.exit_code == 0, result.output
    assert "every stage change was legal when it was made" in result.output
