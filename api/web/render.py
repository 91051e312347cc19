"""Rendering: one Jinja2 environment for the process, with gettext bound per page through the
template context (so concurrent requests in different languages never share a catalog)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

import api
from api.web.i18n import LANGUAGES, Formats, language, translations
from api.web.session import WebSession, load_session, save_session
from api.web.words import Words, notice
from lifecycle.errors import NotFound
from lifecycle.service import Actor, Lifecycle

# Pages load nothing from other sites and run no script; forms post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; style-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# api/templates is the top-level templates/ folder (a symlink in the checkout, copied into
# the wheel as package data), so one path serves an editable install and a wheel alike.
TEMPLATES_DIR = Path(api.__file__).resolve().parent / "templates"


@pass_context
def _gettext(context, message: str) -> str:
    return context["translations"].gettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return context["translations"].ngettext(singular, plural, n)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR),
                      autoescape=select_autoescape(["html", "svg"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


ENV = _environment()


def lifecycle_of(request: Request) -> Lifecycle:
    return request.app.state.lc


def current_actor(request: Request) -> Actor | None:
    """The logged-in user, or None. A session of a user that no longer exists logs out."""
    session = load_session(request)
    if session.user_id is None:
        return None
    cached = request.scope.get("lifecycle.web_actor")
    if cached is not None:
        return cached
    try:
        user = lifecycle_of(request).user(session.user_id)
    except NotFound:
        session.logout()
        return None
    actor = Actor(id=user.id, username=user.username, role=user.role, entity=user.entity,
                  organization_id=user.organization_id)
    request.scope["lifecycle.web_actor"] = actor
    return actor


class Page:
    """What every page needs: the reader's language, words, formats and session."""

    def __init__(self, request: Request):
        self.request = request
        self.lang = language(request)
        self.translations = translations(self.lang)
        self.fmt = Formats(self.lang)
        self.words = Words(self.translations, self.fmt)
        self.session: WebSession = load_session(request)
        self.actor = current_actor(request)
        self.gettext = self.translations.gettext

    def inbox(self):
        """The reader's "Mis pendientes", computed at most once per request: the header's count
        and the /pending page share it. None for readers with no inbox (public, admins)."""
        if self.actor is None or self.actor.role not in ("member", "official"):
            return None
        if "lifecycle.pending" not in self.request.scope:
            from lifecycle import pending

            lc = lifecycle_of(self.request)
            self.request.scope["lifecycle.pending"] = pending.load(lc, self.actor, lc.clock())
        return self.request.scope["lifecycle.pending"]

    def here(self) -> str:
        query = self.request.url.query
        return self.request.url.path + (f"?{query}" if query else "")

    def render(self, template: str, status_code: int = 200, **context) -> HTMLResponse:
        here = self.here()
        base = {
            "request": self.request, "translations": self.translations, "lang": self.lang,
            "languages": LANGUAGES, "here": here, "fmt": self.fmt, "words": self.words,
            "actor": self.actor, "csrf": self.session.csrf, "inbox": self.inbox,
            "notices": [notice(self.words, key) for key in self.session.take_notices()],
        }
        html = ENV.get_template(template).render(**base, **context)
        response = HTMLResponse(html, status_code=status_code)
        # Pages show the logged-in person's forms: never cache them in shared caches.
        response.headers["Cache-Control"] = "no-store" if self.actor else "no-cache"
        response.headers.update(SECURITY_HEADERS)
        return save_session(self.request, response)

    def redirect(self, url: str, notice: str | None = None) -> Response:
        if notice:
            self.session.notify(notice)
        return save_session(self.request, RedirectResponse(url, status_code=303))

    def error(self, status_code: int, message: str, title: str | None = None) -> HTMLResponse:
        return self.render("error.html", status_code=status_code, message=message,
                           title=title or self.gettext("Something went wrong"))


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never redirect a reader elsewhere after login or a switch."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
