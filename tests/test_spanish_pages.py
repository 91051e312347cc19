"""Spanish first: a page read in Spanish says every guard verdict from its figures, never the
engine's English sentence — in the timeline (from the log, years later too), the dry run and
the refusal panel."""

from __future__ import annotations

import html

import pytest

from api.main import create_app
from tests.test_web_pages import Browser


@pytest.fixture
def reader(world):
    return Browser(create_app(world.lc), world)


def _english_messages(results) -> list[str]:
    return [r.message for r in results if r.message]


def test_a_refusal_in_the_timeline_is_said_in_spanish(world, reader):
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="¿Y el drenaje?")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el estudio de suelos")
    outcome = world.apply(proposal.id)
    assert not outcome.applied
    failing = [r for r in outcome.results if not r.ok]
    assert {r.guard for r in failing} >= {"quorum", "documents", "blocks"}
    page = html.unescape(reader.get(f"/works/{world.work_id}").text)
    timeline = page[page.index('id="timeline-title"'):]
    assert "fue rechazada" in timeline
    for message in _english_messages(failing):
        assert message not in page, message
    assert "Estudio de preinversión" in timeline  # the missing document, by its Spanish name


def test_the_log_keeps_the_figures_behind_each_verdict(world):
    proposal = world.propose("approve_design")
    world.apply(proposal.id)
    refused = world.lc.history(world.work_id)[-1]
    assert refused["type"] == "transition.refused"
    quorum = next(g for g in refused["data"]["guards"] if g["guard"] == "quorum")
    assert quorum["ok"] is False
    assert quorum["figures"]["counted"] == 0 and quorum["figures"]["needed"] == 3
