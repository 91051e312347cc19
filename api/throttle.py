"""Login throttling at the HTTP boundary: limits per account name tried and per client address,
and per address for unknown API tokens.

A guesser gets `ACCOUNT_POLICY.max_failures` tries at one account name and
`ADDRESS_POLICY.max_failures` from one address before a lockout; while locked, nothing is
checked (not even a right password) and the answer is 429 with Retry-After.

The account key is the name *tried*, hashed, whether or not such an account exists, so a lockout
is the same for a real account and an invented one: it reveals nothing. The counts are rows of
the database (lifecycle/throttle_store.py), shared by every server process.

Time comes from the engine's clock, the one that stamps the log, so tests can move it.
"""

from __future__ import annotations

import hashlib
import math
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle import throttle_store
from lifecycle.errors import LifecycleError
from lifecycle.service import Lifecycle
from lifecycle.throttle_store import ThrottlePolicy, locked_for


def _policy(prefix: str, failures: int, minutes: int) -> ThrottlePolicy:
    minutes = int(os.environ.get(f"LIFECYCLE_{prefix}_LOCKOUT_MINUTES", minutes))
    return ThrottlePolicy(
        max_failures=int(os.environ.get(f"LIFECYCLE_{prefix}_MAX_FAILURES", failures)),
        window=timedelta(minutes=minutes), lockout=timedelta(minutes=minutes))


# Five wrong passwords for one name in 15 minutes is a guess, not a typo. An address may hold
# many people (an office behind one NAT), so it gets more tries before it is locked.
ACCOUNT_POLICY = _policy("LOGIN_ACCOUNT", 5, 15)
ADDRESS_POLICY = _policy("LOGIN_ADDRESS", 20, 15)
# API tokens are 256-bit random, beyond guessing; a client sending unknown ones by the dozen is
# broken or probing, and is told to wait rather than served 401s at the database's expense.
TOKEN_POLICY = _policy("TOKEN_ADDRESS", 20, 15)


@dataclass(frozen=True)
class Lockout:
    """A refusal: how long until the next try is looked at."""

    retry_after: timedelta

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.seconds)}


def account_key(username: str) -> str:
    """The name tried, as a person would mean it (NFC, case folded), hashed: the table never
    holds what was typed, which is sometimes a password typed into the wrong box."""
    folded = unicodedata.normalize("NFC", username).strip().casefold()
    digest = hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()
    return f"account:{digest}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:100]}"


class LoginAttempts:
    """The throttle of one login attempt: ask `lockout()` first, then report the outcome."""

    def __init__(self, lc: Lifecycle, username: str, address: str | None):
        self.lc = lc
        self.keys = {account_key(username): ACCOUNT_POLICY, address_key(address): ADDRESS_POLICY}

    def lockout(self) -> Lockout | None:
        at = self.lc.clock()
        states = throttle_store.load_states(self.lc.engine, list(self.keys))
        waits = [w for w in (locked_for(states.get(k), at) for k in self.keys) if w]
        return Lockout(max(waits)) if waits else None

    def failed(self) -> Lockout | None:
        """Count the failure against the name and the address; the lockout it starts, if any."""
        at = self.lc.clock()
        waits = []
        for key, policy in self.keys.items():
            wait = locked_for(throttle_store.record_failure(self.lc.engine, key, at, policy), at)
            if wait:
                waits.append(wait)
        return Lockout(max(waits)) if waits else None

    def succeeded(self) -> None:
        """A right password clears the name's count (not the address's: one success from an
        address must not reopen it to a guesser of other names)."""
        account = next(iter(self.keys))
        throttle_store.clear(self.lc.engine, account)


class TooManyAttempts(LifecycleError):
    """429: the caller must wait `Retry-After` seconds."""

    status = 429
    title = "Too many attempts"

    def __init__(self, lockout: Lockout, what: str):
        super().__init__(f"too many {what} from this address; try again in "
                         f"{lockout.seconds} seconds")
        self.headers = lockout.headers


class TokenAttempts:
    """Unknown API tokens per client address. Failures are counted in the database, shared by
    every process; the lockouts this process has seen are also kept in memory, so a request
    with a token costs no extra read (the hot path of every write)."""

    def __init__(self):
        self._locked: dict[str, datetime] = {}

    def lockout(self, lc: Lifecycle, address: str | None) -> Lockout | None:
        until = self._locked.get(address_key(address))
        if until is None:
            return None
        at = lc.clock()
        if until <= at:
            self._locked.pop(address_key(address), None)
            return None
        return Lockout(until - at)

    def failed(self, lc: Lifecycle, address: str | None) -> Lockout | None:
        key, at = address_key(address), lc.clock()
        state = throttle_store.record_failure(lc.engine, "token-" + key, at, TOKEN_POLICY)
        wait = locked_for(state, at)
        if wait is None:
            return None
        self._locked[key] = state.locked_until
        return Lockout(wait)
