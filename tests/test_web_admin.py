"""Administration in the web: an admin builds a network with organizations and members, changes
its policy (never below the floors) and manages users, all in Spanish and without the API."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from lifecycle.validation import ruc_check_digit
from tests.test_web_pages import Browser


def _ruc(first_ten: str) -> str:
    return first_ten + str(ruc_check_digit(first_ten))


@pytest.fixture
def admin(world):
    browser = Browser(create_app(world.lc), world)
    browser.login("admin")
    return browser


def _error(html: str) -> str:
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def test_only_admins_see_the_administration(world):
    public = Browser(create_app(world.lc), world)
    assert public.get("/admin", follow_redirects=False).status_code == 303
    public.login("rosa")
    refused = public.get("/admin")
    assert refused.status_code == 403 and "Solo los administradores" in refused.text
    # The engine refuses too: a member posting the form directly changes nothing.
    size = world.lc.log_size()
    posted = public.post("/admin/networks", {"name": "Red falsa", "regions": "Cusco"},
                         page="/")
    assert posted.status_code == 403
    assert world.lc.log_size() == size


def test_an_admin_builds_a_network_in_the_web(admin, world):
    home = admin.get("/")
    assert 'href="/admin"' in home.text and "Administración" in home.text
    page = admin.get("/admin")
    assert page.status_code == 200 and "Redes de integridad" in page.text
    ruc = _ruc("2048765432")
    done = admin.post("/admin/organizations", {"name": "Gobierno Regional de Cajamarca",
                                               "tax_id": ruc, "kind": "public_entity",
                                               "sector": "government", "region": "Cajamarca"},
                      page="/admin")
    assert done.status_code == 200 and "La organización quedó registrada." in done.text
    assert ruc in done.text
    done = admin.post("/admin/organizations", {"name": "Rondas Campesinas de Cutervo",
                                               "kind": "association",
                                               "sector": "civil_society"}, page="/admin")
    assert done.status_code == 200
    done = admin.post("/admin/networks", {"name": "Red de Integridad Cajamarca",
                                          "regions": "Cajamarca"}, page="/admin")
    assert "La red quedó creada." in done.text
    network = next(n for n in world.lc.list_networks() if n.name == "Red de Integridad Cajamarca")
    assert network.regions == ["Cajamarca"]
    created = admin.post("/admin/users", {"username": "yolanda", "role": "member",
                                          "email": "yolanda@example.pe"}, page="/admin")
    assert created.status_code == 201
    token = re.search(r'<code class="token">([^<]+)</code>', created.text).group(1)
    assert world.lc.authenticate_token(token).username == "yolanda"
    user_id = world.lc.authenticate_token(token).id
    rondas = next(o for o in world.lc.list_organizations("Rondas"))
    added = admin.post(f"/admin/networks/{network.id}/members",
                       {"user_id": str(user_id), "organization_id": str(rondas.id),
                        "constituencies": "indigenous"}, page=f"/admin/networks/{network.id}")
    assert "El miembro quedó incorporado a la red." in added.text
    member = world.lc.get_network(network.id).active_member(user_id)
    assert member.sector == "civil_society" and member.constituencies == ["indigenous"]
    removed = admin.post(f"/admin/networks/{network.id}/members/{user_id}/remove", {},
                         page=f"/admin/networks/{network.id}")
    assert removed.status_code == 200
    assert world.lc.get_network(network.id).active_member(user_id) is None


def test_a_bad_ruc_is_refused_with_the_field_named_and_the_form_kept(admin, world):
    page = admin.post("/admin/organizations", {"name": "Constructora Fantasma S.A.C.",
                                               "tax_id": "20123456789", "kind": "company",
                                               "sector": "private_sector"}, page="/admin")
    assert page.status_code == 422
    assert "tax_id" in _error(page.text)
    assert 'value="Constructora Fantasma S.A.C."' in page.text
    assert world.lc.list_organizations("Fantasma") == []


def test_the_policy_form_shows_its_floors_and_refuses_going_below(admin, world):
    url = f"/admin/networks/{world.network_id}"
    page = admin.get(url)
    assert "Aprobaciones necesarias" in page.text and "al menos 2" in page.text
    assert "como máximo 10" in page.text
    version = world.lc.get_network(world.network_id).policy.version
    fields = {"min_approvals": "4", "min_sectors": "3", "min_tender_days": "20",
              "award_tolerance_pct": "5", "low_tolerance_pct": "10",
              "amendment_flag_pct": "15", "paralysis_months": "6", "appeal_days": "5",
              "required_sectors": "civil_society"}
    done = admin.post(f"{url}/policy", fields, page=url)
    assert "La nueva versión de las reglas está vigente." in done.text
    policy = world.lc.get_network(world.network_id).policy
    assert (policy.version, policy.min_approvals, policy.min_sectors) == (version + 1, 4, 3)
    assert "Versión %d" % (version + 1) in done.text  # the public history of the rules
    below = admin.post(f"{url}/policy", fields | {"min_approvals": "1"}, page=url)
    assert below.status_code == 422 and "min_approvals" in _error(below.text)
    no_civil_society = admin.post(f"{url}/policy", {**fields, "required_sectors": "academia"},
                                  page=url)
    assert no_civil_society.status_code == 422
    assert world.lc.get_network(world.network_id).policy.version == version + 1


def test_deactivate_and_new_credentials(admin, world):
    rosa = world.members["rosa"]
    token_before = world.lc.create_user(actor=world.admin, username="temporal",
                                        role="auditor")[1]
    temporal = world.lc.authenticate_token(token_before)
    done = admin.post(f"/admin/users/{temporal.id}/deactivate", {}, page="/admin")
    assert "quedó desactivado" in done.text
    assert world.lc.authenticate_token(token_before) is None
    # Deactivating does not touch the public log: credentials never enter it.
    reset = admin.post(f"/admin/users/{temporal.id}/reset", {"password": "nueva-clave-123"},
                       page="/admin")
    assert reset.status_code == 201
    token = re.search(r'<code class="token">([^<]+)</code>', reset.text).group(1)
    assert world.lc.authenticate_token(token).id == temporal.id
    assert world.lc.authenticate_password("temporal", "nueva-clave-123").id == temporal.id
    assert rosa.id != temporal.id
    own = admin.post(f"/admin/users/{world.admin.id}/deactivate", {}, page="/admin")
    assert own.status_code == 422
