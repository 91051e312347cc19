"""The stage machine of a public work, declared once with `transitions`."""

from lifecycle.states.machine import (
    FINAL_STAGES,
    SECTORS,
    STAGES,
    TRANSITIONS,
    TRIGGERS,
    TransitionSpec,
    destination,
    legal_triggers,
    spec_for,
    stage_table,
)

__all__ = [
    "FINAL_STAGES",
    "SECTORS",
    "STAGES",
    "TRANSITIONS",
    "TRIGGERS",
    "TransitionSpec",
    "destination",
    "legal_triggers",
    "spec_for",
    "stage_table",
]
