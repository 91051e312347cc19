"""In Debian's headless Chromium: /docs renders from the app's own files (no request leaves the
site, no script is refused by the page policy), and a member finds her pending review from the
header at phone width. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_browser import CHROMIUM, Person, browser, site, submit  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: install Debian's chromium package "
                              "(apt-get install chromium) to run the browser tests"),
]


def test_docs_render_from_the_app_itself(site, browser):
    server, _world = site
    person = Person(browser, server.url)
    refused: list[str] = []
    person.page.on("console", lambda m: refused.append(m.text)
                   if "Content Security Policy" in m.text else None)
    page = person.open("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30000)
    assert page.locator(".opblock").count() > 20  # every operation is listed
    host = urlsplit(server.url).netloc
    assert all(urlsplit(url).netloc == host for url in person.requested), person.requested
    assert refused == []
    person.shot("docs")
    person.close()


def test_a_member_finds_her_review_from_the_header_on_a_phone(site, browser):
    server, world = site
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    rosa = Person(browser, server.url, width=390, height=844)
    page = rosa.login("rosa")
    link = page.get_by_role("link", name="Mis pendientes")
    assert link.inner_text().strip().endswith("1")
    submit(page, link.click)
    assert page.get_by_role("heading", name="Propuestas que esperan su revisión").is_visible()
    rosa.shot("pending-phone")
    submit(page, page.get_by_role("link", name="Revisar y pronunciarse").click)
    assert urlsplit(page.url).path == f"/works/{world.work_id}"
    rosa.close()
