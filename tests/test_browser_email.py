"""End to end with real e-mail: a member learns by e-mail (a real SMTP server on loopback) that
a review awaits her, does it from her phone, is told when her approval goes stale, and
re-approves in one step from the message's link — in Debian's headless Chromium."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from lifecycle.outbox import deliver_due, save_settings
from tests.test_browser import CHROMIUM, Person, browser, site, submit  # noqa: F401  (fixtures)
from tests.test_notifications import smtp as mailbox  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: install Debian's chromium package "
                              "(apt-get install chromium) to run the browser tests"),
]


def _send(world, mailbox, base_url: str) -> list:
    before = len(mailbox.messages)
    deliver_due(world.lc.engine, mailbox.target, mail_from="red@example.pe", base_url=base_url,
                origin="example.pe/lifecycle", now=world.clock.now)
    return mailbox.messages[before:]


def _link(message, base_url: str) -> str:
    found = re.search(re.escape(base_url) + r"(/\S*)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def test_a_member_reviews_from_her_e_mail_on_a_phone(site, browser, mailbox):
    server, world = site
    save_settings(world.lc.engine, world.members["rosa"].id, email="rosa@example.pe")
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")

    [opened] = _send(world, mailbox, server.url)
    assert opened["To"] == "rosa@example.pe"
    assert opened["Subject"] == "Revisión solicitada: LAM-2026-001"
    rosa = Person(browser, server.url, width=390, height=844)
    rosa.login("rosa")
    page = rosa.open(_link(opened, server.url))
    assert urlsplit(page.url).path == f"/works/{world.work_id}"
    submit(page, page.get_by_role("button", name="Aprobar").first.click)
    assert "Su aprobación quedó registrada." in page.locator(".notice").inner_text()

    # The official revises the study: her approval no longer counts, and she is told so.
    world.attach("feasibilityStudy", b"%PDF estudio revisado")
    [stale] = _send(world, mailbox, server.url)
    assert stale["Subject"] == "Su aprobación ya no cuenta: LAM-2026-001"
    page = rosa.open(_link(stale, server.url))
    assert urlsplit(page.url).path == "/pending"
    assert "Documento adjuntado: Estudio de preinversión" in page.content()
    rosa.shot("pending-stale-phone")
    submit(page, page.get_by_role("button", name="Revisé los cambios: aprobar de nuevo").click)
    latest = world.lc.get_work(world.work_id).proposal(proposal.id).latest_signoffs()
    approval = latest[world.members["rosa"].id]
    assert approval.decision == "approve"
    assert approval.seq > world.lc.get_work(world.work_id).documents[-1].seq  # counts again
    rosa.close()
