"""The e-mail outbox: both sides in one module (the enqueue inside the append transaction, and
the sender that drains it).

Why an outbox: a notification must exist exactly when the entry that causes it does. The rows
are written by the same transaction that appends the entry, so a crash before the commit leaves
neither, and a crash after it leaves both; the sender then delivers what is due.

Delivery is at-least-once with a stable Message-ID per row (`<outbox-ID.SEQ@origin>`): a row is
marked sent only after the SMTP server accepted the message. The only window for a duplicate is
a crash between the server's acceptance and that mark; a duplicate then carries the same
Message-ID, which mail clients and servers treat as the same message.

E-mail addresses and preferences are private: they live in `notification_settings`, never in
the public log, and an operator can change them without leaving a trace in it."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

from sqlalchemy import Column, Integer, Text, UniqueConstraint, bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from lifecycle.db import DriverTransaction, Prepared
from lifecycle.errors import Invalid
from lifecycle.log.canonical import format_time
from lifecycle.model import State
from lifecycle.notify import KINDS, Notification, notifications_for

MAX_ATTEMPTS = 10
LANGUAGES = ("es", "en")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,63}$")


class OutboxRow(SQLModel, table=True):
    """One notification owed to one user because of one log entry."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("seq", "user_id", "kind", name="uq_outbox_entry_user_kind"),)
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=True))
    seq: int = Field(index=True)  # the entry that caused it
    user_id: int = Field(index=True)
    kind: str
    work_id: int | None = None
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON: codes and figures
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: str = Field(index=True)
    created_at: str
    sent_at: str | None = None
    last_error: str | None = None


class NotificationSettings(SQLModel, table=True):
    """A user's private contact settings: an address, a language and the muted kinds."""

    __tablename__ = "notification_settings"
    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    email: str | None = None
    language: str = "es"
    muted: str = ""  # comma-separated notification kinds the user does not want


_OUTBOX = OutboxRow.__table__
_SETTINGS = NotificationSettings.__table__
_INSERT_OUTBOX = Prepared(_OUTBOX.insert().values(
    {c.name: bindparam(c.name) for c in _OUTBOX.columns if c.name != "id"}))


@dataclass(frozen=True)
class Settings:
    user_id: int
    email: str | None
    language: str
    muted: frozenset[str]

    def wants(self, kind: str) -> bool:
        return self.email is not None and kind not in self.muted


def enqueue_for(tx) -> int:
    """The service's hook: the outbox rows for a write transaction's entries. The networks of
    the works it touched are loaded first (a proposal opened notifies the whole network)."""
    if not tx.entries:
        return 0
    if any(entry["type"] == "proposal.opened" for entry in tx.entries):
        for work in list(tx.state.works.values()):
            tx.network(work.network_id)
    return enqueue(tx.conn, tx.entries, tx.state)


def enqueue(conn: DriverTransaction, entries: list[dict], state: State) -> int:
    """Write the outbox rows the entries cause, on the append's own transaction. Returns how
    many. Users without an address, or who muted the kind, get no row."""
    owed: list[Notification] = [n for entry in entries for n in notifications_for(entry, state)]
    if not owed:
        return 0
    ids = sorted({n.user_id for n in owed if isinstance(n.user_id, int)})
    if not ids:
        return 0
    rows = _settings_rows(conn, ids)
    wanted = [n for n in owed if n.user_id in rows and rows[n.user_id].wants(n.kind.value)]
    if not wanted:
        return 0
    at = entries[-1]["at"]
    _INSERT_OUTBOX(conn, many=[{
        "seq": n.seq, "user_id": n.user_id, "kind": n.kind.value, "work_id": n.work_id,
        "params": json.dumps(n.params, ensure_ascii=False, sort_keys=True), "status": "pending",
        "attempts": 0, "next_attempt_at": at, "created_at": at, "sent_at": None,
        "last_error": None} for n in wanted])
    return len(wanted)


def _settings_rows(conn: DriverTransaction, ids: list[int]) -> dict[int, Settings]:
    marks = ",".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in ids)
    cursor = conn.cursor()
    cursor.execute(f"SELECT user_id, email, language, muted FROM notification_settings "
                   f"WHERE user_id IN ({marks})", tuple(ids))
    return {row[0]: Settings(row[0], row[1], row[2], frozenset(filter(None, row[3].split(","))))
            for row in cursor.fetchall()}


# ---------------------------------------------------------------------------- settings
def check_email(value: str | None) -> str | None:
    """An address a mail server will take, or None to have no e-mail."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not _EMAIL.match(value):
        raise Invalid("email", "is not an e-mail address")
    return value


def save_settings(engine: Engine, user_id: int, *, email: str | None, language: str = "es",
                  muted: list[str] | tuple[str, ...] = ()) -> Settings:
    """Create or replace a user's contact settings."""
    email = check_email(email)
    if language not in LANGUAGES:
        raise Invalid("language", f"must be one of {', '.join(LANGUAGES)}")
    unknown = sorted(set(muted) - set(KINDS))
    if unknown:
        raise Invalid("muted", f"unknown notification kinds: {', '.join(unknown)}")
    values = {"email": email, "language": language, "muted": ",".join(sorted(set(muted)))}
    with engine.begin() as conn:
        done = conn.execute(_SETTINGS.update().where(_SETTINGS.c.user_id == user_id)
                            .values(**values))
        if done.rowcount == 0:
            conn.execute(_SETTINGS.insert().values(user_id=user_id, **values))
    return Settings(user_id, email, language, frozenset(muted))


def load_settings(engine: Engine, user_id: int) -> Settings:
    with engine.connect() as conn:
        row = conn.execute(select(_SETTINGS).where(_SETTINGS.c.user_id == user_id)).first()
    if row is None:
        return Settings(user_id, None, "es", frozenset())
    return Settings(row.user_id, row.email, row.language,
                    frozenset(filter(None, row.muted.split(","))))


# ---------------------------------------------------------------------------- sending
@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes: `smtp://[user:pass@]host[:port]`, `smtp+starttls://…` or `smtps://…`."""

    host: str
    port: int
    security: str  # none | starttls | tls
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise Invalid("LIFECYCLE_SMTP_URL", "must look like smtp://host:port, "
                          "smtp+starttls://host:587 or smtps://host:465")
        default = {"none": 25, "starttls": 587, "tls": 465}[security]
        return cls(parts.hostname, parts.port or default, security,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def connect(self, timeout: float) -> smtplib.SMTP:
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    retried: int
    failed: int


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … at most 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def deliver_due(engine: Engine, target: SmtpTarget, *, mail_from: str, base_url: str,
                origin: str, now: datetime | None = None, limit: int = 50,
                timeout: float = 10.0) -> DeliveryReport:
    """Send the notifications that are due, oldest first; mark each one sent right after the
    server accepted it, or schedule its retry with back-off (failed after MAX_ATTEMPTS)."""
    from lifecycle.mail_text import compose  # words and templates, only where mail is sent

    now = now or datetime.now(timezone.utc)
    stamp = format_time(now)
    with engine.connect() as conn:
        due = conn.execute(
            select(_OUTBOX, _SETTINGS.c.email, _SETTINGS.c.language)
            .join(_SETTINGS, _SETTINGS.c.user_id == _OUTBOX.c.user_id, isouter=True)
            .where(_OUTBOX.c.status == "pending", _OUTBOX.c.next_attempt_at <= stamp)
            .order_by(_OUTBOX.c.id).limit(limit)).all()
    if not due:
        return DeliveryReport(0, 0, 0)
    sent = retried = failed = 0
    smtp: smtplib.SMTP | None = None
    try:
        for row in due:
            if not row.email:  # the address was removed after the entry: nothing to send to
                _finish(engine, row.id, status="failed", error="no e-mail address", at=stamp)
                failed += 1
                continue
            message = compose(row.kind, json.loads(row.params), language=row.language or "es",
                              base_url=base_url)
            mail = EmailMessage()
            mail["From"], mail["To"] = mail_from, row.email
            mail["Subject"] = message.subject
            mail["Date"] = format_datetime(now)
            host = urlsplit(base_url).hostname or "lifecycle"
            mail["Message-ID"] = f"<outbox-{row.id}.{row.seq}@{host}>"
            mail["X-Lifecycle-Log"] = origin
            mail["X-Lifecycle-Entry"] = str(row.seq)
            mail.set_content(message.body)
            try:
                if smtp is None:
                    smtp = target.connect(timeout)
                smtp.send_message(mail)
            except (OSError, smtplib.SMTPException) as exc:
                smtp = _close(smtp)
                attempts = row.attempts + 1
                if attempts >= MAX_ATTEMPTS:
                    _finish(engine, row.id, status="failed", error=str(exc)[:500], at=stamp,
                            attempts=attempts)
                    failed += 1
                else:
                    _finish(engine, row.id, status="pending", error=str(exc)[:500], at=None,
                            attempts=attempts, next_at=format_time(now + backoff(attempts)))
                    retried += 1
                continue
            _finish(engine, row.id, status="sent", error=None, at=stamp,
                    attempts=row.attempts + 1)
            sent += 1
    finally:
        _close(smtp)
    return DeliveryReport(sent, retried, failed)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


def _finish(engine: Engine, row_id: int, *, status: str, error: str | None, at: str | None,
            attempts: int | None = None, next_at: str | None = None) -> None:
    values: dict = {"status": status, "last_error": error}
    if status == "sent":
        values["sent_at"] = at
    if attempts is not None:
        values["attempts"] = attempts
    if next_at is not None:
        values["next_attempt_at"] = next_at
    with engine.begin() as conn:
        conn.execute(_OUTBOX.update().where(_OUTBOX.c.id == row_id).values(**values))


def pending_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(_OUTBOX.c.id).where(_OUTBOX.c.status == "pending")).all())


__all__ = ["OutboxRow", "NotificationSettings", "enqueue", "deliver_due", "save_settings",
           "load_settings", "SmtpTarget", "DeliveryReport"]


def mail_job(lc, environ: dict | None = None):
    """The worker's job that drains the outbox, configured from the environment:
    LIFECYCLE_SMTP_URL (none: no job, and rows wait in the outbox until one is configured),
    LIFECYCLE_MAIL_FROM, and LIFECYCLE_BASE_URL for the links in the messages."""
    import os

    environ = os.environ if environ is None else environ
    url = environ.get("LIFECYCLE_SMTP_URL")
    if not url:
        return None
    target = SmtpTarget.parse(url)
    mail_from = environ.get("LIFECYCLE_MAIL_FROM", "lifecycle@localhost")
    base_url = environ.get("LIFECYCLE_BASE_URL", "http://127.0.0.1:8000")

    def deliver() -> DeliveryReport:
        from lifecycle.ledger import signer

        return deliver_due(lc.engine, target, mail_from=mail_from, base_url=base_url,
                           origin=signer(lc).origin, now=lc.clock())

    return deliver
