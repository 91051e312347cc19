"""End to end in Debian's headless Chromium: the app served by uvicorn on a free local port, driven
the way people use it. Screenshots of the main pages go to test-output/screenshots/."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from api.main import create_app
from tests.conftest import Clock, build_world, make_lifecycle

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
PASSWORD = "contraseña-de-prueba"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: install Debian's chromium package "
                              "(apt-get install chromium) to run the browser tests"),
]


class LiveServer:
    """uvicorn in a thread, on a socket bound here so the port is known and free."""

    def __init__(self, app):
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # readiness, not a timing assertion
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()


@pytest.fixture
def site(tmp_path):
    clock = Clock()
    lc = make_lifecycle(tmp_path, "sqlite", clock)
    world = build_world(lc, clock)
    for actor in [world.official, *world.members.values()]:
        lc.set_password(user_id=actor.id, password=PASSWORD)
    with LiveServer(create_app(lc)) as server:
        yield server, world
    lc.engine.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def submit(page, action) -> None:
    """Do what sends a form, and wait for the page the server answers with."""
    with page.expect_navigation():
        action()


class Person:
    """One person's browser: their own cookies, and every URL their pages asked for."""

    def __init__(self, browser, base: str, *, locale: str = "es-PE", width: int = 1280,
                 height: int = 900):
        self.base = base
        self.context = browser.new_context(locale=locale,
                                           viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.requested: list[str] = []
        self.page.on("request", lambda request: self.requested.append(request.url))

    def open(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def login(self, username: str):
        page = self.open("/login")
        page.get_by_label("Usuario").fill(username)
        page.get_by_label("Contraseña").fill(PASSWORD)
        submit(page, page.get_by_role("button", name="Ingresar").click)
        return page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def test_a_stage_change_reviewed_and_signed_off_in_the_browser(site, browser):
    server, world = site
    work_path = f"/works/{world.work_id}"
    official = Person(browser, server.url)
    page = official.login("oficial")
    assert page.locator(".notice").inner_text() == "Ha ingresado."

    # The official attaches the feasibility study and opens the proposal.
    page = official.open(work_path)
    page.get_by_label("Tipo de documento").select_option("feasibilityStudy")
    page.get_by_label("Título", exact=True).fill("Estudio de preinversión a nivel de perfil")
    page.get_by_label("Archivo").set_input_files(files=[{
        "name": "perfil.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4 estudio de preinversion"}])
    submit(page, page.get_by_role("button", name="Adjuntar").click)
    assert "El documento está adjuntado" in page.locator(".notice").inner_text()
    page.get_by_label("Cambio de etapa que propone").select_option("approve_design")
    page.get_by_label("Justificación").fill("El perfil fue aprobado por la OPMI.")
    submit(page, page.get_by_role("button", name="Abrir la propuesta").click)
    assert "Cambio de etapa propuesto: Aprobar el diseño" in page.content()
    official.shot("work-proposal-open")

    # Three members log in and approve; the dry run tells what is still missing.
    for name in ("rosa", "jorge", "ana"):
        member = Person(browser, server.url)
        member.login(name)
        page = member.open(work_path)
        submit(page, page.get_by_role("button", name="Aprobar", exact=True).click)
        assert page.locator(".notice").inner_text() == "Su aprobación quedó registrada."
        if name == "rosa":
            member.shot("work-member-review")
        member.close()

    # Luis blocks with a reason; the official's apply is refused and says why.
    luis = Person(browser, server.url)
    page = luis.login("luis")
    page = luis.open(work_path)
    page.get_by_label("Motivo del bloqueo (obligatorio)").fill(
        "Falta el estudio de suelos del tramo 2.")
    submit(page, page.get_by_role("button", name="Bloquear").click)
    assert "Su bloqueo quedó registrado" in page.locator(".notice").inner_text()

    page = official.open(work_path)
    page.get_by_label("Entiendo: intentarlo de todos modos").check()
    submit(page, page.get_by_role("button", name="Aplicar el cambio de etapa").click)
    refusal = page.locator(".refusal")
    assert "El cambio de etapa fue rechazado" in refusal.inner_text()
    assert "Falta el estudio de suelos del tramo 2." in refusal.inner_text()
    official.shot("work-apply-refused")

    # Luis withdraws his block; now the official applies.
    page = luis.open(work_path)
    page.locator("#lift-withdraw").fill("El estudio de suelos ya está en el expediente.")
    submit(page, page.get_by_role("button", name="Retirar mi pronunciamiento").click)
    assert page.locator(".notice").inner_text() == "Su pronunciamiento fue retirado."
    page = official.open(work_path)
    assert "Sí: se cumplen todas las reglas." in page.content()
    submit(page, page.get_by_role("button", name="Aplicar el cambio de etapa").click)
    assert page.locator(".notice").inner_text() == "El cambio de etapa está aplicado."
    assert page.locator("svg .stage.current").get_attribute("data-stage") == "technical_file"

    timeline = page.locator("ol.timeline li").all_inner_texts()
    story = "\n".join(timeline)
    for step in (
        "registró la obra LAM-2026-001",
        "adjuntó el documento «Estudio de preinversión a nivel de perfil»",
        "propuso: Aprobar el diseño (propuesta n.º 1), porque: «El perfil fue aprobado por la OPMI.»",
        "rosa (Mesa de Concertación de Mujeres, sociedad civil) aprobó la propuesta n.º 1.",
        "jorge (Cámara de Comercio de Lambayeque, sector privado) aprobó la propuesta n.º 1.",
        "ana (Colegio de Ingenieros del Perú, colegio profesional) aprobó la propuesta n.º 1.",
        "bloqueó la propuesta n.º 1, porque: «Falta el estudio de suelos del tramo 2.»",
        "intentó aplicar la propuesta n.º 1; fue rechazada",
        "luis (Universidad Nacional Pedro Ruiz Gallo, academia) retiró su pronunciamiento",
        "aplicó la propuesta n.º 1: la obra pasó de Diseño a Expediente técnico.",
    ):
        assert step in story, step
    assert len(timeline) == len(world.lc.history(world.work_id))
    official.shot("work-applied")

    # Nothing was loaded from another site.
    for person in (official, luis):
        assert [url for url in person.requested if not url.startswith(server.url)] == []
    official.close()
    luis.close()


def test_main_pages_in_both_languages_and_at_phone_width(site, browser):
    server, world = site
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    desk = Person(browser, server.url)
    for path, name in (("/", "portal"), (f"/networks/{world.network_id}", "network"),
                       ("/reports/stalled", "stalled"), ("/audit", "audit"),
                       ("/login", "login")):
        page = desk.open(path)
        assert page.locator("html").get_attribute("lang") == "es"
        desk.shot(name)
    assert [url for url in desk.requested if not url.startswith(server.url)] == []

    # The switch on every page turns the site to English, and it stays English.
    page = desk.open(f"/works/{world.work_id}")
    submit(page, page.get_by_role("link", name="English").click)
    assert page.locator("html").get_attribute("lang") == "en"
    assert ("Still missing: 2 more approvals and approvals from 1 more sector."
            in page.locator("ul.checks").inner_text())
    desk.shot("work-english")
    page = desk.open("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Public works"
    desk.close()

    phone = Person(browser, server.url, width=390, height=844)
    for path, name in (("/", "phone-portal"), (f"/works/{world.work_id}", "phone-work")):
        page = phone.open(path)
        # Readable at phone width: the page itself does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        phone.shot(name)
    phone.close()


def test_login_and_sign_off_from_the_keyboard_alone(site, browser):
    server, world = site
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    person = Person(browser, server.url)
    page = person.open(f"/login?next=/works/{world.work_id}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Saltar al contenido"
    page.get_by_label("Usuario").focus()
    page.keyboard.type("rosa")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    submit(page, lambda: page.keyboard.press("Enter"))
    assert page.url.endswith(f"/works/{world.work_id}")
    approve = page.get_by_role("button", name="Aprobar", exact=True)
    approve.focus()
    submit(page, lambda: page.keyboard.press("Enter"))
    assert page.locator(".notice").inner_text() == "Su aprobación quedó registrada."
    person.close()
