"""The web side of member signatures (DESIGN §4.3): the page "My keys and my signatures", the
JSON endpoints its script uses to enrol a passkey or a browser Ed25519 key, and the fresh
statement the sign-off form signs.

The script (api/static/keys.js) is the only one the site runs, and only on the pages that
sign: those pages allow `script-src 'self'`; every other page keeps `script-src 'none'`. The
JSON endpoints take the web session and check the CSRF token from the X-CSRF-Token header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RowId
from api.routes.keys import RP_NAME, KeyOut, relying_party, statement_out
from api.web.render import SECURITY_HEADERS, Page, lifecycle_of
from lifecycle.errors import LifecycleError

router = APIRouter()
SIGNING_CSP = SECURITY_HEADERS["Content-Security-Policy"].replace("script-src 'none'",
                                                                  "script-src 'self'")


def allow_signing_script(response: Response) -> Response:
    """Let a page that signs run /static/keys.js (and nothing else: no inline script)."""
    response.headers["Content-Security-Policy"] = SIGNING_CSP
    return response


def _problem(exc: LifecycleError) -> JSONResponse:
    return JSONResponse({"status": exc.status, "detail": exc.message, "errors": exc.errors},
                        status_code=exc.status, media_type="application/problem+json")


def _json_page(request: Request) -> tuple[Page, JSONResponse | None]:
    """The page context of a JSON call, or the refusal: a CSRF token and a logged-in user."""
    page = Page(request)
    if not page.session.csrf_ok(request.headers.get("X-CSRF-Token")):
        return page, JSONResponse({"status": 403, "detail": page.gettext(
            "This form has expired or did not come from this site. Go back, reload the page "
            "and send it again.")}, status_code=403)
    if page.actor is None:
        return page, JSONResponse({"status": 401, "detail": page.gettext("Please log in first.")},
                                  status_code=401)
    return page, None


@router.get("/keys")
def keys_page(request: Request):
    page = Page(request)
    if page.actor is None:
        return page.redirect("/login?next=/keys")
    lc = lifecycle_of(request)
    keys = lc.member_keys(page.actor.id) if page.actor.role == "member" else []
    signed = lc.signed_signoffs(page.actor.id) if page.actor.role == "member" else []
    response = page.render("keys.html", keys=keys, signed=signed,
                           member=page.actor.role == "member")
    return allow_signing_script(response)


@router.post("/keys/options")
def key_options(request: Request):
    page, refused = _json_page(request)
    if refused:
        return refused
    rp_id, _ = relying_party(request)
    try:
        return lifecycle_of(request).key_registration_options(actor=page.actor, rp_id=rp_id,
                                                              rp_name=RP_NAME)
    except LifecycleError as exc:
        return _problem(exc)


@router.post("/keys")
async def register_key(request: Request):
    try:
        body = await request.json()
    except ValueError:
        body = None
    return await run_in_threadpool(_register_key, request, body)


def _register_key(request: Request, body) -> Response:
    page, refused = _json_page(request)
    if refused:
        return refused
    if not isinstance(body, dict):
        return JSONResponse({"status": 422, "detail": "the body must be a JSON object"},
                            status_code=422)
    rp_id, origins = relying_party(request)
    try:
        key = lifecycle_of(request).register_key(
            actor=page.actor, kind=str(body.get("kind", "")), public_key=body.get("public_key"),
            credential=body.get("credential"), rp_id=rp_id, origins=origins)
    except LifecycleError as exc:
        return _problem(exc)
    return JSONResponse(KeyOut.of(key).model_dump(), status_code=201)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str):
    from api.web.forms import handle

    return await handle(request, _revoke_key, key_id)


def _revoke_key(page: Page, form, key_id: str) -> Response:
    try:
        lifecycle_of(page.request).revoke_key(actor=page.actor, key_id=key_id)
    except LifecycleError as exc:
        return page.error(exc.status, exc.message)
    return page.redirect("/keys", "key_revoked")


@router.get("/works/{work_id}/proposals/{proposal_id}/statement")
def statement(request: Request, work_id: RowId, proposal_id: RowId, decision: str = "",
              reason: str = ""):
    """A fresh statement for the logged-in member, with their active keys to sign it."""
    page, refused = _json_page(request)
    if refused:
        return refused
    lc = lifecycle_of(request)
    try:
        made = lc.signoff_statement(actor=page.actor, work_id=work_id, proposal_id=proposal_id,
                                    decision=decision, reason=reason or None)
    except LifecycleError as exc:
        return _problem(exc)
    keys = [{"key_id": k.key_id, "kind": k.kind, "credential_id": k.credential_id,
             "rp_id": k.rp_id} for k in lc.member_keys(page.actor.id) if k.active]
    return {**statement_out(made).model_dump(), "keys": keys,
            "summary": statement_summary(page, lc.get_work(work_id), made)}


def statement_summary(page: Page, work, made) -> list[str]:
    """What the member signs, in plain words of the reader's language: the work, the stage
    change, the decision and reason, the documents of the dossier, the log head."""
    _, words = page.gettext, page.words
    decision = {"approve": _("I approve this stage change."),
                "block": _("I block this stage change."),
                "withdraw": _("I withdraw my earlier sign-off.")}.get(made.decision, made.decision)
    lines = [_("Work: %(code)s — %(title)s") % {"code": work.code, "title": work.title},
             _("Proposed stage change: %(trigger)s") % {"trigger": words.trigger(made.trigger)},
             decision]
    if made.reason:
        lines.append(_("Reason: %(reason)s") % {"reason": made.reason})
    documents = [f"{words.kind(d.kind)}: {d.title}" for d in work.documents]
    lines.append(_("Documents of the dossier: %(list)s") % {
        "list": "; ".join(documents) if documents else _("none")})
    lines.append(_("You sign the dossier and the public log as they stand now (%(size)s "
                   "entries); if either changes before you send, you will be asked again.")
                 % {"size": made.checkpoint.size})
    return lines


def signed_fields(form) -> tuple[dict | None, dict | None]:
    """The statement and proof a signed sign-off form carries (JSON in hidden fields), or
    (None, None) for an unsigned one."""
    import json

    from lifecycle.errors import Invalid

    values = []
    for name in ("statement", "proof"):
        raw = form.get(name)
        if not isinstance(raw, str) or not raw.strip():
            values.append(None)
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            raise Invalid(name, "is not JSON") from None
        if not isinstance(value, dict):
            raise Invalid(name, "must be a JSON object")
        values.append(value)
    return values[0], values[1]
