"""Atom feeds per work and per network: valid Atom, newest first, in Spanish, one entry per log
entry with a stable id, and a 404 page for an unknown work."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from api.main import create_app
from tests.test_web_pages import Browser

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def reader(world):
    return Browser(create_app(world.lc), world)


def _entries(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text and feed.find(f"{ATOM}updated").text
    return [(e.find(f"{ATOM}id").text, e.find(f"{ATOM}title").text,
             e.find(f"{ATOM}updated").text) for e in feed.findall(f"{ATOM}entry")]


def test_a_work_feed_tells_its_history_newest_first_in_spanish(reader, world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design", justification="El estudio está completo")
    world.sign(proposal.id, "rosa", decision="block", reason="Falta el estudio de suelos")
    entries = _entries(reader.get(f"/works/{world.work_id}/feed.atom"))
    titles = [title for _id, title, _at in entries]
    assert "bloqueó la propuesta" in titles[0] and "Falta el estudio de suelos" in titles[0]
    assert any("registró la obra LAM-2026-001" in t for t in titles)
    times = [at for _id, _title, at in entries]
    assert times == sorted(times, reverse=True)
    ids = [i for i, _t, _a in entries]
    assert len(set(ids)) == len(ids) and all("/log/entries/" in i for i in ids)
    # The same event keeps its id as the feed grows.
    world.sign(proposal.id, "jorge")
    again = [i for i, _t, _a in _entries(reader.get(f"/works/{world.work_id}/feed.atom"))]
    assert again[1:] == ids


def test_a_network_feed_has_its_works_and_its_own_events(reader, world):
    world.lc.set_policy(actor=world.admin, network_id=world.network_id, min_approvals=4)
    world.attach("feasibilityStudy")
    titles = [t for _i, t, _a in _entries(reader.get(f"/networks/{world.network_id}/feed.atom"))]
    assert titles[0].startswith("LAM-2026-001: ")
    assert any("de las reglas de la red" in t for t in titles)
    assert any("a la red" in t for t in titles)  # members joining
    page = reader.get(f"/networks/{world.network_id}")
    assert f'href="/networks/{world.network_id}/feed.atom"' in page.text


def test_an_unknown_work_has_no_feed(reader):
    assert reader.get("/works/999/feed.atom").status_code == 404
    assert reader.get("/works/99999999999999999999/feed.atom").status_code in (404, 422)
