"""The web pages through the test client: what a reader sees, and who may do what."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.web.session import SECRET_FILE, SESSION_COOKIE

PASSWORD = "contraseña-de-prueba"


class Browser:
    """A test client that keeps its cookies and reads the CSRF token off the pages."""

    def __init__(self, app, world=None, language: str = "es"):
        self.client = TestClient(app, headers={"Accept-Language": language})
        self.world = world

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf(self, url: str = "/login") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.get(url).text)
        assert match, f"no form with a CSRF token on {url}"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, *, page: str = "/", files=None,
             csrf: bool = True):
        data = dict(data or {})
        if csrf:
            data["csrf"] = self.csrf(page)
        return self.client.post(url, data=data, files=files, follow_redirects=True)

    def login(self, username: str, password: str = PASSWORD):
        # Passwords are set only for who logs in: argon2 is slow on purpose.
        users = {u.username: u for u in self.world.lc.users()}
        if username in users and not users[username].password_hash:
            self.world.lc.set_password(user_id=users[username].id, password=PASSWORD)
        return self.post("/login", {"username": username, "password": password}, page="/login")


@pytest.fixture
def app(world):
    return create_app(world.lc)


@pytest.fixture
def browser(app, world):
    return Browser(app, world)


def signoff_form(work_id: int, proposal_id: int) -> str:
    return f'action="/works/{work_id}/proposals/{proposal_id}/signoffs"'


# ---------------------------------------------------------------------- the public portal
def test_portal_lists_works_with_filters_search_and_counts(world, browser):
    world.lc.create_network(actor=world.admin, name="Red de Integridad Piura", regions=["Piura"])
    other = world.lc.register_work(
        actor=world.official, code="LAM-2026-002", title="Colegio en Mórrope",
        region="Piura", reference_amount="800000.00")
    page = browser.get("/").text
    assert "LAM-2026-001" in page and "LAM-2026-002" in page
    assert "2 obras en total" in page
    assert re.search(r'href="/\?region=Piura">Piura</a></th><td>1</td>', page)

    assert "LAM-2026-002" not in browser.get("/?region=Lambayeque").text
    found = browser.get("/?q=morrope").text + browser.get("/?q=Mórrope").text
    assert f'href="/works/{other.id}"' in found
    assert "LAM-2026-001" not in browser.get("/?q=lam-2026-002").text
    assert "Ninguna obra coincide" in browser.get("/?stage=tender").text


def test_portal_stalled_filter_and_report(world, browser, clock):
    clock.advance(days=200)  # past the design stage's 180 days
    assert "atrasada 20 días" in browser.get("/").text  # overdue, not paralysed (Ley 31589)
    assert "LAM-2026-001" in browser.get("/?stalled=1").text
    report = browser.get("/reports/stalled").text
    assert "LAM-2026-001" in report and "<strong>20</strong>" in report


def test_bad_filters_are_a_4xx_naming_the_field(browser):
    response = browser.get("/?network=abc")
    assert response.status_code == 422 and "network" in response.text
    response = browser.get("/?stage=flying")
    assert response.status_code == 422 and "stage" in response.text
    assert browser.get("/works/999").status_code == 404


# ---------------------------------------------------------------------- the work page
def test_work_page_shows_diagram_documents_proposal_and_dry_run(world, browser):
    content = b"%PDF estudio de preinversion"
    world.attach("feasibilityStudy", content=content)
    proposal = world.propose("approve_design", justification="perfil viable")
    world.sign(proposal.id, "rosa")
    page = browser.get(f"/works/{world.work_id}").text

    # The stage diagram is drawn from the machine, the current stage highlighted.
    assert '<svg class="stage-diagram"' in page
    assert re.search(r'<g class="stage current" data-stage="design">', page)
    assert page.count('<g class="stage') == 8
    # Documents with size, sha256 and a download that gives back the same bytes.
    assert hashlib.sha256(content).hexdigest() in page
    assert f"{len(content)} B" in page
    download = browser.get(f"/works/{world.work_id}/documents/1/download")
    assert download.content == content
    # The proposal, its sign-offs, and what is still missing in plain words.
    assert "Cambio de etapa propuesto: Aprobar el diseño" in page
    assert "rosa (Mesa de Concertación de Mujeres, sociedad civil)" in page
    assert "Aún falta: 2 aprobaciones más y aprobaciones de 1 sector más." in page


def test_missing_civil_society_approval_is_named(world, browser):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "jorge", "ana", "luis")
    page = browser.get(f"/works/{world.work_id}").text
    assert "Aún falta: una aprobación de sociedad civil." in page


def test_stale_approval_is_marked(world, browser):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    world.attach("feasibilityStudy")  # the dossier changed after rosa's approval
    page = browser.get(f"/works/{world.work_id}").text
    assert 'class="badge stale">desactualizada</strong>' in page
    assert "se dio antes del último cambio del expediente" in page


def test_timeline_says_who_from_where_did_what_and_why(world, browser):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design", justification="perfil viable")
    world.sign(proposal.id, "luis", decision="block", reason="falta el estudio de suelos")
    page = browser.get(f"/works/{world.work_id}").text
    timeline = page[page.index('<ol class="timeline" reversed>'):]
    assert timeline.count("<li") == len(world.lc.history(world.work_id))
    assert ("luis (Universidad Nacional Pedro Ruiz Gallo, academia) bloqueó la propuesta n.º 1, "
            "porque: «falta el estudio de suelos»") in timeline
    assert "propuso: Aprobar el diseño (propuesta n.º 1), porque: «perfil viable»" in timeline


# ---------------------------------------------------------------------- languages
def test_spanish_by_default_english_on_request_and_by_the_switch(world, app):
    spanish = Browser(app, world, language="")
    assert '<html lang="es">' in spanish.get("/").text
    assert "2 mar. 2026" in spanish.get("/").text  # dates in the reader's format

    english = Browser(app, world, language="en-GB,en;q=0.9")
    page = english.get("/").text
    assert '<html lang="en">' in page and "Public works" in page and "Mar 2, 2026" in page

    switched = Browser(app, world, language="es")
    response = switched.client.get("/language/en?next=/networks", follow_redirects=True)
    assert response.url.path == "/networks" and '<html lang="en">' in response.text
    assert '<html lang="en">' in switched.get("/").text  # the choice stays
    # The switch only sends readers to pages of this site.
    away = switched.client.get("/language/es?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/"


# ---------------------------------------------------------------------- login and sessions
def test_login_logout_and_cookie_flags(world, browser, app):
    refused = browser.login("rosa", "wrong password")
    assert refused.status_code == 401 and "Usuario o contraseña incorrectos." in refused.text

    response = browser.login("rosa")
    assert "Ha ingresado." in response.text and "rosa · miembro de red" in response.text
    cookie = next(h for h in response.history[0].headers.get_list("set-cookie")
                  if h.startswith(SESSION_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    secret = world.lc.data_dir / SECRET_FILE
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600

    response = browser.post("/logout")
    assert "Ha salido." in response.text and 'href="/login' in response.text


def test_a_form_posted_without_its_csrf_token_is_refused(world, browser):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    browser.login("rosa")
    before = len(world.lc.history(world.work_id))
    url = f"/works/{world.work_id}/proposals/{proposal.id}/signoffs"
    response = browser.post(url, {"decision": "approve"}, csrf=False)
    assert response.status_code == 403
    response = browser.post(url, {"decision": "approve", "csrf": "forged"}, csrf=False)
    assert response.status_code == 403
    assert len(world.lc.history(world.work_id)) == before
    # A login form needs its token too.
    assert browser.post("/login", {"username": "rosa", "password": PASSWORD},
                        csrf=False).status_code == 403


# ---------------------------------------------------------------------- members
def test_member_of_another_network_sees_no_signoff_form_and_is_refused(world, app):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    elsewhere = world.lc.create_network(actor=world.admin, name="Red de Integridad Piura",
                                        regions=["Piura"])
    pedro = world.user("pedro", "member")
    chamber = world.organization("camara_piura", "Cámara de Comercio de Piura", "association",
                                 "private_sector")
    world.lc.add_member(actor=world.admin, network_id=elsewhere.id, user_id=pedro.id,
                        organization_id=chamber)
    outsider = Browser(app, world)
    outsider.login("pedro")
    page = outsider.get(f"/works/{world.work_id}").text
    assert signoff_form(world.work_id, proposal.id) not in page
    assert f'action="/works/{world.work_id}/observations"' not in page
    response = outsider.post(f"/works/{world.work_id}/proposals/{proposal.id}/signoffs",
                             {"decision": "approve"}, page=f"/works/{world.work_id}")
    assert response.status_code == 403 and "No tiene permiso" in response.text
    assert world.work.proposals[0].signoffs == []

    member = Browser(app, world)
    member.login("rosa")
    assert signoff_form(world.work_id, proposal.id) in member.get(f"/works/{world.work_id}").text


def test_member_approves_blocks_with_reason_and_withdraws(world, browser):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    browser.login("luis")
    url = f"/works/{world.work_id}/proposals/{proposal.id}/signoffs"
    page = f"/works/{world.work_id}"

    no_reason = browser.post(url, {"decision": "block", "reason": " "}, page=page)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    blocked = browser.post(url, {"decision": "block", "reason": "sin estudio de suelos"},
                           page=page)
    assert "Su bloqueo quedó registrado con su motivo." in blocked.text
    assert "bloqueada por luis (Universidad Nacional Pedro Ruiz Gallo)" in blocked.text
    unexplained = browser.post(url, {"decision": "withdraw"}, page=page)
    assert unexplained.status_code == 422 and "levantando su bloqueo" in unexplained.text
    withdrawn = browser.post(url, {"decision": "withdraw",
                                   "reason": "ya adjuntaron el estudio de suelos"}, page=page)
    assert "Su pronunciamiento fue retirado." in withdrawn.text
    assert [s.decision for s in world.work.proposals[0].signoffs] == ["block", "withdraw"]
    assert world.work.proposals[0].signoffs[-1].reason == "ya adjuntaron el estudio de suelos"


def test_member_files_an_observation_and_declares_a_conflict(world, browser):
    browser.login("ana")
    page = f"/works/{world.work_id}"
    response = browser.post(f"/works/{world.work_id}/observations",
                            {"text": "El presupuesto no incluye el drenaje."}, page=page)
    assert "Su observación fue presentada." in response.text
    response = browser.post(f"/works/{world.work_id}/conflicts",
                            {"statement": "Mi hermano trabaja en una postora."}, page=page)
    assert "Su conflicto de intereses está declarado" in response.text
    assert f'action="/works/{world.work_id}/conflicts"' not in response.text  # once is enough
    work = world.work
    assert work.observations[0].text == "El presupuesto no incluye el drenaje."
    assert work.conflicted(world.members["ana"].id)


# ---------------------------------------------------------------------- officials
def test_official_registers_a_work(world, browser):
    browser.login("oficial")
    form = {"code": "LAM-2026-020", "title": "Puente peatonal en Túcume", "region": "Lambayeque",
            "network_id": str(world.network_id), "reference_amount": "1,250,000.50",
            "currency": "PEN"}
    response = browser.post("/works", form, page="/works/new")
    assert "La obra está registrada." in response.text
    assert "S/\xa01,250,000.50" in response.text  # Peru writes money so, with a no-break space

    taken = browser.post("/works", form, page="/works/new")
    assert taken.status_code == 409 and "code" in taken.text
    bad = browser.post("/works", {**form, "code": "X-1", "reference_amount": "mucho"},
                       page="/works/new")
    assert bad.status_code == 422 and "reference_amount" in bad.text
    assert 'value="Puente peatonal en Túcume"' in bad.text  # what was typed stays


def test_official_uploads_answers_proposes_and_sees_why_apply_is_refused(world, browser):
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="¿Y el drenaje?")
    browser.login("oficial")
    page = f"/works/{world.work_id}"
    content = b"%PDF perfil"
    response = browser.post(f"/works/{world.work_id}/documents",
                            {"kind": "feasibilityStudy", "title": "Perfil"}, page=page,
                            files={"file": ("perfil.pdf", io.BytesIO(content),
                                            "application/pdf")})
    assert "El documento está adjuntado" in response.text
    assert world.work.documents[0].sha256 == hashlib.sha256(content).hexdigest()
    no_file = browser.post(f"/works/{world.work_id}/documents",
                           {"kind": "feasibilityStudy", "title": "Perfil"}, page=page)
    assert no_file.status_code == 422 and "file" in no_file.text

    response = browser.post(f"/works/{world.work_id}/observations/1/answer",
                            {"text": "Está en la partida 04."}, page=page)
    assert "La observación está respondida." in response.text

    response = browser.post(f"/works/{world.work_id}/proposals",
                            {"trigger": "approve_design", "justification": "perfil viable"},
                            page=page)
    assert "La propuesta está abierta" in response.text
    unconfirmed = browser.post(f"/works/{world.work_id}/proposals/1/apply", page=page)
    assert unconfirmed.status_code == 422  # a refusal is public and permanent: confirm first
    assert "marque la confirmación" in unconfirmed.text
    assert world.lc.history(world.work_id)[-1]["type"] == "proposal.opened"
    response = browser.post(f"/works/{world.work_id}/proposals/1/apply",
                            {"confirm_refusal": "on"}, page=page)
    assert response.status_code == 409
    assert "El cambio de etapa fue rechazado" in response.text
    assert "Aún falta: 3 aprobaciones más" in response.text
    assert world.lc.history(world.work_id)[-1]["type"] == "transition.refused"

    world.sign(1, "rosa", "jorge", "ana")
    response = browser.post(f"/works/{world.work_id}/proposals/1/apply", page=page)
    assert "El cambio de etapa está aplicado." in response.text
    assert world.work.stage == "technical_file"


def test_official_withdraws_and_cannot_act_for_another_entity(world, app):
    world.propose("approve_design")
    other = world.other_official()
    stranger = Browser(app, world)
    stranger.login(other.username)
    page = stranger.get(f"/works/{world.work_id}").text
    assert "Retirar la propuesta" not in page and "Adjuntar un documento" not in page
    refused = stranger.post(f"/works/{world.work_id}/proposals/1/withdraw",
                            page=f"/works/{world.work_id}")
    assert refused.status_code == 403

    official = Browser(app, world)
    official.login("oficial")
    response = official.post(f"/works/{world.work_id}/proposals/1/withdraw",
                             page=f"/works/{world.work_id}")
    assert "La propuesta fue retirada." in response.text
    assert world.work.proposals[0].status == "withdrawn"


def test_forms_need_a_login(world, browser):
    response = browser.client.post(f"/works/{world.work_id}/observations",
                                   data={"text": "hola", "csrf": browser.csrf("/login")},
                                   follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert browser.get("/works/new", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------- networks, audit, assets
def test_network_page_shows_members_and_diversity(world, browser):
    page = browser.get(f"/networks/{world.network_id}").text
    for name in ("rosa", "jorge", "ana", "luis", "carmen"):
        assert f"<td>{name}</td>" in page
    assert re.search(r"<th scope=\"row\">mujeres</th><td>1</td>", page)
    assert re.search(r"<th scope=\"row\">sociedad civil</th><td>1</td>", page)
    assert "Un cambio de etapa necesita 3 aprobaciones de al menos 2 sectores." in page


def test_audit_page_export_and_verify(world, browser):
    size, root = world.lc.log_head()
    page = browser.get("/audit").text
    assert root.hex() in page and f"<dd>{size}</dd>" in page
    assert "lifecycle.local/log" in page  # the signed checkpoint's origin line

    bundle = browser.get("/audit/bundle.tar.gz")
    assert bundle.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(bundle.content)) as tar:
        names = tar.getnames()
    assert "lifecycle-log/entries.jsonl" in names and "lifecycle-log/checkpoint" in names

    response = browser.post("/audit/verify", page="/audit", files={
        "bundle": ("lifecycle-log.tar.gz", io.BytesIO(bundle.content), "application/gzip")})
    assert "El paquete se verifica." in response.text and root.hex() in response.text

    # A bundle whose log was edited does not verify, and the page says where.
    tampered = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(bundle.content)) as source, \
            tarfile.open(fileobj=tampered, mode="w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("entries.jsonl"):
                data = data.replace(b"Lambayeque", b"Lambayequx", 1)
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    response = browser.post("/audit/verify", page="/audit", files={
        "bundle": ("tampered.tar.gz", io.BytesIO(tampered.getvalue()), "application/gzip")})
    assert "El paquete no se verifica." in response.text and "entry " in response.text

    not_an_archive = browser.post("/audit/verify", page="/audit", files={
        "bundle": ("notes.txt", io.BytesIO(b"hello"), "text/plain")})
    assert not_an_archive.status_code == 422 and "bundle" in not_an_archive.text


def test_pages_load_nothing_from_other_sites(world, browser):
    world.propose("approve_design")
    for url in ("/", f"/works/{world.work_id}", f"/networks/{world.network_id}", "/audit",
                "/reports/stalled", "/login", "/networks"):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert not re.search(r'(src|href|action)="(https?:)?//', response.text), url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy or "script-src 'none'" in policy, policy
        assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    css = browser.get("/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert browser.get("/static/../main.py").status_code == 404


def test_every_form_control_has_a_label(world, app):
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id, text="¿Y?")
    for username, url in (("oficial", f"/works/{world.work_id}"), ("rosa", f"/works/{world.work_id}"),
                          ("oficial", "/works/new"), (None, "/"), (None, "/audit"),
                          (None, "/login"), ("admin", "/admin"),
                          ("admin", f"/admin/networks/{world.network_id}"),
                          ("rosa", "/pending"), ("oficial", "/pending")):
        reader = Browser(app, world)
        if username:
            reader.login(username)
        page = reader.get(url).text
        labelled = set(re.findall(r'<label for="([^"]+)"', page))
        controls = re.findall(r'<(?:input|select|textarea)\b([^>]*)>', page)
        for attributes in controls:
            if 'type="hidden"' in attributes:
                continue
            control_id = re.search(r'id="([^"]+)"', attributes)
            assert control_id and control_id.group(1) in labelled, (url, attributes)
