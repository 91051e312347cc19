"""Guard functions: the rules a stage change must satisfy (DESIGN §3).

Each guard is a pure function `(state, proposal, policy, at) -> GuardResult`. It reads only
state the log can rebuild and takes the time from the decision being made (`at`), so the live
service and the offline replay reach the same verdicts.
"""

from lifecycle.guards.base import GuardResult, GuardState
from lifecycle.guards.rules import (
    ALL_GUARDS,
    approval_tally,
    evaluate,
    failures,
    red_flags,
    required_approvals,
)

__all__ = [
    "ALL_GUARDS",
    "GuardResult",
    "GuardState",
    "approval_tally",
    "evaluate",
    "failures",
    "red_flags",
    "required_approvals",
]
