"""The stage diagram as inline SVG, drawn on the server from the machine's own definition
(`stage_table()`), so the picture cannot disagree with the rules.

Layout: the main path (from the initial stage, each stage's first forward transition) runs left
to right; stages that one trigger reaches from many stages (suspended, cancelled) sit on a second row. Edges
between neighbours on the main path are arrows; edges back along it are arcs above; edges to
the second row are thin lines, one line with two heads when the move goes both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from lifecycle.states import stage_table

BOX_W, BOX_H, GAP = 144, 44, 24
TOP = 46  # room for the back arcs above the main row
ROW2 = TOP + BOX_H + 80


def _layout(table: dict) -> tuple[list[str], list[str]]:
    edges = table["edges"]
    # A stage that one trigger reaches from several stages (suspend, cancel) is a side state,
    # not a step of the path.
    hubs = {t["to"] for t in table["transitions"] if len(t["from"]) > 1}
    side = [s for s in table["stages"] if s in hubs]
    path = [table["initial"]]
    while True:
        current = path[-1]
        forward = [e["to"] for e in edges
                   if e["from"] == current and e["to"] not in path and e["to"] not in side]
        if not forward:
            break
        path.append(forward[0])
    rest = [s for s in table["stages"] if s not in path and s not in side]
    return path + rest, side


def stage_diagram(current: str | None, label: Callable[[str], str], title: str) -> str:
    """SVG markup with `current` highlighted; `label` names a stage in the reader's language."""
    table = stage_table()
    main, side = _layout(table)
    pos: dict[str, tuple[float, float]] = {}
    for i, stage in enumerate(main):
        pos[stage] = (10 + i * (BOX_W + GAP), TOP)
    width = 20 + len(main) * (BOX_W + GAP) - GAP
    for i, stage in enumerate(side):
        share = width / (len(side) + 1)
        pos[stage] = (share * (i + 1) - BOX_W / 2, ROW2)
    height = ROW2 + BOX_H + 10

    pairs = {(e["from"], e["to"]) for e in table["edges"]}
    drawn: set[tuple[str, str]] = set()
    lines: list[str] = []
    for source, target in sorted(pairs):
        if (source, target) in drawn or source == target:
            continue
        drawn.add((source, target))
        both = (target, source) in pairs
        if both:
            drawn.add((target, source))
        (x1, y1), (x2, y2) = pos[source], pos[target]
        if source in main and target in main:
            i, j = main.index(source), main.index(target)
            if j == i + 1 and not both:
                lines.append(f'<line class="edge" x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" '
                             f'x2="{x2}" y2="{y2 + BOX_H / 2}" marker-end="url(#arrow)"/>')
            else:
                sx, tx = x1 + BOX_W / 2, x2 + BOX_W / 2
                lift = 16 + 10 * abs(j - i)
                lines.append(f'<path class="edge back" d="M{sx},{y1} C{sx},{y1 - lift} '
                             f'{tx},{y2 - lift} {tx},{y2}" marker-end="url(#arrow)"/>')
        elif y1 == y2:  # two side states: a straight line between them
            left, right = (x1, x2) if x1 < x2 else (x2, x1)
            start, end = (left + BOX_W, right) if x1 < x2 else (right, left + BOX_W)
            marker = ' marker-start="url(#arrow-start)"' if both else ""
            lines.append(f'<line class="edge side" x1="{start}" y1="{y1 + BOX_H / 2}" '
                         f'x2="{end}" y2="{y2 + BOX_H / 2}" marker-end="url(#arrow)"{marker}/>')
        else:
            sx, sy = x1 + BOX_W / 2, (y1 + BOX_H if y1 < y2 else y1)
            tx, ty = x2 + BOX_W / 2, (y2 if y1 < y2 else y2 + BOX_H)
            marker = ' marker-start="url(#arrow-start)"' if both else ""
            lines.append(f'<line class="edge side" x1="{sx}" y1="{sy}" x2="{tx}" y2="{ty}" '
                         f'marker-end="url(#arrow)"{marker}/>')

    boxes: list[str] = []
    for stage in main + side:
        x, y = pos[stage]
        classes = ["stage"]
        if stage == current:
            classes.append("current")
        if stage in table["final"]:
            classes.append("final")
        boxes.append(
            f'<g class="{" ".join(classes)}" data-stage="{escape(stage)}">'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2}" text-anchor="middle" '
            f'dominant-baseline="central">{escape(label(stage))}</text></g>')

    return (
        f'<svg class="stage-diagram" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>'
        '<defs>'
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        '<marker id="arrow-start" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M10,0 L0,5 L10,10 z"/></marker>'
        '</defs>'
        + "".join(lines) + "".join(boxes) + "</svg>")
