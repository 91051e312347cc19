"""Failed-login throttling: the rule, as pure functions, and its state, as rows in the database.

The state lives in the database, not in a process, because several server processes (and
machines) share one PostgreSQL: a guesser spreading attempts over workers must meet one count.
Keys are opaque strings chosen by the caller (api/throttle.py: one per account name tried, one
per client address), so a row says nothing about whether an account exists.

Nothing here enters the log: throttling protects credentials, which never do either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Integer, bindparam, delete, select, update
from sqlmodel import Field, SQLModel

from lifecycle.db import DriverTransaction, Prepared, insert_all
from lifecycle.log.canonical import format_time, parse_time


class LoginThrottleRow(SQLModel, table=True):
    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=128)
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    window_started: str  # format_time of the first failure of the current window
    locked_until: str | None = None  # format_time; refused until then


@dataclass(frozen=True)
class ThrottlePolicy:
    """`max_failures` failures within `window` lock the key for `lockout`."""

    max_failures: int
    window: timedelta
    lockout: timedelta


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    window_started: datetime
    locked_until: datetime | None = None


def locked_for(state: ThrottleState | None, at: datetime) -> timedelta | None:
    """Rule: a locked key is refused, whatever is tried, until its lockout ends. Returns the
    time left, or None when the key may try."""
    if state is None or state.locked_until is None or state.locked_until <= at:
        return None
    return state.locked_until - at


def after_failure(state: ThrottleState | None, at: datetime,
                  policy: ThrottlePolicy) -> ThrottleState:
    """Rule: failures count within a window that starts at the first of them; the one that
    reaches `max_failures` locks the key for `lockout` and starts a new count. A failure
    while locked changes nothing: the lockout stands until it ends."""
    if locked_for(state, at) is not None:
        return state
    if state is None or at - state.window_started >= policy.window or \
            (state.locked_until is not None and state.locked_until <= at):
        state = ThrottleState(failures=0, window_started=at)
    failures = state.failures + 1
    if failures >= policy.max_failures:
        return ThrottleState(failures=0, window_started=at, locked_until=at + policy.lockout)
    return ThrottleState(failures=failures, window_started=state.window_started)


# ---------------------------------------------------------------------- the rows
_TABLE = LoginThrottleRow.__table__
_LOCK_ONE = Prepared(select(_TABLE.c.failures, _TABLE.c.window_started, _TABLE.c.locked_until)
                     .where(_TABLE.c.key == bindparam("key")).with_for_update())
_INSERT = insert_all(_TABLE)
_UPDATE = Prepared(update(_TABLE).where(_TABLE.c.key == bindparam("key")).values(
    failures=bindparam("failures"), window_started=bindparam("window_started"),
    locked_until=bindparam("locked_until")))
_DELETE = Prepared(delete(_TABLE).where(_TABLE.c.key == bindparam("key")))


def _state(row) -> ThrottleState:
    failures, started, until = row
    return ThrottleState(failures, parse_time(started), parse_time(until) if until else None)


def load_states(engine, keys: list[str]) -> dict[str, ThrottleState]:
    """The stored state of each key that has one."""
    with engine.connect() as conn:
        # Expanding IN lists are compiled per call by SQLAlchemy, not by Prepared.
        rows = conn.execute(select(_TABLE).where(_TABLE.c.key.in_(keys))).all()
    return {row.key: _state((row.failures, row.window_started, row.locked_until))
            for row in rows}


def record_failure(engine, key: str, at: datetime, policy: ThrottlePolicy) -> ThrottleState:
    """Count one failure for `key` in one transaction (the row locked on PostgreSQL, the
    database on SQLite), and return the state it leaves."""
    integrity_error = engine.dialect.loaded_dbapi.IntegrityError
    try:
        return _count_failure(engine, key, at, policy)
    except integrity_error:  # another process inserted the row first: count on top of it
        return _count_failure(engine, key, at, policy)


def _count_failure(engine, key: str, at: datetime, policy: ThrottlePolicy) -> ThrottleState:
    with DriverTransaction(engine) as tx:
        row = _LOCK_ONE.one(tx, {"key": key})
        state = after_failure(_state(row) if row else None, at, policy)
        values = {"key": key, "failures": state.failures,
                  "window_started": format_time(state.window_started),
                  "locked_until": format_time(state.locked_until) if state.locked_until
                  else None}
        (_UPDATE if row else _INSERT)(tx, values).close()
    return state


def clear(engine, key: str) -> None:
    """Forget the failures of `key` (a successful login of that account)."""
    with DriverTransaction(engine) as tx:
        _DELETE(tx, {"key": key}).close()
