"""'Mis pendientes': what awaits the logged-in member or official, and the count in the header
of every page. The items come from lifecycle/pending.py, which decides with the engine's own
permission predicates and guard helpers; this module only says them in the reader's words."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.web.render import Page
from lifecycle import pending

router = APIRouter()

# Which section of the page each kind goes in, in the order the page shows them.
MEMBER_SECTIONS = (pending.PendingKind.REVIEW, pending.PendingKind.STALE_APPROVAL,
                   pending.PendingKind.ANSWER_RECEIVED)
OFFICIAL_SECTIONS = (pending.PendingKind.READY_TO_APPLY, pending.PendingKind.REFUSAL_TO_FIX,
                     pending.PendingKind.OBSERVATION_TO_ANSWER,
                     pending.PendingKind.PAST_SERVICE_LEVEL,
                     pending.PendingKind.NEAR_SERVICE_LEVEL)


def section_title(page: Page, kind: pending.PendingKind) -> str:
    _ = page.gettext
    return {
        pending.PendingKind.REVIEW: _("Proposals awaiting your review"),
        pending.PendingKind.STALE_APPROVAL: _("Your approvals that no longer count"),
        pending.PendingKind.ANSWER_RECEIVED: _("Answers to your observations"),
        pending.PendingKind.READY_TO_APPLY: _("Proposals ready to apply"),
        pending.PendingKind.REFUSAL_TO_FIX: _("Refused stage changes to fix"),
        pending.PendingKind.OBSERVATION_TO_ANSWER: _("Observations to answer"),
        pending.PendingKind.PAST_SERVICE_LEVEL: _("Works past their service level"),
        pending.PendingKind.NEAR_SERVICE_LEVEL: _("Works near their service level"),
    }[kind]


def change_words(page: Page, change: pending.DossierChange) -> str:
    _ = page.gettext
    when = page.fmt.datetime(change.at) if change.at else ""
    if change.kind == "document":
        return _("Document attached: %(kind)s (%(when)s)") % {
            "kind": page.words.kind(change.label), "when": when}
    if change.kind == "observation":
        return _("Observation filed: “%(text)s” (%(when)s)") % {"text": change.label,
                                                                 "when": when}
    return _("Observation answered: “%(text)s” (%(when)s)") % {"text": change.label,
                                                               "when": when}


@router.get("/pending")
def pending_page(request: Request) -> Response:
    page = Page(request)
    if page.actor is None:
        return page.redirect("/login?next=%2Fpending")
    inbox = page.inbox() or pending.Pending()
    order = MEMBER_SECTIONS if page.actor.role == "member" else OFFICIAL_SECTIONS
    sections = [(kind, section_title(page, kind), [i for i in inbox.items if i.kind == kind])
                for kind in order]
    return page.render("pending.html", sections=sections, items=inbox,
                       change_words=lambda change: change_words(page, change),
                       kinds=pending.PendingKind,
                       guard_names=lambda codes: page.words.join(
                           [page.words.guard_name(code) for code in codes]))
