from __future__ import annotations

from dataclasses import dataclass, field

from lifecycle.model import Network, Work


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    guard: str
    message: str
    # The figures behind the message, for interfaces that say it in another language. They
    # are logged with the verdict, so a timeline read years later can still say it in Spanish
    # from the figures instead of repeating the engine's English sentence.
    details: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        verdict = {"guard": self.guard, "ok": self.ok, "message": self.message}
        if self.details:
            verdict["figures"] = _loggable(self.details)
        return verdict


def _loggable(value):
    """The figures as the log's canonical JSON takes them: no floats, no sets or tuples."""
    if isinstance(value, dict):
        return {str(k): _loggable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_loggable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_loggable(v) for v in value)
    if isinstance(value, float):
        return str(round(value, 2))
    return value


@dataclass(frozen=True)
class GuardState:
    """What a guard may look at: the work and the network that oversees it."""

    work: Work
    network: Network


def observations_of_the_stage(state: GuardState, guard: str, during: str) -> GuardResult:
    """Every observation filed since the work entered its current stage has an answer its
    author has not rejected: the award (tender) and reception at close (execution) both ask
    this of their own stage's observations."""
    work = state.work
    open_ = [o.id for o in work.observations
             if o.filed_seq > work.stage_entered_seq and not o.settled]
    details = {"unanswered": open_}
    if open_:
        ids = ", ".join(f"#{i}" for i in open_)
        return GuardResult(False, guard, f"{len(open_)} observation(s) filed during {during} "
                                         f"unanswered or answer rejected: {ids}", details)
    return GuardResult(True, guard, f"every observation filed during {during} is answered",
                       details)
