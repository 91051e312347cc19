"""The worker: background jobs that run beside the API (DESIGN §1, §4.4, §7).

Today it publishes checkpoints: every new checkpoint goes to each witness of
`$LIFECYCLE_WITNESS_POLICY`, and the cosignatures that come back are stored so that
`GET /log/checkpoint` serves them. Each witness has its own loop (thread), so a witness that is
down or slow delays only its own cosignature; submissions never take the log-head lock, so
they never delay a write. Other periodic jobs can be added to `Worker.jobs`.

One worker at a time across processes and machines: it holds a PostgreSQL advisory lock (on
SQLite, an exclusive lock on a file of the data folder) for as long as it runs; a second
worker waits on standby and takes over when the first stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text

from lifecycle import ledger
from lifecycle.deadlines import run_deadlines
from lifecycle.evidence.policy import Policy, Witness, configured_policy
from lifecycle.evidence.witness_client import (
    DEFAULT_TIMEOUT,
    WitnessAhead,
    WitnessClient,
    WitnessFailed,
)

log = logging.getLogger("lifecycle.worker")
ADVISORY_LOCK_KEY = 0x6C6966656379  # "lifecy": the one-worker lock on PostgreSQL
LOCK_FILE = "worker.lock"
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True)
class WitnessOutcome:
    """What one submission to one witness gave: cosigned (at `size`) or why not."""

    witness: str
    size: int
    cosigned: bool
    message: str = ""
    rolled_back: bool = False


class CheckpointPublisher:
    """Submits the log's latest checkpoint to the witnesses of a policy."""

    def __init__(self, lc, policy: Policy, *, timeout: float = DEFAULT_TIMEOUT):
        self.lc = lc
        self.policy = policy
        self.clients = {
            w.name: WitnessClient(w, timeout=timeout,
                                  known_size=ledger.last_cosigned_size(lc, w.vkey))
            for w in policy.witnesses if w.url}

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def publish_to(self, name: str) -> WitnessOutcome | None:
        """Bring one witness up to the latest checkpoint; None when it already cosigned it."""
        client = self.clients[name]
        checkpoint = ledger.latest_checkpoint(self.lc)
        witness: Witness = client.witness
        if any(vkey == witness.vkey for vkey, _ in checkpoint.cosignatures):
            return None
        try:
            result = client.submit(checkpoint.note, checkpoint.size,
                                   lambda first, second: ledger.consistency_path(
                                       self.lc, first, second))
        except WitnessAhead as exc:
            log.error("%s: the log may have been rolled back", exc)
            return WitnessOutcome(name, checkpoint.size, False, str(exc), rolled_back=True)
        except WitnessFailed as exc:
            return WitnessOutcome(name, checkpoint.size, False, str(exc))
        ledger.store_cosignature(self.lc, checkpoint.size, witness.vkey, result.cosignature)
        return WitnessOutcome(name, checkpoint.size, True)

    def publish_once(self) -> list[WitnessOutcome]:
        """Every witness at once (each bounded by its timeout); the outcomes, in policy order.
        Used by the export, and by tests; the worker runs one loop per witness instead."""
        if not self.clients:
            return []
        with ThreadPoolExecutor(max_workers=len(self.clients)) as pool:
            futures = [pool.submit(self.publish_to, name) for name in self.clients]
            return [outcome for future in futures if (outcome := future.result()) is not None]


class Worker:
    """Runs the publisher's per-witness loops and any periodic `jobs` until stopped."""

    def __init__(self, lc, policy: Policy | None = None, *, interval: float = DEFAULT_INTERVAL,
                 jobs: list[Callable[[], None]] | None = None):
        self.lc = lc
        self.policy = policy
        self.interval = interval
        if jobs is None:  # the standing jobs: e-mail notifications when SMTP is configured
            from lifecycle.outbox import mail_job

            jobs = [job for job in (mail_job(lc),) if job is not None]
            jobs.append(lambda: run_deadlines(lc))  # time-driven moves (lifecycle/deadlines.py)
        self.jobs = list(jobs)
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Block until `stop()`: wait for the one-worker lock, then work."""
        with one_worker(self.lc, self.stop_event) as holding:
            if not holding:
                return
            publisher = CheckpointPublisher(self.lc, self.policy) if self.policy else None
            threads = [threading.Thread(target=self._witness_loop, args=(publisher, name),
                                        name=f"witness-{name}", daemon=True)
                       for name in (publisher.clients if publisher else ())]
            for thread in threads:
                thread.start()
            try:
                while not self.stop_event.is_set():
                    for job in self.jobs:
                        _guarded(job)
                    self.stop_event.wait(self.interval)
            finally:
                self.stop_event.set()
                for thread in threads:
                    thread.join(timeout=5)
                if publisher:
                    publisher.close()

    def _witness_loop(self, publisher: CheckpointPublisher, name: str) -> None:
        while not self.stop_event.is_set():
            outcome = _guarded(lambda: publisher.publish_to(name))
            if outcome is not None and not outcome.cosigned:
                log.warning("checkpoint %s not cosigned: %s", outcome.size, outcome.message)
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()


def _guarded(job: Callable[[], object]):
    """A job that fails is logged and tried again next round; the worker goes on."""
    try:
        return job()
    except Exception:  # noqa: BLE001 - a background loop must outlive one failure
        log.exception("worker job failed")
        return None


@contextlib.contextmanager
def one_worker(lc, stop: threading.Event, retry: float = 2.0) -> Iterator[bool]:
    """Hold the one-worker lock while the block runs; yields False if stopped before it was
    obtained. PostgreSQL: a session advisory lock on a connection of its own (released if
    the process dies). SQLite: flock on worker.lock in the data folder."""
    if lc.engine.dialect.name == "postgresql":
        with lc.engine.connect() as conn:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": ADVISORY_LOCK_KEY}).scalar():
                conn.rollback()
                if stop.wait(retry):
                    yield False
                    return
            conn.commit()
            try:
                yield True
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                conn.commit()
        return
    descriptor = os.open(lc.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stop.wait(retry):
                    yield False
                    return
        yield True
    finally:
        os.close(descriptor)


def start_background_worker(data_dir, *, interval: float = DEFAULT_INTERVAL,
                            jobs: list[Callable[[], None]] | None = None
                            ) -> tuple[Worker, threading.Thread]:
    """Start the worker in a daemon thread of this process (for `lifecycle serve`); `jobs`
    are further periodic jobs (time-driven moves, notifications) run once per interval."""
    from lifecycle.bootstrap import open_lifecycle

    lc = open_lifecycle(data_dir, migrate_schema=False)
    worker = Worker(lc, configured_policy(), interval=interval, jobs=jobs)
    thread = threading.Thread(target=worker.run, name="lifecycle-worker", daemon=True)
    thread.start()
    return worker, thread
