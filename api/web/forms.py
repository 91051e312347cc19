"""Forms: each handler checks the CSRF token, needs a logged-in user, calls one service command
and either redirects to the page with a notice (post/redirect/get) or shows the page again
with what went wrong. The service decides who may do what; the pages only hide forms that
would be refused."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api.deps import MAX_ROW_ID, RowId
from api.throttle import LoginAttempts, Lockout
from api.uploads import has_unsafe_characters, upload_filename, upload_media_type
from api.web.pages import describe_error, render_work
from api.web.render import Page, lifecycle_of, safe_next
from lifecycle.errors import Invalid, LifecycleError

router = APIRouter()
Handler = Callable[..., Response]


async def handle(request: Request, handler: Handler, *args, login: bool = True) -> Response:
    """Parse the form, then run the handler in a worker thread: the service's commands block
    (database, argon2), and the event loop must keep serving other readers meanwhile."""
    form = await request.form(max_files=2, max_fields=50)
    try:
        return await run_in_threadpool(_checked, request, form, handler, login, *args)
    finally:
        await form.close()


def _checked(request: Request, form: FormData, handler: Handler, login: bool, *args) -> Response:
    page = Page(request)
    if not page.session.csrf_ok(form.get("csrf")):
        return page.error(403, page.gettext(
            "This form has expired or did not come from this site. Go back, reload the page "
            "and send it again."), title=page.gettext("Form refused"))
    if login and page.actor is None:
        # Back to the page the form was on once logged in (a logout in another tab).
        back = urlsplit(request.headers.get("referer", "")).path
        return page.redirect("/login?next=" + quote(safe_next(back), safe=""))
    return handler(page, form, *args)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def whole_number(value: str, maximum: int = MAX_ROW_ID) -> int | None:
    """The value as a whole number, or None: ASCII digits only ("²" is a digit to
    str.isdigit, not to int()), and no larger than the database's integer columns hold."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) > maximum:
        return None
    return int(value)


def on_work(page: Page, work_id: int, command: Callable[[], object], notice: str,
            form: FormData) -> Response:
    """Run a command on a work; back to its page with a notice, or the page with the error."""
    try:
        command()
    except LifecycleError as exc:
        return render_work(page, work_id, status_code=exc.status,
                           error=describe_error(page, exc),
                           form={k: v for k, v in form.items() if isinstance(v, str)})
    return page.redirect(f"/works/{work_id}", notice)


# ---------------------------------------------------------------------- login
@router.post("/login")
async def login(request: Request):
    return await handle(request, _login, login=False)


def _login(page: Page, form: FormData) -> Response:
    # Names are stored in NFC; a Mac may send what was typed in NFD.
    username = unicodedata.normalize("NFC", text(form, "username").strip())
    password = text(form, "password")
    target = safe_next(text(form, "next"))
    if not (username and password):
        return page.render("login.html", status_code=401, next=target, username=username,
                           error=page.gettext("Wrong username or password."))
    lc = lifecycle_of(page.request)
    attempts = LoginAttempts(lc, username, page.request.client.host
                             if page.request.client else None)
    lockout = attempts.lockout()
    actor = None
    if lockout is None and not has_unsafe_characters(username):
        actor = lc.authenticate_password(username, password)
    if actor is None:
        lockout = lockout or attempts.failed()
        if lockout is not None:
            return locked_out(page, lockout, target, username)
        return page.render("login.html", status_code=401, next=target, username=username,
                           error=page.gettext("Wrong username or password."))
    attempts.succeeded()
    page.session.login(actor.id)
    return page.redirect(target, "logged_in")


def locked_out(page: Page, lockout: Lockout, target: str, username: str) -> Response:
    """429: the same words whether or not the account exists, and no password was checked."""
    response = page.render("login.html", status_code=429, next=target, username=username,
                           error=page.translations.ngettext(
                               "Too many failed attempts. Wait %(num)s minute and try again.",
                               "Too many failed attempts. Wait %(num)s minutes and try again.",
                               lockout.minutes) % {"num": lockout.minutes})
    response.headers.update(lockout.headers)
    return response


@router.post("/logout")
async def logout(request: Request):
    return await handle(request, _logout, login=False)


def _logout(page: Page, form: FormData) -> Response:
    page.session.logout()
    return page.redirect("/", "logged_out")


# ---------------------------------------------------------------------- officials
@router.get("/works/new")
def new_work_page(request: Request):
    page = Page(request)
    if page.actor is None:
        return page.redirect("/login?next=/works/new")
    if page.actor.role != "official":
        return page.error(403, page.gettext("Only officials of a public entity register works."))
    return page.render("work_new.html", **work_form_choices(page), form={"currency": "PEN"},
                       error=None)


def work_form_choices(page: Page) -> dict:
    """What the registration form offers: Peru's regions with the network that oversees each
    (the engine assigns it from the region), and the work sectors in the reader's words."""
    from lifecycle.regions import REGIONS
    from lifecycle.work_details import WORK_SECTORS

    networks = lifecycle_of(page.request).list_networks()
    overseen = {region: n.name for n in networks for region in (n.regions or [n.region])}
    return {"networks": networks, "regions": [(r, overseen.get(r)) for r in REGIONS],
            "work_sectors": [(code, page.words.work_sector(code)) for code in WORK_SECTORS]}


@router.post("/works")
async def register_work(request: Request):
    return await handle(request, _register_work)


def _register_work(page: Page, form: FormData) -> Response:
    lc = lifecycle_of(page.request)
    network = text(form, "network_id")
    try:
        # The region's network oversees the work; a network chosen in the form must be it.
        work = lc.register_work(
            actor=page.actor, code=text(form, "code"), title=text(form, "title"),
            region=text(form, "region"), network_id=whole_number(network),
            reference_amount=text(form, "reference_amount").replace(",", "").strip(),
            currency=text(form, "currency").strip().upper() or "PEN",
            cui=text(form, "cui").strip() or None, province=text(form, "province") or None,
            district=text(form, "district") or None, sector=text(form, "sector") or None,
            description=text(form, "description") or None)
    except LifecycleError as exc:
        return page.render("work_new.html", status_code=exc.status, **work_form_choices(page),
                           form={k: v for k, v in form.items() if isinstance(v, str)},
                           error=describe_error(page, exc))
    return page.redirect(f"/works/{work.id}", "work_registered")


@router.post("/works/{work_id}/correct")
async def correct_work(request: Request, work_id: RowId):
    return await handle(request, _correct_work, work_id)


def _correct_work(page: Page, form: FormData, work_id: int) -> Response:
    """Only the fields whose value changed are sent: an untouched field is not "corrected"."""
    lc = lifecycle_of(page.request)

    def command():
        work = lc.get_work(work_id)
        changes = {}
        for name in ("title", "cui", "province", "district", "description"):
            if name in form:
                value = text(form, name).strip()
                if value != (getattr(work, name) or ""):
                    changes[name] = value
        return lc.correct_work(actor=page.actor, work_id=work_id, reason=text(form, "reason"),
                               **changes)
    return on_work(page, work_id, command, "work_corrected", form)


@router.post("/works/{work_id}/documents")
async def attach_document(request: Request, work_id: RowId):
    return await handle(request, _attach_document, work_id)


def _attach_document(page: Page, form: FormData, work_id: int) -> Response:
    upload = form.get("file")

    def command():
        filename = upload_filename(upload.filename) if isinstance(upload, UploadFile) else None
        if filename is None:
            raise Invalid("file", "choose a file to upload")
        lifecycle_of(page.request).attach_document(
            actor=page.actor, work_id=work_id, kind=text(form, "kind"),
            title=text(form, "title"), filename=filename, content=upload.file,
            media_type=upload_media_type(upload.content_type))

    return on_work(page, work_id, command, "document_attached", form)


@router.post("/works/{work_id}/observations/{observation_id}/answer")
async def answer_observation(request: Request, work_id: RowId, observation_id: RowId):
    return await handle(request, _answer_observation, work_id, observation_id)


def _answer_observation(page: Page, form: FormData, work_id: int, observation_id: int):
    return on_work(page, work_id, lambda: lifecycle_of(page.request).answer_observation(
        actor=page.actor, work_id=work_id, observation_id=observation_id,
        text=text(form, "text")), "observation_answered", form)


@router.post("/works/{work_id}/proposals")
async def open_proposal(request: Request, work_id: RowId):
    return await handle(request, _open_proposal, work_id)


def _open_proposal(page: Page, form: FormData, work_id: int) -> Response:
    trigger = text(form, "trigger")

    def command():
        award = None
        if trigger == "award":
            bidders = whole_number(text(form, "bidders"))
            if bidders is None:
                raise Invalid("award.bidders", "must be a whole number")
            award = {"supplier": {"name": text(form, "supplier"),
                                  "tax_id": text(form, "supplier_tax_id").strip()},
                     "amount": text(form, "amount").replace(",", "").strip(),
                     "bidders": bidders}
        lifecycle_of(page.request).open_proposal(
            actor=page.actor, work_id=work_id, trigger=trigger,
            justification=text(form, "justification"), award=award)

    return on_work(page, work_id, command, "proposal_opened", form)


@router.post("/works/{work_id}/proposals/{proposal_id}/withdraw")
async def withdraw_proposal(request: Request, work_id: RowId, proposal_id: RowId):
    return await handle(request, _withdraw_proposal, work_id, proposal_id)


def _withdraw_proposal(page: Page, form: FormData, work_id: int, proposal_id: int):
    return on_work(page, work_id, lambda: lifecycle_of(page.request).withdraw_proposal(
        actor=page.actor, work_id=work_id, proposal_id=proposal_id), "proposal_withdrawn", form)


@router.post("/works/{work_id}/proposals/{proposal_id}/apply")
async def apply_proposal(request: Request, work_id: RowId, proposal_id: RowId):
    return await handle(request, _apply_proposal, work_id, proposal_id)


def _apply_proposal(page: Page, form: FormData, work_id: int, proposal_id: int) -> Response:
    version = text(form, "version")
    lc = lifecycle_of(page.request)
    # A refusal is public and permanent: applying while the dry run fails needs a confirmation.
    try:
        work = lc.get_work(work_id)
        failing = [r for r in lc.dry_run(work) if not r.ok]
    except LifecycleError:
        failing = []
    if failing and text(form, "confirm_refusal") != "on":
        return render_work(page, work_id, status_code=422, error=page.gettext(
            "Some rules are not met yet, so applying now would be refused, publicly and for "
            "good. Fix what is missing, or tick the confirmation to try anyway."))
    try:
        outcome = lifecycle_of(page.request).apply_proposal(
            actor=page.actor, work_id=work_id, proposal_id=proposal_id,
            if_match=whole_number(version, 2**63 - 1))
    except LifecycleError as exc:
        return render_work(page, work_id, status_code=exc.status,
                           error=describe_error(page, exc))
    if not outcome.applied:
        # The refusal is in the log; show the official every guard that failed and why.
        return render_work(page, work_id, status_code=409, refusal=outcome.results)
    return page.redirect(f"/works/{work_id}", "proposal_applied")


# ---------------------------------------------------------------------- network members
@router.post("/works/{work_id}/proposals/{proposal_id}/signoffs")
async def record_signoff(request: Request, work_id: RowId, proposal_id: RowId):
    return await handle(request, _record_signoff, work_id, proposal_id)


def _record_signoff(page: Page, form: FormData, work_id: int, proposal_id: int) -> Response:
    decision = text(form, "decision")
    from api.web.keys import signed_fields  # the statement and proof keys.js added (§4.3)

    try:
        statement, proof = signed_fields(form)
    except LifecycleError as exc:
        return render_work(page, work_id, status_code=exc.status,
                           error=describe_error(page, exc))
    lc = lifecycle_of(page.request)
    reason = text(form, "reason").strip()
    if decision in ("approve", "withdraw") and not reason and _lifts_own_block(
            lc, page.actor, work_id, proposal_id):
        return render_work(page, work_id, status_code=422, error=page.gettext(
            "You are lifting your block: please say why, so the network knows what changed."),
            form={k: v for k, v in form.items() if isinstance(v, str)})
    response = on_work(page, work_id, lambda: lc.record_signoff(
        actor=page.actor, work_id=work_id, proposal_id=proposal_id, decision=decision,
        reason=reason or None, statement=statement, proof=proof),
        f"signoff_{decision}", form)
    if decision == "approve" and response.status_code == 303:
        excluded = _why_not_counted(lc, page.actor, work_id, proposal_id)
        if excluded is not None:  # never "recorded" alone for an approval that will not count
            page.session.take_notices()
            return page.redirect(f"/works/{work_id}", f"signoff_uncounted|{excluded}")
    return response


def _lifts_own_block(lc, actor, work_id: int, proposal_id: int) -> bool:
    try:
        proposal = lc.get_work(work_id).proposal(proposal_id)
    except LifecycleError:
        return False
    latest = proposal.latest_signoffs().get(actor.id) if proposal else None
    return latest is not None and latest.decision == "block"


def _why_not_counted(lc, actor, work_id: int, proposal_id: int) -> str | None:
    """The exclusion of the member's approval just recorded, or None when it counts."""
    from lifecycle.guards import GuardState
    from lifecycle.guards.rules import approval_tally

    work = lc.get_work(work_id)
    proposal = work.proposal(proposal_id)
    tally = approval_tally(GuardState(work, lc.get_network(work.network_id)), proposal)
    return next((t.excluded for t in tally if t.signoff.user_id == actor.id), None)


@router.post("/works/{work_id}/observations/{observation_id}/accept")
async def accept_answer(request: Request, work_id: RowId, observation_id: RowId):
    return await handle(request, _judge_answer, work_id, observation_id, True)


@router.post("/works/{work_id}/observations/{observation_id}/reject")
async def reject_answer(request: Request, work_id: RowId, observation_id: RowId):
    return await handle(request, _judge_answer, work_id, observation_id, False)


def _judge_answer(page: Page, form: FormData, work_id: int, observation_id: int,
                  accept: bool) -> Response:
    """The observation's author accepts the answer, or rejects it with a reason."""
    return on_work(page, work_id, lambda: lifecycle_of(page.request).judge_answer(
        actor=page.actor, work_id=work_id, observation_id=observation_id, accept=accept,
        reason=text(form, "reason") or None),
        "answer_accepted" if accept else "answer_rejected", form)


@router.post("/works/{work_id}/observations")
async def file_observation(request: Request, work_id: RowId):
    return await handle(request, _file_observation, work_id)


def _file_observation(page: Page, form: FormData, work_id: int) -> Response:
    return on_work(page, work_id, lambda: lifecycle_of(page.request).file_observation(
        actor=page.actor, work_id=work_id, text=text(form, "text")), "observation_filed", form)


@router.post("/works/{work_id}/conflicts")
async def declare_conflict(request: Request, work_id: RowId):
    return await handle(request, _declare_conflict, work_id)


def _declare_conflict(page: Page, form: FormData, work_id: int) -> Response:
    return on_work(page, work_id, lambda: lifecycle_of(page.request).declare_conflict(
        actor=page.actor, work_id=work_id, statement=text(form, "statement")),
        "conflict_declared", form)
