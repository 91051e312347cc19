"""The work page's execution section (DESIGN §2, wave 2): progress drawn on the server as an SVG
chart (physical and financial % over time) with its table, and the valuation form for the
entity's officials. Their words: api/web/execution_words.py."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from api.deps import RowId
from api.web.render import Page, lifecycle_of
from lifecycle.errors import Invalid
from lifecycle.execution import VALUATION_DOCUMENTS
from lifecycle.model import Work

router = APIRouter()
# The chart's drawing area, in SVG user units.
WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 640, 260, 48, 32, 12, 16


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y_physical: float
    y_financial: float
    period: str


def _y(pct: str) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(Decimal(pct)) / 100), 1)


def progress_chart(work: Work) -> dict | None:
    """The valuations as chart geometry: one point per month, physical and financial lines,
    gridlines every 25%. None when there is no valuation to draw."""
    if not work.valuations:
        return None
    count = len(work.valuations)
    span = WIDTH - LEFT - RIGHT
    points = []
    for index, valuation in enumerate(work.valuations):
        x = LEFT + (span * index / (count - 1) if count > 1 else span / 2)
        points.append(ChartPoint(round(x, 1), _y(valuation.physical_pct),
                                 _y(valuation.financial_pct), valuation.period))
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "grid": [{"pct": pct, "y": _y(str(pct))} for pct in (0, 25, 50, 75, 100)],
        "points": points,
        "physical": " ".join(f"{p.x},{p.y_physical}" for p in points),
        "financial": " ".join(f"{p.x},{p.y_financial}" for p in points),
    }


def execution_view(page: Page, work: Work) -> dict:
    """What the work page shows of its execution."""
    lc = lifecycle_of(page.request)
    shown = work.stage == "execution" or bool(work.valuations) or bool(work.amendments)
    return {
        "shown": shown,
        "chart": progress_chart(work),
        "summary": lc.execution_summary(work) if shown else None,
        "documents": [d for d in work.documents
                      if d.kind in VALUATION_DOCUMENTS and d.stage == "execution"],
    }


# ---------------------------------------------------------------------- the valuation form
@router.post("/works/{work_id}/valuations")
async def report_valuation(request: Request, work_id: RowId):
    from api.web.forms import handle

    return await handle(request, _report_valuation, work_id)


def _report_valuation(page: Page, form: FormData, work_id: int) -> Response:
    from api.web.forms import on_work, text, whole_number

    def command():
        document_id = whole_number(text(form, "document_id"))
        if document_id is None:
            raise Invalid("document_id", "choose the valuation's supporting document")
        lifecycle_of(page.request).report_valuation(
            actor=page.actor, work_id=work_id, period=text(form, "period").strip(),
            physical_pct=text(form, "physical_pct").strip(),
            financial_pct=text(form, "financial_pct").strip(),
            amount=text(form, "amount").replace(",", "").strip(), document_id=document_id)

    return on_work(page, work_id, command, "valuation_reported", form)
