"""The web session. The cookie, signed with itsdangerous, holds the CSRF token of every form, a
one-shot notice for the next page and, once logged in, a random session id. Who is logged in
is kept on the server: the table `web_sessions` holds the SHA-256 of each live session id and
its user, so a stolen cookie is worth nothing once its session ends, and logging out (or the
session's expiry) ends it on every worker process and every machine that shares the database.

The signing key comes from $LIFECYCLE_WEB_SECRET, else from the data folder's key file (made
once, written atomically, mode 0600). Every server behind one address needs the same key: set
the variable on each machine. A key shorter than MIN_SECRET_CHARS is refused."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import Response

from lifecycle.db import DriverTransaction, Prepared, WebSessionRow, insert_all

SESSION_COOKIE = "lifecycle_session"
SECRET_FILE = "web-session.key"
SECRET_ENV = "LIFECYCLE_WEB_SECRET"
MIN_SECRET_CHARS = 32  # token_urlsafe(48) gives 64; 32 characters are at least 190 bits
SESSION_MAX_AGE = 12 * 3600  # a working day: a forgotten login on a shared computer expires


class WebSecretError(RuntimeError):
    """The session key is missing, empty or too short: the server must not start with it,
    since a guessable key lets anyone forge a session cookie."""


def _checked_secret(value: str, where: str) -> str:
    if len(value) < MIN_SECRET_CHARS:
        raise WebSecretError(
            f"the web session key in {where} is {'empty' if not value else 'too short'}: it "
            f"needs at least {MIN_SECRET_CHARS} characters (for example the output of "
            f"`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    return value


def session_secret(data_dir: Path) -> str:
    """The signing key: from the environment, else the data folder's key file, made once."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env is not None:
        return _checked_secret(from_env.strip(), f"${SECRET_ENV}")
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        _create_key_file(path)
    return _checked_secret(path.read_text().strip(),
                           f"{path} (delete the file to make a new one, or set ${SECRET_ENV})")


def _create_key_file(path: Path) -> None:
    """Write a new key to a temporary file, fsync it, and link it into place only if no other
    process got there first (a link, unlike a rename, never replaces a key another worker has
    already read). A crash at any point leaves either no key file or a complete one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".web-session-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another worker made it first: use theirs
            return
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        os.unlink(tmp)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    serializer = getattr(state, "web_session_serializer", None)
    if serializer is None:
        serializer = URLSafeTimedSerializer(session_secret(state.lc.data_dir),
                                            salt="lifecycle.web.session")
        state.web_session_serializer = serializer
    return serializer


# ----------------------------------------------------------------------------- the session store
_rows = WebSessionRow.__table__
_LIVE = Prepared(select(_rows.c.user_id).where(_rows.c.id_hash == bindparam("id_hash"),
                                               _rows.c.expires_at > bindparam("now")))
_INSERT = insert_all(_rows)
_END = Prepared(_rows.delete().where(_rows.c.id_hash == bindparam("id_hash")))
_END_EXPIRED = Prepared(_rows.delete().where(_rows.c.expires_at <= bindparam("now")))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    # Session expiry is the server's own bookkeeping, not a rule of the log: the wall clock.
    return datetime.now(timezone.utc)


def live_session_user(engine: Engine, session_id: str) -> int | None:
    """The user of a session that has neither ended nor expired."""
    with engine.connect() as conn:
        row = _LIVE.one(conn, {"id_hash": _hash(session_id), "now": _stamp(_now())})
    return row[0] if row else None


def _record(engine: Engine, *, ended: list[str], started: str | None, user_id: int | None):
    now = _now()
    with DriverTransaction(engine) as tx:
        for session_id in ended:
            _END(tx, {"id_hash": _hash(session_id)}).close()
        if started is not None:
            _END_EXPIRED(tx, {"now": _stamp(now)}).close()
            _INSERT(tx, {"id_hash": _hash(started), "user_id": user_id,
                         "created_at": _stamp(now),
                         "expires_at": _stamp(now + timedelta(seconds=SESSION_MAX_AGE))}).close()


@dataclass
class WebSession:
    user_id: int | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    notices: list[str] = field(default_factory=list)
    changed: bool = True
    session_id: str | None = None  # as the cookie carries it; the server keeps its hash
    ended: list[str] = field(default_factory=list)  # to delete from the store when saved
    started: bool = False  # session_id is new: to add to the store when saved

    def login(self, user_id: int) -> None:
        # A new session id and CSRF token at login: nothing seen before login is worth
        # anything after it (no session fixation).
        if self.session_id is not None and not self.started:
            self.ended.append(self.session_id)
        self.user_id = user_id
        self.session_id = secrets.token_urlsafe(32)
        self.started = True
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def logout(self) -> None:
        if self.session_id is not None and not self.started:
            self.ended.append(self.session_id)
        self.user_id = None
        self.session_id = None
        self.started = False
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def notify(self, key: str) -> None:
        self.notices.append(key)
        self.changed = True

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        if notices:
            self.changed = True
        return notices

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf.encode())


def load_session(request: Request) -> WebSession:
    cached = request.scope.get("lifecycle.web_session")
    if cached is not None:
        return cached
    session = WebSession()
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE)
            session = WebSession(csrf=data["c"], notices=list(data.get("n", [])),
                                 changed=False)
            session_id = data.get("s")
        except (BadSignature, KeyError, TypeError, AttributeError):
            session, session_id = WebSession(), None
        if isinstance(session_id, str):
            user_id = live_session_user(request.app.state.lc.engine, session_id)
            if user_id is None:  # ended elsewhere, or expired: the cookie forgets it
                session.changed = True
            else:
                session.user_id, session.session_id = user_id, session_id
    request.scope["lifecycle.web_session"] = session
    return session


def save_session(request: Request, response: Response) -> Response:
    session = load_session(request)
    if session.ended or session.started:
        _record(request.app.state.lc.engine, ended=session.ended,
                started=session.session_id if session.started else None,
                user_id=session.user_id)
        session.ended, session.started = [], False
    if session.changed:
        value = _serializer(request).dumps(
            {"s": session.session_id, "c": session.csrf, "n": session.notices})
        response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, path="/",
                            httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        session.changed = False
    return response
