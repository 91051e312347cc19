"""Concurrent writers (DESIGN §1): appends are serialized, so sequence order is commit order.

Runs on SQLite and on PostgreSQL (where the log-head row lock does the serializing)."""

from __future__ import annotations

import json
import threading

from lifecycle.audit.check import check_database
from lifecycle.errors import Conflict


def run_at_once(functions):
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def worker(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_simultaneous_applies_make_exactly_one_transition(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    results = run_at_once([
        lambda: world.apply(proposal.id) for _ in range(8)])
    applied = [r for r in results if not isinstance(r, Exception) and r.applied]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(applied) == 1
    assert len(conflicts) == 7, results
    assert all("no longer open" in c.message for c in conflicts)
    history = world.lc.history(world.work_id)
    assert [e["type"] for e in history].count("transition.applied") == 1
    assert world.work.stage == "technical_file"
    assert check_database(world.lc)[0] == []


def test_concurrent_appends_leave_a_gap_free_valid_chain(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    names = ["rosa", "jorge", "ana", "luis", "carmen"]
    start = world.lc.log_size()

    def signer(name, decision):
        return lambda: world.sign(proposal.id, name, decision=decision,
                                  reason="needs review" if decision == "block" else None)

    calls = [signer(n, d) for n in names for d in ("approve", "block", "withdraw")]
    calls += [lambda: world.lc.file_observation(actor=world.members["ana"],
                                                work_id=world.work_id, text="Observation")
              for _ in range(5)]
    results = run_at_once(calls)
    assert not [r for r in results if isinstance(r, Exception)]
    entries = [e for e in world.lc.entries(after=-1, limit=10_000)]
    seqs = [json.loads(raw)["seq"] for raw in entries]
    assert seqs == list(range(len(entries)))
    assert len(entries) == start + len(calls)
    problems, size = check_database(world.lc)
    assert problems == []
    assert len(world.work.proposals[0].signoffs) == 15
