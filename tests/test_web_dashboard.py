"""The portal's dashboard: SVG charts drawn on the server with their figures, counts that
follow the filters, and the average days works spent in each stage, from the log."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from api.web.dashboard import Bar, bar_chart, days_per_stage
from tests.test_web_pages import Browser


@pytest.fixture
def reader(world):
    return Browser(create_app(world.lc), world)


def test_a_bar_chart_names_itself_and_writes_every_value():
    svg = bar_chart("Obras por etapa", [Bar("Diseño", 3, "3"), Bar("Licitación", 0, "0")])
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>Obras por etapa</title>" in svg
    assert ">3</text>" in svg and ">0</text>" in svg
    assert "<a " not in svg  # an image holds no links (the table beside it does)
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height', svg)]
    assert widths[0] > 0 and widths[1] == 0  # an empty bar draws nothing
    assert bar_chart("x", []) == ""


def test_days_per_stage_come_from_the_log(world):
    world.clock.advance(days=30)
    world.advance("approve_design", ("feasibilityStudy",))
    averages = days_per_stage(world.lc)
    assert 30 <= averages["design"] < 31
    assert "technical_file" not in averages  # not left yet


def test_the_portal_counts_follow_the_filters(reader, world):
    world.lc.register_work(actor=world.official, code="LAM-2026-002", title="Puente Reque",
                           region="Lambayeque", reference_amount="900000.00")
    world.advance("approve_design", ("feasibilityStudy",))
    everything = reader.get("/").text
    assert "2 obras en total" in everything
    assert everything.count("<svg class=\"chart") >= 2
    assert "Días promedio en cada etapa" in everything
    filtered = reader.get("/?stage=technical_file").text
    assert "1 obra coincide con estos filtros" in filtered
    assert "Puente Reque" not in filtered
    searched = reader.get("/?q=reque").text
    assert "1 obra coincide con estos filtros" in searched and "Puente Reque" in searched
