"""GET /users/me/pending ("Mis pendientes") and the notification settings, through the API:
each person sees what awaits them and nothing that the engine would refuse them."""

from __future__ import annotations


def _pending(api, name: str) -> list[dict]:
    body = api.ok(api.get("/users/me/pending", name))
    assert body["count"] == len(body["items"])
    return body["items"]


def _kinds(items: list[dict]) -> list[str]:
    return [i["kind"] for i in items]


def test_pending_needs_a_token(api):
    assert api.get("/users/me/pending").status_code == 401
    assert api.get("/users/me/notifications").status_code == 401


def test_a_member_is_asked_to_review_until_she_signs(api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)
    items = _pending(api, "rosa")
    assert _kinds(items) == ["review"]
    assert items[0]["proposal_id"] == proposal["id"]
    assert items[0]["trigger"] == "approve_design" and items[0]["code"] == "LAM-2026-001"
    # A member of another network is not asked; nor is the auditor.
    assert _pending(api, "pedro") == []
    assert _pending(api, "auditora") == []
    api.ok(api.sign(proposal["id"], "rosa"), 201)
    assert _pending(api, "rosa") == []
    api.ok(api.sign(proposal["id"], "rosa", "withdraw"), 201)
    assert _kinds(_pending(api, "rosa")) == ["review"]  # withdrawn: asked again


def test_a_stale_approval_lists_what_changed_since(api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)
    api.ok(api.sign(proposal["id"], "rosa"), 201)
    document = api.ok(api.attach("feasibilityStudy", b"%PDF revised"), 201)
    items = _pending(api, "rosa")
    assert _kinds(items) == ["stale_approval"]
    changes = items[0]["changes"]
    assert [(c["kind"], c["label"]) for c in changes] == [("document", "feasibilityStudy")]
    assert changes[0]["id"] == document["id"]
    # The one-step re-approve: approving again clears it.
    api.ok(api.sign(proposal["id"], "rosa"), 201)
    assert _pending(api, "rosa") == []


def test_a_member_with_a_declared_conflict_is_not_asked(api):
    api.ok(api.post(f"/works/{api.work_id}/conflicts", "jorge",
                    json={"statement": "Mi hermano trabaja en la empresa postora."}), 201)
    api.ok(api.propose("approve_design"), 201)
    assert _pending(api, "jorge") == []
    assert _kinds(_pending(api, "ana")) == ["review"]


def test_an_answer_waits_for_its_author_and_the_official_sees_what_to_answer(api):
    observation = api.ok(api.post(f"/works/{api.work_id}/observations", "ana",
                                  json={"text": "Falta el estudio de suelos."}), 201)
    assert _kinds(_pending(api, "oficial")) == ["observation_to_answer"]
    assert _pending(api, "otro") == []  # an official of another entity
    api.ok(api.post(f"/works/{api.work_id}/observations/{observation['id']}/answer",
                    "oficial", json={"text": "Se adjuntó el estudio de suelos."}), 200)
    assert _pending(api, "oficial") == []
    items = _pending(api, "ana")
    assert _kinds(items) == ["answer_received"]
    assert items[0]["observation_id"] == observation["id"]
    assert _pending(api, "rosa") == []  # not her observation


def test_an_official_sees_refusals_to_fix_and_then_ready_to_apply(api):
    proposal = api.ok(api.propose("approve_design"), 201)
    assert _pending(api, "oficial") == []  # not refused yet, not ready either
    api.ok(api.apply(proposal["id"]), 409)
    items = _pending(api, "oficial")
    assert _kinds(items) == ["refusal_to_fix"]
    assert "documents" in items[0]["failing"] and "quorum" in items[0]["failing"]
    api.ok(api.attach("feasibilityStudy"), 201)
    for name in ("rosa", "jorge", "ana"):
        api.ok(api.sign(proposal["id"], name), 201)
    assert _kinds(_pending(api, "oficial")) == ["ready_to_apply"]
    api.ok(api.apply(proposal["id"]))
    assert _pending(api, "oficial") == []


def test_notification_settings_round_trip_and_refuse_bad_input(api):
    assert api.ok(api.get("/users/me/notifications", "rosa")) == {
        "email": None, "language": "es", "muted": []}
    put = api.client.put("/api/v1/users/me/notifications", headers=api.auth("rosa"),
                         json={"email": "rosa@example.pe", "language": "en",
                               "muted": ["proposal_applied"]})
    assert api.ok(put) == {"email": "rosa@example.pe", "language": "en",
                           "muted": ["proposal_applied"]}
    assert api.ok(api.get("/users/me/notifications", "rosa"))["email"] == "rosa@example.pe"
    assert api.ok(api.get("/users/me/notifications", "jorge"))["email"] is None  # private
    for body, field in (({"email": "not an address"}, "email"),
                        ({"email": "a@example.pe", "language": "fr"}, "language"),
                        ({"email": "a@example.pe", "muted": ["everything"]}, "muted")):
        bad = api.client.put("/api/v1/users/me/notifications", headers=api.auth("rosa"),
                             json=body)
        assert bad.status_code == 422, bad.text
        assert field in bad.text


def test_a_refusal_speaks_spanish_when_the_client_asks(api):
    proposal = api.ok(api.propose("approve_design"), 201)
    english = api.apply(proposal["id"])
    assert english.status_code == 409
    assert any("approvals" in e["message"] for e in english.json()["errors"])
    spanish = api.apply(proposal["id"], headers={"Accept-Language": "es-PE,es;q=0.9"})
    assert spanish.status_code == 409 and spanish.headers["content-language"] == "es"
    body = spanish.json()
    messages = {e["guard"]: e["message"] for e in body["errors"]}
    assert set(messages) == {e["guard"] for e in english.json()["errors"]}
    assert "aprobaciones" in messages["quorum"]
    assert "Estudio de preinversión" in messages["documents"]
    assert body["detail"].startswith("El cambio de etapa fue rechazado")
    assert not any("approvals" in m or "missing" in m for m in messages.values())
