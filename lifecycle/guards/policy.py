"""Which policy judges a proposal, and the floors no policy goes below (DESIGN §3, wave 2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lifecycle.model import Policy


@dataclass(frozen=True)
class Floor:
    """One floor: a policy field, the test its value must pass, and what it says when not."""

    field: str
    holds: Callable[[Any], bool]
    message: str


FLOORS = (
    Floor("min_approvals", lambda v: v >= 2, "must be at least 2"),
    Floor("min_sectors", lambda v: v >= 2, "must be at least 2"),
    Floor("required_sectors", lambda v: "civil_society" in v, "must include civil_society"),
    Floor("min_tender_days", lambda v: v >= 8, "must be at least 8"),
    Floor("award_tolerance_pct", lambda v: v <= 10, "must be at most 10"),
    Floor("low_tolerance_pct", lambda v: v <= 10, "must be at most 10"),
)


def below_floors(settings: dict) -> list[Floor]:
    """The floors a policy's settings break: a policy under them is refused (422)."""
    return [f for f in FLOORS if f.field in settings and not f.holds(settings[f.field])]


def stricter(pinned: dict | None, current: Policy) -> Policy:
    """The stricter of the policy pinned when the proposal opened and the policy in force now,
    field by field: lowering the quorum between sign-offs and apply gains nothing."""
    global _last_stricter
    if not pinned:
        return current
    last = _last_stricter
    if pinned is last[0] and (current is last[1] or current is last[2]):
        # The same two policies as the call before (a guard run asks once per guard), or the
        # result of that call itself: the stricter of the two is idempotent.
        return last[2]
    result = _stricter(pinned, current)
    _last_stricter = (pinned, current, result)  # policies are replaced, never changed in place
    return result


_last_stricter: tuple = (None, None, None)  # (pinned, current, stricter): the last call's


def _stricter(pinned: dict, current: Policy) -> Policy:
    pin = Policy(**{k: v for k, v in pinned.items() if k in Policy.__dataclass_fields__})
    sla = dict(current.stage_sla_days)
    for stage, days in pin.stage_sla_days.items():
        sla[stage] = min(days, sla.get(stage, days))
    return Policy(
        version=current.version,
        min_approvals=max(pin.min_approvals, current.min_approvals),
        min_sectors=max(pin.min_sectors, current.min_sectors),
        required_sectors=sorted(set(pin.required_sectors) | set(current.required_sectors)),
        min_tender_days=max(pin.min_tender_days, current.min_tender_days),
        award_tolerance_pct=min(pin.award_tolerance_pct, current.award_tolerance_pct),
        low_tolerance_pct=min(pin.low_tolerance_pct, current.low_tolerance_pct),
        stage_sla_days=sla,
        # Execution (wave 2): the lower flag threshold, the shorter paralysis, the longer
        # appeal window.
        amendment_flag_pct=min(pin.amendment_flag_pct, current.amendment_flag_pct),
        paralysis_months=min(pin.paralysis_months, current.paralysis_months),
        appeal_days=max(pin.appeal_days, current.appeal_days),
        # Signed sign-offs only, if either asked for them.
        require_member_signatures=pin.require_member_signatures
        or current.require_member_signatures,
    )


def pinned(policy: Policy) -> dict:
    """What a proposal pins when it opens: the version and every setting."""
    data = policy.settings()
    data["version"] = policy.version
    return data
