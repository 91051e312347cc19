"""Time that moves by itself (DESIGN §4, wave 2): the deadlines a work passes without anyone
clicking, recorded by the worker as `deadline.reached` system entries.

`due_deadlines(work, policy, at)` is pure: from the state alone it gives each deadline that is
due at `at` and not yet recorded, with the moment it fell due. The worker (`run_deadlines`)
appends one entry per due deadline, earliest first, each in its own write transaction under the
log-head lock, where it asks again: two workers, or a worker restarted after a crash, never
record one twice, and one that was down catches up in order. Replay asks the same function
about every `deadline.reached` in the log, so a forged one that was not due is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select

from lifecycle import execution as ex
from lifecycle import projection
from lifecycle.log.canonical import format_time, parse_time
from lifecycle.model import Policy, Work
from lifecycle.states import FINAL_STAGES


class DeadlineCode(str, Enum):
    TENDER_PERIOD_ENDED = "tender_period_ended"  # min_tender_days in tender, suspensions aside
    BUENA_PRO_CONSENTED = "buena_pro_consented"  # appeal window over, no appeal pending
    OVERDUE = "overdue"                          # past the stage's service level
    PARALYSED = "paralysed"                      # no physical progress for paralysis_months


DEADLINE_CODES = tuple(code.value for code in DeadlineCode)


@dataclass(frozen=True)
class Deadline:
    """A deadline of one work: which, when it fell due, and the figures behind it."""

    work_id: int
    code: str
    due: str  # the log's time format
    details: dict

    def as_data(self) -> dict:
        return {"work_id": self.work_id, "code": self.code, "due": self.due, **self.details}


def _suspended_seconds_since(work: Work, since: datetime) -> float:
    total = 0.0
    for start, until in work.suspensions:
        if until:
            begin, end = max(parse_time(start), since), parse_time(until)
            if end > begin:
                total += (end - begin).total_seconds()
    return total


def tender_period_due(work: Work, policy: Policy) -> datetime | None:
    """In tender: when `min_tender_days` will have passed since it opened, the days it spent
    suspended not counted."""
    if work.stage != "tender" or not work.stage_entered_at:
        return None
    entered = parse_time(work.stage_entered_at)
    return entered + timedelta(days=policy.min_tender_days,
                               seconds=_suspended_seconds_since(work, entered))


def overdue_due(work: Work, policy: Policy) -> datetime | None:
    """When the work passes its stage's service level (measured from when it entered the
    stage, as the overdue report counts)."""
    if work.stage in FINAL_STAGES or not work.stage_entered_at:
        return None
    sla = policy.stage_sla_days.get(work.stage)
    if sla is None:
        return None
    return parse_time(work.stage_entered_at) + timedelta(days=sla)


def _candidates(work: Work, policy: Policy) -> list[Deadline]:
    found = []
    tender = tender_period_due(work, policy)
    if tender is not None:
        found.append(Deadline(work.id, DeadlineCode.TENDER_PERIOD_ENDED.value,
                              format_time(tender), {"min_tender_days": policy.min_tender_days}))
    consented = ex.buena_pro_consented_at(work, policy)
    if consented is not None:
        found.append(Deadline(work.id, DeadlineCode.BUENA_PRO_CONSENTED.value,
                              format_time(consented), {"appeal_days": policy.appeal_days}))
    overdue = overdue_due(work, policy)
    if overdue is not None:
        found.append(Deadline(work.id, DeadlineCode.OVERDUE.value, format_time(overdue),
                              {"stage": work.stage,
                               "sla_days": policy.stage_sla_days[work.stage]}))
    paralysis = ex.paralysis_due(work, policy)
    if paralysis is not None:
        found.append(Deadline(work.id, DeadlineCode.PARALYSED.value, format_time(paralysis),
                              {"since": ex.last_progress_at(work),
                               "physical_pct": str(ex.physical_pct(work)),
                               "months": policy.paralysis_months}))
    return found


def due_deadlines(work: Work, policy: Policy, at: datetime) -> list[Deadline]:
    """The work's deadlines due at `at` (fell due at or before it) and not yet recorded,
    earliest first. A deadline is recorded once per moment it falls due: a work that enters
    its stage again, or whose progress rises and stalls again, has a new one."""
    recorded = {(mark.code, mark.due) for mark in work.deadlines}
    due = [d for d in _candidates(work, policy)
           if parse_time(d.due) <= at and (d.code, d.due) not in recorded]
    return sorted(due, key=lambda d: (d.due, d.code))


def next_due(work: Work, policy: Policy) -> str | None:
    """The work's next due moment among the deadlines not yet recorded (None: none)."""
    recorded = {(mark.code, mark.due) for mark in work.deadlines}
    pending = [d.due for d in _candidates(work, policy) if (d.code, d.due) not in recorded]
    return min(pending) if pending else None


def run_deadlines(lc, now: datetime | None = None) -> list[dict]:
    """The worker's job: record every deadline due now, earliest first across works, each
    exactly once. Returns the entries appended."""
    from lifecycle.db import NetworkRow, WorkRow

    now = now or lc.clock()
    with lc._read() as session:
        policies = {row.id: projection.network(row.state).policy
                    for row in session.execute(select(NetworkRow)).scalars()}
        rows = session.execute(select(WorkRow.id, WorkRow.network_id, WorkRow.state)
                               .where(WorkRow.stage.not_in(sorted(FINAL_STAGES)))).all()
    pending: list[Deadline] = []
    for work_id, network_id, state in rows:
        work = projection.work(state)
        pending += due_deadlines(work, policies.get(network_id) or Policy(), now)
    pending.sort(key=lambda d: (d.due, d.work_id, d.code))
    entries = []
    for deadline in pending:
        entry = lc.record_deadline(work_id=deadline.work_id, code=deadline.code,
                                   due=deadline.due)
        if entry is not None:
            entries.append(entry)
    return entries
