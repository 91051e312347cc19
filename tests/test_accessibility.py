"""Accessibility (WCAG 2.1 A and AA) of the main pages, at desktop and phone width, checked by
axe-core injected into Debian's headless Chromium: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_browser import CHROMIUM, Person, browser, site  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: install Debian's chromium package "
                              "(apt-get install chromium) to run the browser tests"),
]


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


def _violations(page, source: str) -> list[dict]:
    page.evaluate(source)
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _reader(browser, base: str, width: int) -> Person:
    """A person whose pages axe-core can be injected into (the pages' policy allows no
    script from elsewhere, rightly; the checker is the test's, not the site's)."""
    person = Person(browser, base, width=width)
    person.context.close()
    person.context = browser.new_context(locale="es-PE", bypass_csp=True,
                                         viewport={"width": width, "height": 900})
    person.page = person.context.new_page()
    return person


@pytest.mark.parametrize("width", [1280, 390])
def test_main_pages_have_no_serious_violation(site, browser, width):
    server, world = site
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="Falta el estudio de suelos.")
    source = _axe_source()
    found = {}
    world.lc.set_password(user_id=world.admin.id, password="contraseña-de-prueba")
    for who, paths in ((None, ["/", f"/works/{world.work_id}", "/networks",
                               f"/networks/{world.network_id}", "/reports/stalled", "/audit",
                               "/login"]),
                       ("jorge", ["/pending", f"/works/{world.work_id}"]),
                       ("admin", ["/admin", f"/admin/networks/{world.network_id}"])):
        person = _reader(browser, server.url, width)
        if who:
            person.login(who)
        for path in paths:
            person.open(path)
            found[f"{who or 'public'} {path}"] = _violations(person.page, source)
            # At phone width the page itself never scrolls sideways (tables scroll inside).
            assert person.page.evaluate("document.documentElement.scrollWidth") <= width, path
        person.close()
    assert {path: v for path, v in found.items() if v} == {}
