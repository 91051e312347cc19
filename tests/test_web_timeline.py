"""A work's page for the public: the timeline newest first and filterable, and earlier
proposals open to the sign-offs they had."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from tests.test_web_pages import Browser


@pytest.fixture
def reader(world):
    return Browser(create_app(world.lc), world)


def _timeline(html: str) -> list[str]:
    section = html[html.index('id="timeline-title"'):]
    return re.findall(r'<li class="event ([a-z-]+)">', section)


def test_the_timeline_is_newest_first_and_filters_by_kind(reader, world):
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="¿Y el drenaje?")
    world.advance("approve_design", ("feasibilityStudy",))
    events = _timeline(reader.get(f"/works/{world.work_id}").text)
    assert events[0] == "transition-applied" and events[-1] == "work-registered"
    decisions = _timeline(reader.get(f"/works/{world.work_id}?timeline=decisions").text)
    assert decisions and set(decisions) <= {"proposal-opened", "signoff-recorded",
                                            "transition-applied"}
    observations = _timeline(reader.get(f"/works/{world.work_id}?timeline=observations").text)
    assert observations == ["observation-filed"]
    unknown = _timeline(reader.get(f"/works/{world.work_id}?timeline=nonsense").text)
    assert unknown == events  # an unknown choice shows everything


def test_an_earlier_proposal_opens_to_its_sign_offs(reader, world):
    proposal = world.propose("approve_design", justification="Primer intento")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el perfil")
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=proposal.id)
    page = reader.get(f"/works/{world.work_id}").text
    past = page[page.index('id="past-title"'):page.index('id="timeline-title"')]
    assert "<details>" in past and "Primer intento" in past
    assert "Falta el perfil" in past
