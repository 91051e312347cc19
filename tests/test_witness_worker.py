"""The worker publishes checkpoints from its own per-witness loops, and only one worker runs at
a time across processes (PostgreSQL advisory lock, or a file lock on SQLite)."""

from __future__ import annotations

import threading

from lifecycle import ledger
from lifecycle.evidence.policy import parse_policy
from lifecycle.service import SYSTEM
from lifecycle.worker import Worker, one_worker
from tests.test_witness_network import NAMES, RunningWitness, policy_text

ROUNDS = 400  # a bound on waiting, never an assertion about time


def _cosigned_by(lc, policy) -> set[str]:
    note = ledger.checkpoint(lc)
    return {w.name for w in policy.witnesses if w.verifier.find(note)}


def test_the_worker_collects_every_witness_and_a_down_one_only_delays_itself(lc, tmp_path):
    witnesses = [RunningWitness(tmp_path / n, n, ledger.vkey(lc)) for n in NAMES]
    try:
        policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
        witnesses[1].stop()
        lc.create_user(actor=SYSTEM, username="first", role="auditor")
        worker = Worker(lc, policy, interval=0.05)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            seen: set[str] = set()
            for _ in range(ROUNDS):
                seen = _cosigned_by(lc, policy)
                if seen == {"camara", "universidad"}:
                    break
                worker.stop_event.wait(0.05)
            assert seen == {"camara", "universidad"}
            lc.create_user(actor=SYSTEM, username="second", role="auditor")
            for _ in range(ROUNDS):
                seen = _cosigned_by(lc, policy)
                if seen == {"camara", "universidad"}:
                    break
                worker.stop_event.wait(0.05)
            assert seen == {"camara", "universidad"}  # the new checkpoint, without colegio
        finally:
            worker.stop()
            thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        for witness in witnesses:
            witness.stop()


def test_only_one_worker_holds_the_lock(lc):
    stop = threading.Event()
    with one_worker(lc, stop) as first:
        assert first
        standby = threading.Event()
        standby.set()  # stop waiting after the first try
        with one_worker(lc, standby, retry=0.01) as second:
            assert second is False
    with one_worker(lc, stop) as again:  # released when the first stopped
        assert again
