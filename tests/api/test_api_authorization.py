"""Every role against every write endpoint, plus other-entity, other-network and own-proposal
cases. Authorization lives in the service, so these also prove the routes do not bypass it."""

import pytest

from api_world import ENTITY  # tests/api/api_world.py

CALLERS = ["anonymous", "admin", "oficial", "otro", "rosa", "pedro", "auditora"]


def _open_proposal(api) -> int:
    return api.ok(api.propose("approve_design"), 201)["id"]


def _observation(api) -> int:
    return api.ok(api.post(f"/works/{api.work_id}/observations", "rosa",
                           json={"text": "¿Y el estudio de suelos?"}), 201)["id"]


# endpoint: (prepare(api) -> ids, request(api, ids) -> (method, path, kwargs), allowed, status)
ENDPOINTS = {
    "POST /users": (
        None, lambda api, _: ("POST", "/users", {"json": {"username": "nuevo",
                                                          "role": "auditor"}}),
        {"admin"}, 201),
    "POST /networks": (
        None, lambda api, _: ("POST", "/networks", {"json": {"name": "Red Cusco",
                                                             "regions": ["Cusco"]}}),
        {"admin"}, 201),
    "POST /networks/{id}/members": (
        lambda api: api.add_user("nueva", "member")["id"],
        lambda api, uid: ("POST", f"/networks/{api.network_id}/members", {"json": {
            "user_id": uid, "organization_id": api.orgs["mesa"]}}),
        {"admin"}, 201),
    "DELETE /networks/{id}/members/{user}": (
        None, lambda api, _: ("DELETE", f"/networks/{api.network_id}/members/{api.ids['luis']}",
                              {}),
        {"admin"}, 200),
    "PUT /networks/{id}/policy": (
        None, lambda api, _: ("PUT", f"/networks/{api.network_id}/policy",
                              {"json": {"min_approvals": 4}}),
        {"admin"}, 200),
    "POST /works": (
        None, lambda api, _: ("POST", "/works", {"json": {
            "code": "LAM-2026-002", "title": "Puente Reque", "entity_id": api.orgs["entity"],
            "region": "Lambayeque",
            "reference_amount": "800000.00", "currency": "PEN"}}),
        {"oficial"}, 201),
    "POST /works/{id}/documents": (
        None, lambda api, _: ("POST", f"/works/{api.work_id}/documents", {
            "data": {"kind": "feasibilityStudy", "title": "Estudio"},
            "files": {"file": ("estudio.pdf", b"%PDF estudio", "application/pdf")}}),
        {"oficial"}, 201),
    "POST /works/{id}/observations": (
        None, lambda api, _: ("POST", f"/works/{api.work_id}/observations",
                              {"json": {"text": "Observación"}}),
        {"rosa"}, 201),
    "POST /works/{id}/observations/{obs}/answer": (
        _observation, lambda api, obs: (
            "POST", f"/works/{api.work_id}/observations/{obs}/answer",
            {"json": {"text": "Respuesta"}}),
        {"oficial"}, 200),
    "POST /works/{id}/conflicts": (
        None, lambda api, _: ("POST", f"/works/{api.work_id}/conflicts",
                              {"json": {"statement": "Mi primo es postor."}}),
        {"rosa"}, 201),
    "POST /works/{id}/proposals": (
        None, lambda api, _: ("POST", f"/works/{api.work_id}/proposals",
                              {"json": {"trigger": "approve_design", "justification": "ok"}}),
        {"oficial"}, 201),
    "POST /works/{id}/proposals/{p}/signoffs": (
        _open_proposal, lambda api, p: ("POST", f"/works/{api.work_id}/proposals/{p}/signoffs",
                                        {"json": {"decision": "approve"}}),
        {"rosa"}, 201),
    "POST /works/{id}/proposals/{p}/apply": (
        _open_proposal, lambda api, p: ("POST", f"/works/{api.work_id}/proposals/{p}/apply", {}),
        {"oficial"}, 409),  # allowed, then refused by the guards: no approvals yet
    "POST /works/{id}/proposals/{p}/withdraw": (
        _open_proposal, lambda api, p: ("POST", f"/works/{api.work_id}/proposals/{p}/withdraw",
                                        {}),
        {"oficial"}, 200),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_each_role_against_each_write_endpoint(api, endpoint):
    prepare, build, allowed, success = ENDPOINTS[endpoint]
    ids = prepare(api) if prepare else None
    size_before = api.ok(api.get("/log"))["size"]
    for caller in [c for c in CALLERS if c not in allowed]:
        method, path, kwargs = build(api, ids)
        response = api.client.request(method, "/api/v1" + path,
                                      headers=api.auth(None if caller == "anonymous" else caller),
                                      **kwargs)
        expected = 401 if caller == "anonymous" else 403
        assert response.status_code == expected, (caller, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.ok(api.get("/log"))["size"] == size_before, "a refused caller changed the log"
    for caller in allowed:
        method, path, kwargs = build(api, ids)
        response = api.client.request(method, "/api/v1" + path, headers=api.auth(caller),
                                      **kwargs)
        assert response.status_code == success, (caller, response.text)


def test_unknown_token_is_401_even_on_a_public_read(api):
    response = api.client.get("/api/v1/works", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert api.client.get("/api/v1/works").status_code == 200


def test_official_of_another_entity_cannot_touch_the_work(api):
    proposal = _open_proposal(api)
    for response in [
        api.attach("feasibilityStudy", name="otro"),
        api.apply(proposal, name="otro"),
        api.post(f"/works/{api.work_id}/proposals/{proposal}/withdraw", "otro"),
        api.post("/works", "otro", json={
            "code": "X-1", "title": "Obra ajena", "entity_id": api.orgs["entity"],
            "region": "Lambayeque", "reference_amount": "1.00"}),
    ]:
        assert response.status_code == 403, response.text
        assert ENTITY in response.json()["detail"]
    # Without an entity, the other official registers a work of their own entity.
    own = api.ok(api.post("/works", "otro", json={
        "code": "CIX-1", "title": "Obra propia", "region": "Lambayeque",
        "reference_amount": "1.00"}), 201)
    assert own["entity"] != ENTITY


def test_member_of_another_network_cannot_review_the_work(api):
    proposal = _open_proposal(api)
    for response in [
        api.sign(proposal, "pedro"),
        api.post(f"/works/{api.work_id}/observations", "pedro", json={"text": "hola"}),
        api.post(f"/works/{api.work_id}/conflicts", "pedro", json={"statement": "hola"}),
    ]:
        assert response.status_code == 403, response.text
        assert "not a member" in response.json()["detail"]
    assert api.work()["open_proposal"]["signoffs"] == []


def test_a_member_who_left_cannot_sign_off(api):
    proposal = _open_proposal(api)
    api.ok(api.client.delete(f"/api/v1/networks/{api.network_id}/members/{api.ids['rosa']}",
                             headers=api.auth("admin")))
    assert api.sign(proposal, "rosa").status_code == 403


def test_the_official_who_opened_a_proposal_cannot_sign_it_off(api):
    proposal = _open_proposal(api)
    response = api.sign(proposal, "oficial")
    assert response.status_code == 403
    assert api.work()["open_proposal"]["signoffs"] == []


def test_auditor_and_public_read_everything(api):
    _open_proposal(api)
    for name in (None, "auditora"):
        for path in ["/works", f"/works/{api.work_id}", f"/works/{api.work_id}/history",
                     "/networks", f"/networks/{api.network_id}",
                     f"/networks/{api.network_id}/policy", f"/works/{api.work_id}/proposals/1",
                     "/reports/stalled", "/log", "/log/checkpoint", "/stages"]:
            assert api.get(path, name).status_code == 200, (name, path)
