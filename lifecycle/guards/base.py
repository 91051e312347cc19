from __future__ import annotations

from dataclasses import dataclass

from lifecycle.model import Network, Work


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    guard: str
    message: str

    def as_dict(self) -> dict:
        return {"guard": self.guard, "ok": self.ok, "message": self.message}


@dataclass(frozen=True)
class GuardState:
    """What a guard may look at: the work and the network that oversees it."""

    work: Work
    network: Network
