"""The portal's dashboard: bar charts drawn on the server as SVG (no script, no outside
library), each with a text title and the same figures in a table beside it for screen readers
and for copying: works per stage, works per region, overdue works per region, and the average
days works spent in each stage they left."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sqlalchemy import select

from lifecycle.db import LogEntry
from lifecycle.log.canonical import parse_time

BAR_HEIGHT = 22
LABEL_WIDTH = 150
CHART_WIDTH = 370


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str | None = None  # the value as the reader reads it (formatted)


def bar_chart(title: str, bars: list[Bar], *, css_class: str = "") -> str:
    """A horizontal bar chart; every bar has its value written at its end, so nothing depends
    on reading lengths. It is one image (role="img"): no links inside it — the table beside it
    carries them, for keyboards and screen readers."""
    if not bars:
        return ""
    top = max(b.value for b in bars) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 70
    height = BAR_HEIGHT * len(bars) + 8
    rows = []
    for i, bar in enumerate(bars):
        y = 4 + i * BAR_HEIGHT
        width = max(2.0, span * bar.value / top) if bar.value else 0
        label = escape(bar.label)
        text = escape(bar.text if bar.text is not None else str(bar.value))
        shape = (f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{label}</text>'
                 f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" '
                 f'height="{BAR_HEIGHT - 7}" rx="3"/>'
                 f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}">{text}</text>')
        rows.append(shape)
    return (f'<svg class="chart {css_class}" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{escape(title)}</title>{"".join(rows)}</svg>')


_CACHE: dict[int, tuple[int, dict[str, float]]] = {}
_CACHE_LOCK = threading.Lock()


def days_per_stage(lc) -> dict[str, float]:
    """Average days works spent in each stage they left, from the log's registrations and
    stage changes (suspension counted as its own stage). Recomputed only when the log grew."""
    size = lc.log_size()
    with _CACHE_LOCK:
        cached = _CACHE.get(id(lc))
        if cached is not None and cached[0] == size:
            return cached[1]
    entered: dict[int, tuple[str, str]] = {}  # work -> (stage, since)
    spent: dict[str, list[float]] = {}
    with lc.engine.connect() as conn:
        rows = conn.execute(select(LogEntry.entry).where(
            LogEntry.type.in_(("work.registered", "transition.applied")))
            .order_by(LogEntry.seq)).scalars()
        for raw in rows:
            entry = json.loads(raw)
            work_id = entry["data"].get("work_id")
            if entry["type"] == "work.registered":
                entered[work_id] = ("design", entry["at"])
                continue
            stage, since = entered.get(work_id, (entry["data"].get("from"), entry["at"]))
            days = (parse_time(entry["at"]) - parse_time(since)).total_seconds() / 86400
            spent.setdefault(stage, []).append(days)
            entered[work_id] = (entry["data"].get("to"), entry["at"])
    averages = {stage: sum(v) / len(v) for stage, v in spent.items() if v}
    with _CACHE_LOCK:
        _CACHE[id(lc)] = (size, averages)
    return averages


def dashboard(page, lc, counts: dict, stages, overdue_rows: list[dict]) -> dict:
    """The four charts of the portal, in the reader's words."""
    _ = page.gettext
    words, fmt = page.words, page.fmt
    by_stage = [Bar(words.stage(s), counts["stage"][s], fmt.number(counts["stage"][s]))
                for s in stages if counts["stage"].get(s)]
    by_region = [Bar(r, n, fmt.number(n))
                 for r, n in sorted(counts["region"].items(), key=lambda kv: (-kv[1], kv[0]))]
    late: dict[str, int] = {}
    for row in overdue_rows:
        late[row["region"]] = late.get(row["region"], 0) + 1
    by_late = [Bar(r, n, fmt.number(n))
               for r, n in sorted(late.items(), key=lambda kv: (-kv[1], kv[0]))]
    averages = days_per_stage(lc)
    by_days = [Bar(words.stage(s), round(averages[s]),
                   _("%(days)s days") % {"days": fmt.number(round(averages[s]))})
               for s in stages if s in averages]
    return {
        "stage": bar_chart(_("Works per stage"), by_stage),
        "region": bar_chart(_("Works per region"), by_region),
        "overdue": bar_chart(_("Overdue works per region"), by_late, css_class="late"),
        "days": bar_chart(_("Average days spent in each stage"), by_days, css_class="days"),
        "days_table": [(words.stage(s), round(averages[s])) for s in stages if s in averages],
        "overdue_table": sorted(late.items(), key=lambda kv: (-kv[1], kv[0])),
    }
