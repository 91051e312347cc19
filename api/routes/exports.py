"""Downloads for spreadsheets: the works list (with the portal's filters), the overdue works
report and one work's history, as CSV (UTF-8 with BOM, so Excel shows the accents) or XLSX.

Headers and stage names are in the reader's language (Spanish unless the browser or the
language switch asks for English); money stays a decimal string in the CSV and an exact
number in the XLSX.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import LifecycleDep
from api.schemas import MAX_ID, problems
from api.web.i18n import Formats, language, translations
from api.web.words import Words
from lifecycle.opendata.tables import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Column,
    csv_bytes,
    xlsx_bytes,
)
from lifecycle.service import Lifecycle

router = APIRouter(prefix="/exports", tags=["exports"])
Format = Literal["csv", "xlsx"]
PAGE = 500
SPREADSHEET = {200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
                                 XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                              "format": "binary"}}},
                     "description": "A spreadsheet."}}


def _words(request: Request) -> Words:
    lang = language(request)
    return Words(translations(lang), Formats(lang))


def _download(columns: list[Column], rows: list[dict], name: str, fmt: Format,
              sheet: str) -> Response:
    if fmt == "xlsx":
        body, media_type = xlsx_bytes(columns, rows, sheet), XLSX_MEDIA_TYPE
    else:
        body, media_type = csv_bytes(columns, rows), CSV_MEDIA_TYPE
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'})


def _network_names(lc: Lifecycle) -> dict[int, str]:
    return {n.id: n.name for n in lc.list_networks()}


def _work_columns(words: Words) -> list[Column]:
    _ = words.gettext
    return [Column("code", _("Code")), Column("title", _("Title")),
            Column("entity", _("Public entity")), Column("region", _("Region")),
            Column("province", _("Province")), Column("district", _("District")),
            Column("cui", _("CUI")),
            Column("network", _("Network")), Column("stage", _("Stage")),
            Column("reference_amount", _("Reference amount"), money=True),
            Column("currency", _("Currency")), Column("last_change_at", _("Last change")),
            Column("days_overdue", _("Days overdue"))]


def _works(request: Request, lc: Lifecycle, fmt: Format, stage, region, network, stalled, q):
    words = _words(request)
    networks = _network_names(lc)
    overdue = {r["work_id"]: r["days_overdue"] for r in lc.stalled_report()}
    rows, cursor = [], None
    while True:
        page = lc.list_works(stage=stage or None, region=region or None, network_id=network,
                             stalled=stalled, search=q or None, limit=PAGE, cursor=cursor)
        for row in page.works:
            state = json.loads(row.state)
            rows.append({
                "code": row.code, "title": row.title, "entity": row.entity,
                "region": row.region, "province": state.get("province"),
                "district": state.get("district"), "cui": state.get("cui"),
                "network": networks.get(row.network_id, ""),
                "stage": words.stage(row.stage),
                "reference_amount": state.get("reference_amount"),
                "currency": state.get("currency"), "last_change_at": row.last_change_at,
                "days_overdue": overdue.get(row.id)})
        if page.next_cursor is None:
            return _download(_work_columns(words), rows, "obras", fmt, words.gettext("Works"))
        cursor = page.next_cursor


@router.get("/works.csv", responses={**SPREADSHEET, **problems(422)})
def works_csv(request: Request, lc: LifecycleDep, stage: str | None = None,
              region: Annotated[str | None, Query(max_length=100)] = None,
              network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
              stalled: bool | None = None, q: Annotated[str | None, Query(max_length=200)] = None):
    """Every work that matches the filters of the works list, as CSV."""
    return _works(request, lc, "csv", stage, region, network, stalled, q)


@router.get("/works.xlsx", responses={**SPREADSHEET, **problems(422)})
def works_xlsx(request: Request, lc: LifecycleDep, stage: str | None = None,
               region: Annotated[str | None, Query(max_length=100)] = None,
               network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
               stalled: bool | None = None,
               q: Annotated[str | None, Query(max_length=200)] = None):
    """The same as works.csv, as an Excel workbook."""
    return _works(request, lc, "xlsx", stage, region, network, stalled, q)


def _stalled(request: Request, lc: Lifecycle, fmt: Format) -> Response:
    words = _words(request)
    _ = words.gettext
    networks = _network_names(lc)
    columns = [Column("code", _("Code")), Column("title", _("Title")),
               Column("region", _("Region")), Column("network", _("Network")),
               Column("stage", _("Stage")), Column("since", _("In this stage since")),
               Column("sla_days", _("Service level (days)")),
               Column("days_overdue", _("Days overdue"))]
    rows = [{**r, "network": networks.get(r.get("network_id"), ""),
             "stage": words.stage(r.get("stage", ""))} for r in lc.stalled_report()]
    return _download(columns, rows, "obras-atrasadas", fmt, _("Stalled works"))


@router.get("/stalled.csv", responses=SPREADSHEET)
def stalled_csv(request: Request, lc: LifecycleDep):
    """The overdue works report (GET /reports/stalled), most overdue first, as CSV."""
    return _stalled(request, lc, "csv")


@router.get("/stalled.xlsx", responses=SPREADSHEET)
def stalled_xlsx(request: Request, lc: LifecycleDep):
    """The overdue works report as an Excel workbook."""
    return _stalled(request, lc, "xlsx")


def _history(request: Request, lc: Lifecycle, work_id: int, fmt: Format) -> Response:
    from api.web.pages import people  # here: api.web.pages imports the API routers

    work = lc.get_work(work_id)  # 404 for an unknown work
    network = lc.get_network(work.network_id)
    words = _words(request)
    _ = words.gettext
    everyone = people(lc, network)
    rows = []
    for entry in lc.history(work_id):
        actor_id = entry["actor"]["id"]
        who = words.person(everyone.get(actor_id), actor_id)
        rows.append({"seq": entry["seq"], "at": entry["at"], "type": entry["type"],
                     "who": who, "text": words.event(entry, who, work, network)})
    columns = [Column("seq", _("Log entry")), Column("at", _("Date and time (UTC)")),
               Column("type", _("Entry type")), Column("who", _("Who")),
               Column("text", _("What happened"))]
    return _download(columns, rows, f"historia-{work.code}", fmt, work.code)


@router.get("/works/{work_id}/history.csv", responses={**SPREADSHEET, **problems(404)})
def history_csv(request: Request, lc: LifecycleDep,
                work_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """One work's log entries in plain words, oldest first, as CSV."""
    return _history(request, lc, work_id, "csv")


@router.get("/works/{work_id}/history.xlsx", responses={**SPREADSHEET, **problems(404)})
def history_xlsx(request: Request, lc: LifecycleDep,
                 work_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """One work's history as an Excel workbook."""
    return _history(request, lc, work_id, "xlsx")
