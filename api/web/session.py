"""The web session: a signed cookie holding who is logged in, the CSRF token of every form and a
one-shot notice for the next page. Nothing secret is in it; itsdangerous signs it with a key kept
in the data folder (created at first start, mode 0600) or taken from $LIFECYCLE_WEB_SECRET."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "lifecycle_session"
SECRET_FILE = "web-session.key"
SESSION_MAX_AGE = 12 * 3600  # a working day: a forgotten login on a shared computer expires


def session_secret(data_dir: Path) -> str:
    """The signing key: from the environment, else the data folder's key file, made once."""
    from_env = os.environ.get("LIFECYCLE_WEB_SECRET")
    if from_env:
        return from_env
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    serializer = getattr(state, "web_session_serializer", None)
    if serializer is None:
        serializer = URLSafeTimedSerializer(session_secret(state.lc.data_dir),
                                            salt="lifecycle.web.session")
        state.web_session_serializer = serializer
    return serializer


@dataclass
class WebSession:
    user_id: int | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    notices: list[str] = field(default_factory=list)
    changed: bool = True

    def login(self, user_id: int) -> None:
        # A new CSRF token at login: a token seen before login is worth nothing after it.
        self.user_id = user_id
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def logout(self) -> None:
        self.user_id = None
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
            session = WebSession(user_id=data.get("u"), csrf=data["c"],
                                 notices=list(data.get("n", [])), changed=False)
        except (BadSignature, KeyError, TypeError, AttributeError):
            session = WebSession()
    request.scope["lifecycle.web_session"] = session
    return session


def save_session(request: Request, response: Response) -> Response:
    session = load_session(request)
    if session.changed:
        value = _serializer(request).dumps(
            {"u": session.user_id, "c": session.csrf, "n": session.notices})
        response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, path="/",
                            httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response
