"""The same workload as bench/engine.py, written for pyeventsourcing/eventsourcing (the peer).

Each command is get → decide → save, as eventsourcing's own examples do it (and as lifecycle
does: it loads the work's projection for every command): the application loads the work from
its events (default settings: no snapshots, no aggregate cache), calls one method that checks
the rule and triggers one event, and saves it in its own transaction on
eventsourcing's SQLite recorder (WAL, SQLite's default synchronous=FULL — one fsync per commit,
as lifecycle's own). It keeps only what the peer needs to run the same commands: stages,
documents, proposals, sign-offs and the approval count. It does not hash, chain, grow a Merkle
tree, write projections or log refusals — the things lifecycle does on top.

A second variant keeps the aggregates in memory between commands, so that each command only
saves its one event: a lower bound on what eventsourcing costs per transaction.

Installed with the optional `bench` extra (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from uuid import UUID

STAGES = ["design", "technical_file", "tender", "award", "execution", "closure"]
TRIGGER_TO = {"approve_design": "technical_file", "publish_tender": "tender", "award": "award",
              "sign_contract": "execution", "close": "closure"}


def available() -> bool:
    try:
        import eventsourcing  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache  # eventsourcing registers each class by its topic, once
def _define():
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Work(Aggregate):
        @event("Registered")
        def __init__(self, code: str, title: str, region: str, reference_amount: str):
            self.code = code
            self.title = title
            self.region = region
            self.reference_amount = reference_amount
            self.stage = "design"
            self.documents: dict[str, list[str]] = {}
            self.proposals: dict[int, dict] = {}

        @event("DocumentAttached")
        def attach_document(self, kind: str, title: str, sha256: str):
            self.documents.setdefault(self.stage, []).append(kind)

        @event("MilestoneRecorded")
        def record_milestone(self, code: str, date: str):
            pass

        def open_proposal(self, trigger: str, justification: str, award: dict | None):
            if TRIGGER_TO.get(trigger) != STAGES[STAGES.index(self.stage) + 1]:
                raise ValueError(f"{trigger} not allowed from {self.stage}")
            self._proposal_opened(len(self.proposals) + 1, trigger, justification, award)

        @event("ProposalOpened")
        def _proposal_opened(self, proposal_id: int, trigger: str, justification: str,
                             award: dict | None):
            self.proposals[proposal_id] = {"trigger": trigger, "signoffs": {},
                                           "status": "open"}

        def record_signoff(self, proposal_id: int, member: str, decision: str):
            if self.proposals[proposal_id]["status"] != "open":
                raise ValueError("proposal is not open")
            self._signoff_recorded(proposal_id, member, decision)

        @event("SignoffRecorded")
        def _signoff_recorded(self, proposal_id: int, member: str, decision: str):
            self.proposals[proposal_id]["signoffs"][member] = decision

        def apply_proposal(self, proposal_id: int, quorum: int):
            proposal = self.proposals[proposal_id]
            approvals = sum(1 for d in proposal["signoffs"].values() if d == "approve")
            if approvals < quorum or not self.documents.get(self.stage):
                raise ValueError("guards failed")
            self._applied(proposal_id, TRIGGER_TO[proposal["trigger"]])

        @event("ProposalApplied")
        def _applied(self, proposal_id: int, to_stage: str):
            self.proposals[proposal_id]["status"] = "applied"
            self.stage = to_stage

    class Works(Application):
        def register(self, **fields) -> UUID:
            work = Work(**fields)
            self.save(work)
            return work.id

        def command(self, work_id: UUID, method: str, *args):
            work = self.repository.get(work_id)
            getattr(work, method)(*args)
            self.save(work)

    class WorksInMemory(Works):
        """The same commands on aggregates kept in memory: only the save per event."""

        def register(self, **fields) -> UUID:
            work = Work(**fields)
            self.save(work)
            self.held[work.id] = work
            return work.id

        def command(self, work_id: UUID, method: str, *args):
            work = self.held[work_id]
            getattr(work, method)(*args)
            self.save(work)

    return Works, WorksInMemory


def commands_per_second(folder: Path, lifecycles: int, steps, members: int = 3,
                        in_memory: bool = False) -> tuple[float, int]:
    """Run `lifecycles` full lifecycles of `steps` (bench/engine.py's STEPS); commands/s.

    in_memory: keep each aggregate in memory instead of getting it from its events for every
    command (the peer then only saves: one event per transaction)."""
    Works, WorksInMemory = _define()
    folder.mkdir(parents=True, exist_ok=True)
    app = (WorksInMemory if in_memory else Works)(env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(folder / ("held.db" if in_memory else "eventsourcing.db"))})
    app.held = {}
    commands = 0
    started = time.perf_counter()
    for n in range(lifecycles):
        work_id = app.register(code=f"OBRA-{n:05d}", title=f"Obra {n}", region="Lambayeque",
                               reference_amount="1000000.00")
        commands += 1
        for proposal_id, (trigger, documents, award) in enumerate(steps, start=1):
            for kind in documents:
                digest = os.urandom(32).hex()
                app.command(work_id, "attach_document", kind, kind, digest)
                commands += 1
            if trigger == "award":
                app.command(work_id, "record_milestone", "bases_integrated", "2025-02-01")
                commands += 1
            app.command(work_id, "open_proposal", trigger, "ready", award)
            commands += 1
            for m in range(members):
                app.command(work_id, "record_signoff", proposal_id, f"miembro{m}", "approve")
                commands += 1
            app.command(work_id, "apply_proposal", proposal_id, members)
            commands += 1
    elapsed = time.perf_counter() - started
    app.close()
    return commands / elapsed, commands
