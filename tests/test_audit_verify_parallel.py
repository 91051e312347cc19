"""verify runs the member-signature checks in its worker processes (SignatureAudit(defer=True)
and check_signoffs): the verdict, and the first problem it names, must be the same as in one
process."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from lifecycle.audit import verify
from lifecycle.evidence.signature_audit import SignatureAudit, check_signoffs

ROOT = Path(__file__).resolve().parents[1]
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_verify", ROOT / "bench" / "verify.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    directory = tmp_path_factory.mktemp("bundle")
    module.generate(directory, 3000, active_works=20)
    return directory


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def _lines(directory: Path) -> list[bytes]:
    return (directory / verify.ENTRIES_FILE).read_bytes().splitlines()


def _write(directory: Path, lines: list[bytes]) -> None:
    (directory / verify.ENTRIES_FILE).write_bytes(b"\n".join(lines) + b"\n")


def _signed_signoffs(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines)
            if b'"type":"signoff.recorded"' in line and b'"proof"' in line]


def _both(directory: Path, monkeypatch) -> tuple[verify.VerifyResult, verify.VerifyResult]:
    monkeypatch.setattr(verify, "CHUNK", 256)  # many chunks, many signature jobs
    monkeypatch.setattr(verify._SignatureJobs, "BATCH", 16)
    key = directory / verify.VKEY_FILE
    return (verify.verify_bundle(directory, key, workers=1),
            verify.verify_bundle(directory, key, workers=2))


def test_the_untouched_bundle_verifies_alike(bundle, monkeypatch):
    alone, pooled = _both(bundle, monkeypatch)
    assert alone.ok and pooled.ok, (alone.problem, pooled.problem)
    assert pooled.root == alone.root and pooled.size == alone.size


@pytest.mark.parametrize("which", [0.3, 0.8])
def test_a_forged_signature_is_the_first_problem_in_both(bundle, tmp_path, monkeypatch, which):
    directory = _copy(bundle, tmp_path)
    lines = _lines(directory)
    signed = _signed_signoffs(lines)
    index = signed[int(len(signed) * which)]
    entry = json.loads(lines[index])
    entry["data"]["proof"]["signature"] = base64.urlsafe_b64encode(bytes(64)).rstrip(
        b"=").decode()
    lines[index] = _dumps(entry).encode()
    _write(directory, lines)  # not rechained: the next entry's prev breaks too, later
    alone, pooled = _both(directory, monkeypatch)
    assert not alone.ok and not pooled.ok
    assert alone.problem.startswith(f"entry {index}: signoff.recorded: proof.signature")
    assert pooled.problem == alone.problem


def test_a_signoff_on_a_closed_proposal_is_found_alike(bundle, tmp_path, monkeypatch):
    """A signed sign-off moved after its proposal was applied: 'not open', and an earlier
    problem than the chain's."""
    directory = _copy(bundle, tmp_path)
    lines = _lines(directory)
    index = _signed_signoffs(lines)[40]
    entry = json.loads(lines[index])
    data = entry["data"]
    applied = next(i for i in range(index, len(lines))
                   if b'"type":"transition.applied"' in lines[i]
                   and json.loads(lines[i])["data"]["proposal_id"] == data["proposal_id"]
                   and json.loads(lines[i])["data"]["work_id"] == data["work_id"])
    moved = json.loads(lines[applied + 1])
    entry.update(seq=moved["seq"], prev=moved["prev"], at=moved["at"])
    lines[applied + 1] = _dumps(entry).encode()
    _write(directory, lines)
    alone, pooled = _both(directory, monkeypatch)
    assert not alone.ok
    assert pooled.problem == alone.problem
    assert alone.problem.startswith(f"entry {applied + 1}: signoff.recorded:")


def test_deferred_checks_report_what_the_sequential_check_reports(bundle):
    """Entry by entry: the same problems, including malformed sign-offs."""
    lines = _lines(bundle)
    index = _signed_signoffs(lines)[10]
    broken = json.loads(lines[index])
    variants = []
    for change in ("no_work", "bad_nonce", "other_key", "bad_statement"):
        entry = json.loads(json.dumps(broken))
        data = entry["data"]
        if change == "no_work":
            del data["work_id"]
        elif change == "bad_nonce":
            data["statement"]["nonce"] = "!"
        elif change == "other_key":
            data["proof"]["key_id"] = "unknown-key"
        else:
            data["statement"] = ["not", "an", "object"]
        variants.append(_dumps(entry).encode())
    for variant in variants:
        candidate = lines[:index] + [variant]
        sequential, deferred = SignatureAudit("bench.lifecycle.example/log"), SignatureAudit(
            "bench.lifecycle.example/log", defer=True)
        expected = sequential.check_blob(b"\n".join(candidate), 0, len(candidate))
        assert expected is not None and expected[0] == index
        assert deferred.check_blob(b"\n".join(candidate), 0, len(candidate)) is None
        assert check_signoffs("bench.lifecycle.example/log", deferred.take_jobs()) == expected
