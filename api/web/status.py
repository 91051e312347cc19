"""What the top of a work's page says first: whether it is suspended (since when, and why) or
overdue (how many days past its stage's service level), from the same figures as the stalled
report (days in stage, suspensions not counted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lifecycle.guards.rules import days_in_stage
from lifecycle.model import Network, Work
from lifecycle.states import FINAL_STAGES


@dataclass(frozen=True)
class WorkStatus:
    suspended_since: str | None = None
    suspended_from: str | None = None  # the stage it left
    suspension_reason: str | None = None
    overdue_days: int | None = None
    allowed_days: int | None = None


def work_status(work: Work, network: Network, at: datetime) -> WorkStatus:
    suspended = {}
    if work.stage == "suspended":
        reason = next((p.justification for p in reversed(work.proposals)
                       if p.trigger == "suspend" and p.status == "applied"), None)
        suspended = {"suspended_since": work.stage_entered_at,
                     "suspended_from": (work.suspended_from or {}).get("stage"),
                     "suspension_reason": reason}
    if work.stage in FINAL_STAGES or not work.stage_entered_at:
        return WorkStatus(**suspended)
    allowed = network.policy.stage_sla_days.get(work.stage)
    if not allowed:
        return WorkStatus(**suspended)
    over = int(days_in_stage(work, at) - allowed)
    return WorkStatus(**suspended, overdue_days=over if over > 0 else None,
                      allowed_days=allowed)
