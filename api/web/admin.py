"""Administration in the web, for admins: networks (regions, members, policy with its floors
and public history), organizations (RUC, kind, sector) and users (create, deactivate, new
credentials). Nothing an admin needs requires curl.

Every form calls the same service command as the API; the engine checks the role again, so
these pages only decide what to show. A refused command comes back on the same page with the
engine's reason in the reader's words, and the fields as they were typed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from api.deps import RowId
from api.web.forms import handle, text
from api.web.pages import describe_error
from api.web.render import Page, lifecycle_of
from lifecycle import accounts, permissions
from lifecycle.errors import Invalid, LifecycleError
from lifecycle.guards.policy import FLOORS
from lifecycle.model import ORGANIZATION_KINDS, Policy
from lifecycle.regions import REGIONS
from lifecycle.states import SECTORS, STAGES
from lifecycle.states.machine import CONSTITUENCIES
from lifecycle.validation import ROLES

router = APIRouter(prefix="/admin")

# The policy fields the form edits as whole numbers (the rest have their own controls).
NUMBER_FIELDS = ("min_approvals", "min_sectors", "min_tender_days", "award_tolerance_pct",
                 "low_tolerance_pct", "amendment_flag_pct", "paralysis_months", "appeal_days")


def _floor_bound(field: str) -> tuple[str, int] | None:
    """A numeric floor as ("min", n) or ("max", n), probed from the floor's own test so that
    the form can never say something other than what the engine enforces."""
    floor = next((f for f in FLOORS if f.field == field), None)
    if floor is None or field == "required_sectors":
        return None
    passing = [v for v in range(0, 1001) if floor.holds(v)]
    if not passing:
        return None
    return ("min", passing[0]) if floor.holds(1000) else ("max", passing[-1])


def _words(page: Page) -> dict:
    """The names the administration pages need, in the reader's language."""
    _ = page.gettext
    kinds = {"public_entity": _("public entity"), "company": _("company"),
             "consortium": _("consortium"), "association": _("association"),
             "ngo": _("non-governmental organization"), "university": _("university"),
             "other": _("other")}
    labels = {
        "min_approvals": _("Approvals needed"), "min_sectors": _("Distinct sectors needed"),
        "min_tender_days": _("Minimum days of tender"),
        "award_tolerance_pct": _("Award above the reference amount: red flag from (%)"),
        "low_tolerance_pct": _("Award below the reference amount: red flag from (%)"),
        "amendment_flag_pct": _("Additional works: red flag from (percent of the contract)"),
        "paralysis_months": _("Months without progress to count a work as paralysed"),
        "appeal_days": _("Business days to appeal the award"),
        "required_sectors": _("Sectors that must approve"),
        "require_member_signatures": _("Signed sign-offs only"),
    }

    def floor_hint(field: str) -> str:
        if field == "required_sectors":
            return _("must include civil society")
        bound = _floor_bound(field)
        if bound is None:
            return ""
        return (_("at least %(num)s") if bound[0] == "min" else _("at most %(num)s")) % {
            "num": bound[1]}

    def policy_value(key: str, value) -> str:
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, list):
            return page.words.join([page.words.sector(v) for v in value])
        return str(value)

    return {"kind_name": lambda code: kinds.get(code, code),
            "policy_label": lambda key: labels.get(key, key),
            "floor_hint": floor_hint, "policy_value": policy_value}


def _refused(page: Page) -> Response | None:
    if page.actor is None:
        return page.redirect("/login?next=%2Fadmin")
    if not permissions.is_admin(page.actor):
        return page.error(403, page.gettext("Only administrators can use these pages."),
                          title=page.gettext("You are not allowed to do this."))
    return None


def _fields(form: FormData | None) -> dict:
    return {k: v for k, v in (form or {}).items() if isinstance(v, str)}


def _overview(page: Page, *, status_code: int = 200, error: str | None = None,
              form: FormData | None = None, which: str | None = None,
              created: dict | None = None) -> Response:
    lc = lifecycle_of(page.request)
    query = page.request.query_params.get("q", "")[:200]
    return page.render(
        "admin.html", status_code=status_code, error=error, which=which, **_words(page),
        form=_fields(form), created=created, q=query,
        networks=lc.list_networks(), organizations=lc.list_organizations(query or None),
        users=accounts.accounts(lc), regions=REGIONS, sectors=SECTORS, roles=ROLES,
        kinds=ORGANIZATION_KINDS)


def _network(page: Page, network_id: int, *, status_code: int = 200, error: str | None = None,
             form: FormData | None = None, which: str | None = None) -> Response:
    lc = lifecycle_of(page.request)
    try:
        network = lc.get_network(network_id)
    except LifecycleError:
        return page.error(404, page.gettext("Not found."))
    active = sorted((m for m in network.members.values() if m.active),
                    key=lambda m: m.username)
    members = {m.user_id for m in active}
    candidates = [a for a in accounts.accounts(lc)
                  if a.role == "member" and a.id not in members and a.deactivated_at is None]
    return page.render(
        "admin_network.html", status_code=status_code, error=error, which=which, **_words(page),
        form=_fields(form), network=network, active=active, candidates=candidates,
        organizations=lc.list_organizations(None), constituencies=CONSTITUENCIES,
        sectors=SECTORS, stages=[s for s in STAGES if s in Policy().stage_sla_days],
        number_fields=NUMBER_FIELDS, floors={f.field: f for f in FLOORS},
        history=list(reversed(accounts.policy_history(lc, network_id))))


@router.get("")
def admin_page(request: Request) -> Response:
    page = Page(request)
    return _refused(page) or _overview(page)


@router.get("/networks/{network_id}")
def admin_network_page(request: Request, network_id: RowId) -> Response:
    page = Page(request)
    return _refused(page) or _network(page, network_id)


def _on_overview(page: Page, form: FormData, which: str, command, notice: str) -> Response:
    refused = _refused(page)
    if refused:
        return refused
    try:
        created = command()
    except LifecycleError as exc:
        return _overview(page, status_code=exc.status, error=describe_error(page, exc),
                         form=form, which=which)
    if isinstance(created, dict):  # a user: the token is shown once, on this response only
        return _overview(page, status_code=201, created=created)
    return page.redirect("/admin", notice)


def _on_network(page: Page, form: FormData, network_id: int, which: str, command,
                notice: str) -> Response:
    refused = _refused(page)
    if refused:
        return refused
    try:
        command()
    except LifecycleError as exc:
        return _network(page, network_id, status_code=exc.status,
                        error=describe_error(page, exc), form=form, which=which)
    return page.redirect(f"/admin/networks/{network_id}", notice)


def _int(form: FormData, name: str, *, required: bool = True) -> int | None:
    value = text(form, name).strip()
    if not value and not required:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:  # "²" is no int
        raise Invalid(name, "must be a number")
    return int(value)


# ------------------------------------------------------------------------- networks
@router.post("/networks")
async def create_network(request: Request):
    return await handle(request, _create_network)


def _create_network(page: Page, form: FormData) -> Response:
    regions = [r for r in form.getlist("regions") if isinstance(r, str)]
    return _on_overview(page, form, "network", lambda: lifecycle_of(page.request).create_network(
        actor=page.actor, name=text(form, "name"), regions=regions), "network_created")


@router.post("/networks/{network_id}/members")
async def add_member(request: Request, network_id: RowId):
    return await handle(request, _add_member, network_id)


def _add_member(page: Page, form: FormData, network_id: int) -> Response:
    def command():
        return lifecycle_of(page.request).add_member(
            actor=page.actor, network_id=network_id, user_id=_int(form, "user_id"),
            organization_id=_int(form, "organization_id"),
            constituencies=[c for c in form.getlist("constituencies") if isinstance(c, str)])
    return _on_network(page, form, network_id, "member", command, "member_added")


@router.post("/networks/{network_id}/members/{user_id}/remove")
async def remove_member(request: Request, network_id: RowId, user_id: RowId):
    return await handle(request, _remove_member, network_id, user_id)


def _remove_member(page: Page, form: FormData, network_id: int, user_id: int) -> Response:
    return _on_network(page, form, network_id, "remove", lambda: lifecycle_of(
        page.request).remove_member(actor=page.actor, network_id=network_id, user_id=user_id),
        "member_removed")


@router.post("/networks/{network_id}/policy")
async def set_policy(request: Request, network_id: RowId):
    return await handle(request, _set_policy, network_id)


def _set_policy(page: Page, form: FormData, network_id: int) -> Response:
    def command():
        fields: dict = {name: _int(form, name) for name in NUMBER_FIELDS if name in form}
        fields["required_sectors"] = [s for s in form.getlist("required_sectors")
                                      if isinstance(s, str)]
        fields["require_member_signatures"] = text(form, "require_member_signatures") == "on"
        fields["stage_sla_days"] = {stage: _int(form, f"sla_{stage}")
                                    for stage in Policy().stage_sla_days if f"sla_{stage}" in form}
        return lifecycle_of(page.request).set_policy(actor=page.actor, network_id=network_id,
                                                     **fields)
    return _on_network(page, form, network_id, "policy", command, "policy_set")


# ------------------------------------------------------------------------- organizations
@router.post("/organizations")
async def create_organization(request: Request):
    return await handle(request, _create_organization)


def _create_organization(page: Page, form: FormData) -> Response:
    return _on_overview(page, form, "organization", lambda: lifecycle_of(
        page.request).create_organization(
            actor=page.actor, name=text(form, "name"), kind=text(form, "kind"),
            sector=text(form, "sector"), tax_id=text(form, "tax_id").strip() or None,
            region=text(form, "region") or None), "organization_created")


# ------------------------------------------------------------------------- users
@router.post("/users")
async def create_user(request: Request):
    return await handle(request, _create_user)


def _create_user(page: Page, form: FormData) -> Response:
    def command():
        info, token = lifecycle_of(page.request).create_user(
            actor=page.actor, username=text(form, "username"), role=text(form, "role"),
            organization_id=_int(form, "organization_id", required=False),
            person_id=text(form, "person_id").strip() or None,
            email=text(form, "email").strip() or None,
            password=text(form, "password") or None)
        return {"username": info.username, "role": info.role, "token": token}
    return _on_overview(page, form, "user", command, "user_created")


@router.post("/users/{user_id}/deactivate")
async def deactivate_user(request: Request, user_id: RowId):
    return await handle(request, _deactivate_user, user_id)


def _deactivate_user(page: Page, form: FormData, user_id: int) -> Response:
    return _on_overview(page, form, "users", lambda: accounts.deactivate(
        lifecycle_of(page.request), actor=page.actor, user_id=user_id), "user_deactivated")


@router.post("/users/{user_id}/reset")
async def reset_user(request: Request, user_id: RowId):
    return await handle(request, _reset_user, user_id)


def _reset_user(page: Page, form: FormData, user_id: int) -> Response:
    def command():
        lc = lifecycle_of(page.request)
        token = accounts.reset_credentials(lc, actor=page.actor, user_id=user_id,
                                           password=text(form, "password") or None)
        user = lc.user(user_id)
        return {"username": user.username, "role": user.role, "token": token}
    return _on_overview(page, form, "users", command, "user_reset")
