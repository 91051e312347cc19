from __future__ import annotations

from dataclasses import dataclass, field

from lifecycle.model import Network, Work


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    guard: str
    message: str
    # The figures behind the message, for interfaces that say it in another language. Not
    # logged: the entry keeps the verdict and the message.
    details: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        return {"guard": self.guard, "ok": self.ok, "message": self.message}


@dataclass(frozen=True)
class GuardState:
    """What a guard may look at: the work and the network that oversees it."""

    work: Work
    network: Network
