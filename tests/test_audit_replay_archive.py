"""Replay keeps finished works archived (lifecycle.audit.replay.ArchivedWork) so its memory
follows the works, not the entries: the verdicts must be exactly those of a replay that keeps
every work, also for entries that name a finished work again."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from lifecycle.audit import verify
from lifecycle.audit.replay import ArchivedWork, Replayer, replay_bundle
from lifecycle.log.canonical import decode_verified
from lifecycle.model import plain

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_verify", ROOT / "bench" / "verify.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A legal simulated history (bench/verify.py) in which many works finish."""
    directory = tmp_path_factory.mktemp("bundle")
    _bench().generate(directory, 6000, active_works=25)
    lines = (directory / verify.ENTRIES_FILE).read_bytes().splitlines()
    return directory, [json.loads(line) for line in lines]


def _forged_after(entries: list[dict]) -> list[dict]:
    """Entries that name a finished work again: each one illegal, each judged on that work's
    full history."""
    state = Replayer()
    for entry in entries:
        state.feed(entry)
    closed = next(w for w in state.state.works.values() if w.stage == "closure")
    official = next(u for u in state.state.users.values() if u.role == "official"
                    and u.organization_id == closed.entity_id)
    member = next(m for m in state.state.networks[closed.network_id].members.values())
    last = closed.proposals[-1]
    at = entries[-1]["at"]
    seq = len(entries)
    actor = {"id": official.id, "role": "official"}
    forged = [
        ("document.attached", actor, {
            "work_id": closed.id, "document_id": len(closed.documents) + 1,
            "kind": "completionCertificate", "title": "late", "filename": "late.pdf",
            "media_type": "application/pdf", "sha256": "ab" * 32, "size": 10}),
        ("signoff.recorded", {"id": member.user_id, "role": "member"}, {
            "work_id": closed.id, "proposal_id": last.id, "decision": "approve"}),
        ("transition.applied", actor, {
            "work_id": closed.id, "proposal_id": last.id, "trigger": last.trigger,
            "from": "execution", "to": "closure", "guards": []}),
        ("work.imported", {"id": "system", "role": "system"}, {
            "work_id": max(state.state.works) + 1, "code": closed.code, "title": "again",
            "entity": closed.entity, "entity_id": closed.entity_id, "region": closed.region,
            "network_id": closed.network_id, "reference_amount": "1000.00",
            "currency": "PEN", "stage": "tender", "source_ocid": "ocds-test-1",
            "document": {"document_id": 1, "kind": "seaceRecord", "title": "SEACE",
                         "filename": "seace.json", "media_type": "application/json",
                         "sha256": "cd" * 32, "size": 10}}),
    ]
    return [{"v": 1, "seq": seq + i, "prev": "0" * 64, "at": at, "type": t, "actor": a,
             "data": d} for i, (t, a, d) in enumerate(forged)]


def test_archiving_changes_no_verdict_and_no_state(history):
    _, entries = history
    entries = entries + _forged_after(entries)
    kept, archived = Replayer(), Replayer(archive=True)
    for entry in entries:
        kept.feed(entry)
        archived.feed(entry)
    assert archived.archived > 10  # finished works were put away, some more than once
    assert any(type(w) is ArchivedWork for w in archived.state.works.values())
    assert kept.illegal  # the forged entries were found
    assert {i.seq for i in kept.illegal} >= {len(entries) - n for n in (1, 2, 3, 4)}
    assert any("code" in i.guard and i.seq == len(entries) - 1 for i in kept.illegal)
    assert [str(i) for i in archived.illegal] == [str(i) for i in kept.illegal]
    assert archived.transitions == kept.transitions
    restored = archived.restore_all()
    assert {k: plain(w) for k, w in restored.works.items()} == \
        {k: plain(w) for k, w in kept.state.works.items()}


def test_the_watched_work_is_never_archived(history):
    _, entries = history
    kept = Replayer()
    for entry in entries:
        kept.feed(entry)
    closed = next(w.id for w in kept.state.works.values() if w.stage == "closure")
    plain_timeline, archived = Replayer(closed), Replayer(closed, archive=True)
    for entry in entries:
        plain_timeline.feed(entry)
        archived.feed(entry)
    assert type(archived.state.works[closed]).__name__ == "Work"
    assert archived.timeline == plain_timeline.timeline


def test_replay_bundle_of_the_simulated_history_is_legal(history):
    directory, entries = history
    report = replay_bundle(directory, vkey=directory / verify.VKEY_FILE)
    assert report.ok, report.summary
    assert report.size == len(entries)
    assert report.works == len({e["data"]["work_id"] for e in entries
                                if e["type"] == "work.registered"})


def test_decode_verified_gives_the_standard_decoders_value(history):
    _, entries = history
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
             for e in entries[:500]]
    lines.append(b'{"a":"\\ud800","b":[9007199254740991,-9007199254740991,"\\u00e9"]}')
    for line in lines:
        assert decode_verified(line) == json.loads(line)
