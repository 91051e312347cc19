"""Account administration: deactivating a user and issuing new credentials (admin only).

Credentials never enter the public log, so neither do these acts: they change only the
`users` row (its token and password hashes) and end the user's web sessions on every process.
A deactivated user keeps their history and their place in the log; they simply can no longer
authenticate, because nobody knows their new token. Issuing new credentials reactivates them.
Membership of a network is a separate, logged act (`member.left`)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from pwdlib import PasswordHash
from sqlalchemy import Column, Integer, delete, select
from sqlmodel import Field, SQLModel

from lifecycle import permissions
from lifecycle.db import LogEntry, User, WebSessionRow
from lifecycle.errors import Forbidden, Invalid, NotFound
from lifecycle.log.canonical import format_time

_passwords = PasswordHash.recommended()


class UserStatus(SQLModel, table=True):
    """When an admin deactivated a user; no row: active."""

    __tablename__ = "user_status"
    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    deactivated_at: str
    deactivated_by: int


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    organization_id: int | None
    entity: str | None
    created_at: str
    has_password: bool
    deactivated_at: str | None


def _admin(actor) -> None:
    if not permissions.is_admin(actor):
        raise Forbidden(f"this needs the role admin; you are {actor.role}")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accounts(lc) -> list[Account]:
    """Every user with whether it can log in, for the administration page."""
    with lc.engine.connect() as conn:
        status = {row.user_id: row.deactivated_at
                  for row in conn.execute(select(UserStatus.__table__))}
        rows = conn.execute(select(User.__table__).order_by(User.id)).all()
    return [Account(r.id, r.username, r.role, r.organization_id, r.entity, r.created_at,
                    r.password_hash is not None, status.get(r.id)) for r in rows]


def _change(lc, user_id: int, values: dict, *, deactivate_by: int | None) -> None:
    users, sessions, status = User.__table__, WebSessionRow.__table__, UserStatus.__table__
    with lc.engine.begin() as conn:
        done = conn.execute(users.update().where(users.c.id == user_id).values(**values))
        if done.rowcount == 0:
            raise NotFound(f"user {user_id} not found")
        conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        conn.execute(delete(status).where(status.c.user_id == user_id))
        if deactivate_by is not None:
            conn.execute(status.insert().values(
                user_id=user_id, deactivated_by=deactivate_by,
                deactivated_at=format_time(datetime.now(timezone.utc))))


def deactivate(lc, *, actor, user_id: int) -> None:
    """End every way the user authenticates: a token nobody knows, no password, no session."""
    _admin(actor)
    if actor.id == user_id:
        raise Invalid("user_id", "an admin cannot deactivate their own account")
    _change(lc, user_id, {"token_hash": _token_hash(secrets.token_urlsafe(32)),
                          "password_hash": None}, deactivate_by=actor.id)


def reset_credentials(lc, *, actor, user_id: int, password: str | None = None) -> str:
    """A new API token (returned once, stored as its SHA-256) and optionally a new web password;
    the user's open sessions end. Reactivates a deactivated user."""
    _admin(actor)
    if password is not None and len(password) < 8:
        raise Invalid("password", "must have at least 8 characters")
    token = secrets.token_urlsafe(32)
    password_hash = _passwords.hash(password) if password else None
    _change(lc, user_id, {"token_hash": _token_hash(token), "password_hash": password_hash},
            deactivate_by=None)
    return token


def policy_history(lc, network_id: int) -> list[dict]:
    """Every version of a network's policy, oldest first, from the log: `{version, at, actor,
    seq, policy}`. It is public: anyone can see when the rules changed and how."""
    history = []
    with lc.engine.connect() as conn:
        rows = conn.execute(select(LogEntry.entry).where(LogEntry.type == "policy.set")
                            .order_by(LogEntry.seq)).scalars()
        for raw in rows:
            entry = json.loads(raw)
            if entry["data"].get("network_id") == network_id:
                history.append({"version": entry["data"]["version"], "at": entry["at"],
                                "actor": entry["actor"]["id"], "seq": entry["seq"],
                                "policy": entry["data"]["policy"]})
    return history
