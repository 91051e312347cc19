"""The stage machine (DESIGN §2).

The table below is the single definition of the lifecycle: the `transitions` Machine is built
from it once per process, the API serves it (`GET /api/v1/stages`) and the web UI draws it.
The machine answers one question — from this stage, where does this trigger lead? — so it is
built without models and asked through a short-lived probe object per call. Building a Machine
per work would cost far more time and memory than adding and removing a model.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from dataclasses import dataclass, field

from transitions import Machine, MachineError

STAGES: tuple[str, ...] = (
    "design",
    "technical_file",
    "tender",
    "award",
    "execution",
    "closure",
    "suspended",
    "cancelled",
)
FINAL_STAGES = frozenset({"closure", "cancelled"})
SUSPENDABLE = ("technical_file", "tender", "award", "execution")
SECTORS = ("government", "civil_society", "private_sector", "professional_association", "academia")
CONSTITUENCIES = ("women", "indigenous", "youth")


@dataclass(frozen=True)
class TransitionSpec:
    """One row of DESIGN §2: what a trigger needs besides being legal from the current stage."""

    trigger: str
    sources: tuple[str, ...]
    dest: str  # "previous" for resume: back to the stage the work was suspended from
    signoff: bool
    documents: tuple[str, ...] = ()
    guards: tuple[str, ...] = field(default=())
    label: str = ""

    def as_dict(self) -> dict:
        return {
            "trigger": self.trigger,
            "from": list(self.sources),
            "to": self.dest,
            "signoff": self.signoff,
            "documents": list(self.documents),
            "guards": list(self.guards),
            "label": self.label,
        }


TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec("approve_design", ("design",), "technical_file", True, ("feasibilityStudy",),
                   label="Approve the design"),
    TransitionSpec("publish_tender", ("technical_file",), "tender", True,
                   ("technicalSpecifications", "budgetApproval"), ("observations_answered",),
                   label="Publish the tender"),
    TransitionSpec("award", ("tender",), "award", True, ("evaluationReports",),
                   ("award_data", "tender_period", "bases_integrated", "tender_observations"),
                   label="Award the contract"),
    TransitionSpec("sign_contract", ("award",), "execution", True, ("contractSigned",),
                   ("buena_pro_consented",), label="Sign the contract"),
    TransitionSpec("close", ("execution",), "closure", True, ("completionCertificate",),
                   ("reception_observations",), label="Close the work"),
    TransitionSpec("declare_void", ("tender",), "technical_file", True, ("evaluationReports",),
                   ("tender_period",), label="Declare the tender void"),
    # Execution under oversight (wave 2): a terminated contract sends the balance of the works
    # back to be re-filed and re-tendered; an amendment keeps the work in execution.
    TransitionSpec("terminate_contract", ("execution",), "technical_file", True,
                   ("termination",), label="Terminate the contract"),
    TransitionSpec("amend", ("execution",), "execution", True, ("contractAmendment",),
                   ("amendment_terms",), label="Amend the contract"),
    TransitionSpec("suspend", SUSPENDABLE, "suspended", False, (), ("reason",),
                   label="Suspend the work"),
    TransitionSpec("resume", ("suspended",), "previous", True, label="Resume the work"),
    TransitionSpec("cancel", tuple(s for s in STAGES if s not in FINAL_STAGES), "cancelled", True,
                   ("cancellationDetails",), label="Cancel the work"),
)
TRIGGERS: tuple[str, ...] = tuple(t.trigger for t in TRANSITIONS)
_SPECS = {t.trigger: t for t in TRANSITIONS}


def spec_for(trigger: str) -> TransitionSpec | None:
    return _SPECS.get(trigger)


class _Probe:
    """A throwaway model: the machine moves it and we read where it landed."""

    def __init__(self, stage: str, suspended_from: str | None):
        self.state = stage
        self.suspended_from = suspended_from

    def back_to(self, stage: str) -> bool:
        return self.suspended_from == stage


_LOCK = threading.Lock()


def _make() -> Machine:
    rows = []
    for spec in TRANSITIONS:
        if spec.dest == "previous":
            for stage in SUSPENDABLE:
                rows.append({
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    "dest": stage,
                    "conditions": f"is_from_{stage}",
                })
        else:
            rows.append({"trigger": spec.trigger, "source": list(spec.sources), "dest": spec.dest})
    return Machine(
        model=None,
        states=list(STAGES),
        transitions=rows,
        initial="design",
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


for _stage in SUSPENDABLE:
    setattr(_Probe, f"is_from_{_stage}", (lambda s: lambda self: self.suspended_from == s)(_stage))

MACHINE = _make()


@lru_cache(maxsize=512)
def destination(stage: str, trigger: str, suspended_from: str | None = None) -> str | None:
    """Where `trigger` takes a work that is in `stage`, or None if it is not legal there.

    The answer depends only on the arguments, so it is cached: the machine is asked once per
    (stage, trigger, origin) combination per process."""
    if trigger not in _SPECS or stage not in STAGES:
        return None
    probe = _Probe(stage, suspended_from)
    # The machine is shared by every request of the process; adding and removing the probe
    # mutates its model list, so those two steps are serialized.
    with _LOCK:
        MACHINE.add_model(probe, initial=stage)
    try:
        try:
            moved = probe.trigger(trigger)
        except MachineError:
            return None
        return probe.state if moved else None
    finally:
        with _LOCK:
            MACHINE.remove_model(probe)


def legal_triggers(stage: str, suspended_from: str | None = None) -> list[str]:
    """Triggers that the machine accepts from `stage` (guards aside)."""
    return [t for t in TRIGGERS if destination(stage, t, suspended_from) is not None]


def stage_table() -> dict:
    """The machine's definition as data, read back from the built Machine."""
    edges = []
    for trigger, event in MACHINE.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                edges.append({"trigger": trigger, "from": source, "to": transition.dest})
    return {
        "stages": list(STAGES),
        "initial": "design",
        "final": sorted(FINAL_STAGES),
        "transitions": [spec.as_dict() for spec in TRANSITIONS],
        "edges": edges,
    }
