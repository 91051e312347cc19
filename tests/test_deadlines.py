"""Time that moves by itself (lifecycle/deadlines.py): deadline.reached entries recorded by the
worker exactly once, in order after downtime, and re-judged by replay. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from lifecycle.deadlines import due_deadlines, run_deadlines
from lifecycle.log.canonical import format_time
from tests.test_execution import (
    record_milestone,
    replayed,
    to_award,
    to_execution,
    to_tender,
    value,
)


def deadlines(lc, work_id=None) -> list[tuple[str, str]]:
    entries = [json.loads(raw) for raw in lc.entries(limit=100_000)]
    return [(e["data"]["code"], e["data"]["due"]) for e in entries
            if e["type"] == "deadline.reached" and work_id in (None, e["data"]["work_id"])]


def test_the_tender_period_ends_once(world):
    to_tender(world)
    opened = world.work.stage_entered_at
    world.clock.advance(days=14)
    assert run_deadlines(world.lc) == []
    world.clock.advance(days=1, seconds=30)
    entries = run_deadlines(world.lc)
    assert [(e["type"], e["actor"], e["data"]["code"]) for e in entries] == [
        ("deadline.reached", {"id": "system", "role": "system"}, "tender_period_ended")]
    assert entries[0]["data"]["due"][:10] == "2026-03-17" and opened[:10] == "2026-03-02"
    assert run_deadlines(world.lc) == []  # never twice
    assert len(deadlines(world.lc)) == 1


def test_a_worker_that_was_down_catches_up_in_order(world):
    to_tender(world)
    world.clock.advance(days=100)  # past the tender period (15 days) and the SLA (60 days)
    entries = run_deadlines(world.lc)
    assert [e["data"]["code"] for e in entries] == ["tender_period_ended", "overdue"]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert entries[1]["data"]["sla_days"] == 60
    assert run_deadlines(world.lc) == []


def test_the_buena_pro_is_consented_after_the_window_and_no_pending_appeal(world):
    to_award(world)
    record_milestone(world, "appeal_filed")
    world.clock.advance(days=20)
    assert [e["data"]["code"] for e in run_deadlines(world.lc)] == []
    record_milestone(world, "appeal_resolved")
    resolved_at = world.work.milestones[-1].recorded_at
    world.clock.advance(seconds=5)
    entries = run_deadlines(world.lc)
    assert [(e["data"]["code"], e["data"]["due"]) for e in entries] == [
        ("buena_pro_consented", resolved_at)]


def test_paralysis_is_recorded_once_when_progress_stalls_for_six_months(world):
    to_execution(world)
    value(world, "2026-03", "10.00", "10.00", "100.00")
    since = world.work.valuations[-1].reported_at
    world.clock.advance(days=184)  # six calendar months and a day: 6 April → 7 October
    entries = run_deadlines(world.lc)
    assert [(e["data"]["code"], e["data"]["since"], e["data"]["physical_pct"])
            for e in entries] == [("paralysed", since, "10.00")]
    assert run_deadlines(world.lc) == []
    # Progress that rises and stalls again is a new paralysis, recorded once more.
    value(world, "2026-10", "11.00", "11.00", "100.00")
    world.clock.advance(days=190)
    assert [e["data"]["code"] for e in run_deadlines(world.lc)] == ["paralysed"]
    assert replayed(world.lc).illegal == []


def test_a_worker_killed_mid_run_records_each_deadline_exactly_once(world):
    to_tender(world)
    world.clock.advance(days=100)  # two deadlines due

    def crash_on_the_second(tx):
        if any(e["data"].get("code") == "overdue" for e in tx.entries):
            raise SystemExit("killed")

    world.lc.before_commit = crash_on_the_second
    with pytest.raises(SystemExit):
        run_deadlines(world.lc)
    world.lc.before_commit = None
    assert [code for code, _ in deadlines(world.lc)] == ["tender_period_ended"]
    assert [e["data"]["code"] for e in run_deadlines(world.lc)] == ["overdue"]
    assert [code for code, _ in deadlines(world.lc)] == ["tender_period_ended", "overdue"]


def test_two_workers_at_once_never_record_a_deadline_twice(world):
    to_tender(world)
    world.clock.advance(days=100)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            run_deadlines(world.lc)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [code for code, _ in deadlines(world.lc)] == ["tender_period_ended", "overdue"]


def test_replay_reports_a_forged_deadline_that_was_not_due(world):
    to_execution(world)
    value(world, "2026-03", "45.00", "40.00", "100.00")
    entries = [json.loads(raw) for raw in world.lc.entries(limit=100_000)]
    last = entries[-1]
    work = world.work
    network = world.lc.get_network(world.network_id)
    due = format_time(world.clock.now + timedelta(days=182))
    assert due_deadlines(work, network.policy, world.clock.now) == []

    def forged(actor, data):
        return {"v": 1, "seq": last["seq"] + 1, "prev": "0" * 64, "at": last["at"],
                "type": "deadline.reached", "actor": actor,
                "data": {"work_id": world.work_id, **data}}

    early = forged({"id": "system", "role": "system"},
                   {"code": "paralysed", "due": due, "since": last["at"],
                    "physical_pct": "45.00", "months": 6})
    replayer = replayed_with(entries, early)
    assert [(i.seq, i.guard) for i in replayer.illegal] == [(early["seq"], "deadline")]
    official = forged({"id": world.official.id, "role": "official"},
                      {"code": "overdue", "due": last["at"]})
    replayer = replayed_with(entries, official)
    assert [(i.seq, i.guard) for i in replayer.illegal] == [(official["seq"], "permission")]


def replayed_with(entries, extra):
    from lifecycle.audit.replay import replay_entries

    return replay_entries(entries + [extra])


def test_replay_reports_forged_valuations_and_milestones(world):
    to_execution(world)
    value(world, "2026-03", "45.00", "40.00", "100.00")
    entries = [json.loads(raw) for raw in world.lc.entries(limit=100_000)]
    last = entries[-1]
    lower = dict(last, seq=last["seq"] + 1,
                 data={**last["data"], "valuation_id": 2, "period": "2026-04",
                       "physical_pct": "30.00"})
    replayer = replayed_with(entries, lower)
    assert [i.guard for i in replayer.illegal] == ["physical_pct"]
    by_member = dict(last, seq=last["seq"] + 1,
                     actor={"id": world.members["rosa"].id, "role": "member"},
                     data={"work_id": world.work_id, "milestone_id": 1,
                           "code": "appeal_filed", "date": last["at"][:10]})
    by_member["type"] = "milestone.recorded"
    replayer = replayed_with(entries, by_member)
    assert [i.guard for i in replayer.illegal] == ["permission"]


def test_the_worker_records_deadlines_without_anyone_clicking(world):
    from lifecycle.worker import Worker

    to_tender(world)
    world.clock.advance(days=16)
    worker = Worker(world.lc, interval=0.05)  # the standing jobs, as `lifecycle worker` runs
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(400):  # wait for the worker's first rounds (bounded, not a timing)
            if deadlines(world.lc):
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert [code for code, _ in deadlines(world.lc)] == ["tender_period_ended"]
