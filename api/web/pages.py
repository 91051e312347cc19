"""Pages anyone can read: the portal, a work, a network, the stalled report, login."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import MAX_ROW_ID, RowId, SearchText
from api.document_response import stored_document_response
from api.web.diagram import stage_diagram
from api.web.execution import execution_view
from api.web.status import work_status
from api.web.render import Page, lifecycle_of, safe_next
from api.web.words import Person
from lifecycle import permissions as may
from lifecycle.errors import LifecycleError
from lifecycle.guards import GuardResult, GuardState, approval_tally
from lifecycle.model import Network, Work
from lifecycle.states import STAGES, legal_triggers, spec_for
from lifecycle.validation import DOCUMENT_KINDS

router = APIRouter()


def failure_page(page: Page, exc: LifecycleError) -> Response:
    """An engine error as a page: the status it carries and its message, naming the field."""
    return page.error(exc.status, describe_error(page, exc))


def describe_error(page: Page, exc: LifecycleError) -> str:
    _ = page.gettext
    headline = {
        401: _("Please log in first."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        409: _("This cannot be done now."),
        412: _("The work changed meanwhile; please look again."),
        422: _("Please check what you entered."),
    }.get(exc.status, _("Something went wrong"))
    details = [f"{e.get('field') or e.get('guard')}: {e.get('message')}" for e in exc.errors]
    return f"{headline} {'; '.join(details) or exc.message}"


# ---------------------------------------------------------------------- portal
@router.get("/")
def portal(request: Request, q: SearchText = "", stage: SearchText = "",
           region: SearchText = "", network: SearchText = "", stalled: SearchText = "",
           cursor: SearchText = ""):
    page = Page(request)
    lc = lifecycle_of(request)
    networks = {n.id: n for n in lc.list_networks()}
    network_id = None
    if network:
        # ASCII digits within the ids' range: "²" is a digit to str.isdigit, not to int().
        if not (network.isascii() and network.isdigit() and int(network) <= MAX_ROW_ID):
            return page.error(422, page.gettext("Please check what you entered.") +
                              " network: " + page.gettext("must be a number"))
        network_id = int(network)
    try:
        result = lc.list_works(stage=stage or None, region=region or None, network_id=network_id,
                               stalled=True if stalled else None, search=q or None,
                               cursor=cursor or None, limit=50)
    except LifecycleError as exc:
        return failure_page(page, exc)
    stalled_rows = lc.stalled_report()
    overdue = {r["work_id"]: r["days_overdue"] for r in stalled_rows}
    all_counts = lc.counts()
    try:  # the counts and charts follow the filters (stalled aside: it is not a column)
        counts = lc.counts(stage=stage or None, region=region or None, network_id=network_id,
                           search=q or None)
    except LifecycleError as exc:
        return failure_page(page, exc)
    filters = {"q": q, "stage": stage, "region": region, "network": network, "stalled": stalled}
    next_query = None
    if result.next_cursor:
        from urllib.parse import urlencode

        next_query = urlencode({**{k: v for k, v in filters.items() if v},
                                "cursor": result.next_cursor})
    from api.web.dashboard import dashboard

    return page.render(
        "portal.html", works=result.works, networks=networks, counts=counts, overdue=overdue,
        filters=filters, stages=STAGES, regions=sorted(all_counts["region"]),
        count_regions=sorted(counts["region"]), next_query=next_query,
        total=sum(counts["stage"].values()), filtered=any(filters.values()),
        charts=dashboard(page, lc, counts, STAGES, stalled_rows))


# ---------------------------------------------------------------------- one work
@dataclass
class SignOffRow:
    who: str
    decision: str
    reason: str
    at: str
    counts: str | None  # for approvals: "counts" or why it does not
    stale: bool
    excluded: bool


def people(lc, network: Network | None) -> dict:
    """Every user as the reader should see them; members with their organization and sector."""
    found = {}
    for user in lc.users():
        member = network.member(user.id) if network else None
        found[user.id] = Person(user.username, user.role,
                                member.organization if member else user.entity,
                                member.sector if member else None)
    found["system"] = Person("system", "system")
    return found


TIMELINE_GROUPS = {  # the timeline's filter: which entry types each choice shows
    "decisions": ("proposal.opened", "proposal.withdrawn", "signoff.recorded",
                  "transition.applied", "transition.refused", "block.overruled"),
    "documents": ("document.attached", "work.registered", "work.imported", "work.corrected"),
    "observations": ("observation.filed", "observation.answered", "observation.accepted",
                     "observation.rejected", "conflict.declared"),
    "execution": ("valuation.reported", "milestone.recorded", "deadline.reached"),
}


def timeline_choices(page: Page) -> dict:
    _ = page.gettext
    chosen = page.request.query_params.get("timeline", "all")
    return {"timeline_groups": TIMELINE_GROUPS,
            "timeline_filter": chosen if chosen in TIMELINE_GROUPS else "all",
            "timeline_filters": [("all", _("everything")),
                                 ("decisions", _("proposals, sign-offs and stage changes")),
                                 ("documents", _("registration and documents")),
                                 ("observations", _("observations and conflicts")),
                                 ("execution", _("execution: valuations and milestones"))]}


def work_view(page: Page, work: Work, network: Network) -> dict:
    lc = lifecycle_of(page.request)
    words = page.words
    everyone = people(lc, network)
    timeline = []
    for entry in lc.history(work.id):
        actor_id = entry["actor"]["id"]
        who = words.person(everyone.get(actor_id), actor_id)
        timeline.append({"seq": entry["seq"], "at": entry["at"], "type": entry["type"],
                         "text": words.event(entry, who, work, network)})
    proposal = work.open_proposal
    signoffs, checks = [], []
    if proposal is not None:
        tally = {t.signoff.user_id: t.excluded
                 for t in approval_tally(GuardState(work, network), proposal)}
        for signoff in proposal.latest_signoffs().values():
            excluded = tally.get(signoff.user_id) if signoff.decision == "approve" else None
            signoffs.append(SignOffRow(
                who=words.person(everyone.get(signoff.user_id), signoff.user_id),
                decision=signoff.decision, reason=signoff.reason, at=signoff.at,
                counts=words.exclusion(excluded) if signoff.decision == "approve" else None,
                stale=bool(excluded and excluded.startswith("stale")),
                excluded=excluded is not None))
        for result in lc.dry_run(work, network):
            checks.append({"result": result,
                           "text": words.guard(result, work, network, proposal)})
    actor = page.actor
    # The engine's own predicates (lifecycle.permissions): the forms shown are the commands
    # the service would accept.
    is_official = bool(actor and actor.role == "official" and may.is_official_of(actor, work))
    is_member = bool(actor and actor.role == "member" and may.is_active_member(actor, network))
    suspended_from = (work.suspended_from or {}).get("stage")
    triggers = legal_triggers(work.stage, suspended_from)
    needed_kinds = []
    for trigger in triggers:
        spec = spec_for(trigger)
        for kind in spec.documents if spec else ():
            if kind not in needed_kinds:
                needed_kinds.append(kind)
    return {
        "work": work, "network": network, "timeline": timeline, "proposal": proposal,
        "signoffs": signoffs, "checks": checks, "ready": bool(checks) and all(
            c["result"].ok for c in checks),
        "people": everyone, "is_official": is_official, "is_member": is_member,
        "conflicted": bool(actor and work.conflicted(actor.id)),
        "own_proposal": bool(proposal and actor and proposal.opened_by == actor.id),
        "my_signoff": proposal.latest_signoffs().get(actor.id) if proposal and actor else None,
        "triggers": triggers, "needed_kinds": needed_kinds,
        "other_kinds": [k for k in DOCUMENT_KINDS if k not in needed_kinds],
        "diagram": stage_diagram(work.stage, words.stage,
                                 page.gettext("Stages of the work; current stage: %(stage)s")
                                 % {"stage": words.stage(work.stage)}),
        "past_proposals": [p for p in work.proposals if p.status != "open"],
        "status": work_status(work, network, lc.clock()),
        **timeline_choices(page),
        "work_sector": words.work_sector(work.sector) if work.sector else None,
        "execution": execution_view(page, work),  # progress chart and valuations (wave 2)
    }


def render_work(page: Page, work_id: int, *, status_code: int = 200, error: str | None = None,
                refusal: list[GuardResult] | None = None, form: dict | None = None) -> Response:
    lc = lifecycle_of(page.request)
    try:
        work = lc.get_work(work_id)
        network = lc.get_network(work.network_id)
    except LifecycleError as exc:
        return failure_page(page, exc)
    view = work_view(page, work, network)
    refusal_lines = []
    if refusal:
        proposal = work.proposals[-1] if work.proposals else None
        for result in refusal:
            if not result.ok and proposal is not None:
                refusal_lines.append({"result": result, "text": page.words.guard(
                    result, work, network, proposal)})
    from api.web.keys import allow_signing_script  # the sign-off forms sign (DESIGN §4.3)

    return allow_signing_script(page.render("work.html", status_code=status_code, error=error,
                                            refusal=refusal_lines, form=form or {}, **view))


@router.get("/works/{work_id}")
def work_page(request: Request, work_id: RowId):
    return render_work(Page(request), work_id)


@router.get("/works/{work_id}/documents/{document_id}/download")
def download_document(request: Request, work_id: RowId, document_id: RowId):
    page = Page(request)
    lc = lifecycle_of(request)
    try:
        work = lc.get_work(work_id)
    except LifecycleError as exc:
        return failure_page(page, exc)
    document = work.document(document_id)
    content = lc.blobs.open(document.sha256) if document else None
    if content is None:
        return page.error(404, page.gettext("Not found."))
    return stored_document_response(content, document.media_type, document.filename)


# ---------------------------------------------------------------------- networks, reports
@router.get("/networks")
def networks_page(request: Request):
    page = Page(request)
    networks = lifecycle_of(request).list_networks()
    return page.render("networks.html", networks=networks)


@router.get("/networks/{network_id}")
def network_page(request: Request, network_id: RowId):
    page = Page(request)
    lc = lifecycle_of(request)
    try:
        network = lc.get_network(network_id)
    except LifecycleError as exc:
        return failure_page(page, exc)
    active = [m for m in network.members.values() if m.active]
    sectors: dict[str, int] = {}
    constituencies: dict[str, int] = {}
    for member in active:
        sectors[member.sector] = sectors.get(member.sector, 0) + 1
        for group in member.constituencies:
            constituencies[group] = constituencies.get(group, 0) + 1
    works = lc.list_works(network_id=network_id, limit=500).works
    return page.render(
        "network.html", network=network, active=active,
        former=[m for m in network.members.values() if not m.active],
        sectors=sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0])),
        constituencies=sorted(constituencies.items(), key=lambda kv: (-kv[1], kv[0])),
        works=works)


@router.get("/reports/stalled")
def stalled_page(request: Request):
    page = Page(request)
    lc = lifecycle_of(request)
    networks = {n.id: n for n in lc.list_networks()}
    return page.render("stalled.html", rows=lc.stalled_report(), networks=networks,
                       paralysed=lc.paralysed_report())  # apart from the overdue (wave 2)


# ---------------------------------------------------------------------- session pages
@router.get("/login")
def login_page(request: Request, next: str = "/"):
    page = Page(request)
    return page.render("login.html", next=safe_next(next), username="", error=None)


@router.get("/language/{lang}")
def switch_language(request: Request, lang: str, next: str = "/"):
    from api.web.i18n import LANGUAGE_COOKIE, LANGUAGES

    page = Page(request)
    response = page.redirect(safe_next(next))
    if lang in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, path="/",
                            httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response
