"""Member signatures through the HTTP API (DESIGN §4.3): enrolment of Ed25519 keys and
passkeys, signed sign-offs, and each attack the checks stop — a statement used twice, another
member's key or statement, a revoked or unknown key, a stale dossier, a forged signature."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from tests.api.api_world import build_api_world
from tests.test_webauthn_emulator import ALGS, Authenticator

from api.main import create_app
from lifecycle.evidence.ed25519 import public_key_bytes
from lifecycle.evidence.statement import Statement, b64url

ORIGIN, RP_ID = "http://testserver", "testserver"  # the TestClient's address


@pytest.fixture
def api(lc):
    with TestClient(create_app(lc)) as client:
        yield build_api_world(lc, client)


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyHolder:
    """A member who signs through the API with a local Ed25519 key."""

    def __init__(self, api, name: str):
        self.api, self.name = api, name
        self.private = Ed25519PrivateKey.generate()
        self.key = api.ok(api.post("/users/me/keys", name, json={
            "kind": "ed25519", "public_key": b64url(public_key_bytes(self.private))}), 201)

    def statement(self, proposal_id: int, decision: str = "approve", reason: str | None = None):
        params = {"decision": decision, **({"reason": reason} if reason else {})}
        return self.api.ok(self.api.get(
            f"/works/{self.api.work_id}/proposals/{proposal_id}/statement", self.name,
            params=params))

    def proof(self, made: dict) -> dict:
        return {"kind": "ed25519", "key_id": self.key["key_id"],
                "signature": b64url(self.private.sign(unb64(made["message"])))}

    def post(self, proposal_id: int, made: dict, proof: dict, name: str | None = None,
             decision: str = "approve", reason: str | None = None):
        return self.api.post(f"/works/{self.api.work_id}/proposals/{proposal_id}/signoffs",
                             name or self.name, json={"decision": decision, "reason": reason,
                                                      "statement": made["statement"],
                                                      "proof": proof})

    def sign(self, proposal_id: int, decision: str = "approve", reason: str | None = None):
        made = self.statement(proposal_id, decision, reason)
        return self.post(proposal_id, made, self.proof(made), decision=decision, reason=reason)


class PasskeyHolder(KeyHolder):
    def __init__(self, api, name: str, alg: str):
        self.api, self.name = api, name
        self.authenticator = Authenticator(alg)
        options = api.ok(api.post("/users/me/keys/options", name))
        assert options["rp"]["id"] == RP_ID
        assert options["authenticatorSelection"]["userVerification"] == "required"
        assert {p["alg"] for p in options["pubKeyCredParams"]} == {-8, -7, -257}
        credential = self.authenticator.registration(unb64(options["challenge"]), RP_ID, ORIGIN)
        self.key = api.ok(api.post("/users/me/keys", name, json={
            "kind": "webauthn", "credential": credential}), 201)

    def proof(self, made: dict) -> dict:
        return self.authenticator.proof(self.key["key_id"], unb64(made["message"]), RP_ID,
                                        ORIGIN)


def open_proposal(api) -> int:
    api.ok(api.attach("feasibilityStudy"), 201)
    return api.ok(api.propose("approve_design"), 201)["id"]


def problem_field(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["errors"][0]["field"]


@pytest.mark.parametrize("alg", ALGS)
def test_a_member_enrols_a_passkey_and_signs_an_approval(api, alg):
    proposal_id = open_proposal(api)
    rosa = PasskeyHolder(api, "rosa", alg)
    assert rosa.key["kind"] == "webauthn" and rosa.key["alg"] == alg
    assert rosa.key["origins"] == [ORIGIN] and rosa.key["rp_id"] == RP_ID
    listed = api.ok(api.get("/users/me/keys", "rosa"))
    assert [k["key_id"] for k in listed] == [rosa.key["key_id"]]
    signed = api.ok(rosa.sign(proposal_id), 201)
    assert signed["counted_approvals"] == 1
    entry = api.ok(api.get(f"/works/{api.work_id}/history"))[-1]
    assert entry["type"] == "signoff.recorded"
    assert entry["data"]["proof"]["key_id"] == rosa.key["key_id"]
    assert entry["data"]["statement"]["member"] == api.ids["rosa"]


def test_a_statement_used_twice_is_refused(api):
    proposal_id = open_proposal(api)
    rosa = KeyHolder(api, "rosa")
    made = rosa.statement(proposal_id)
    api.ok(rosa.post(proposal_id, made, rosa.proof(made)), 201)
    again = rosa.post(proposal_id, made, rosa.proof(made))
    assert problem_field(again, 409) == "statement.nonce"


def test_another_members_key_or_statement_is_refused(api):
    proposal_id = open_proposal(api)
    rosa, jorge = KeyHolder(api, "rosa"), KeyHolder(api, "jorge")
    made = rosa.statement(proposal_id)
    # jorge's key signing rosa's statement, sent as rosa
    assert problem_field(rosa.post(proposal_id, made, jorge.proof(made)), 403) == \
        "proof.key_id"
    # rosa's own valid signature of her statement, sent by jorge as his sign-off
    assert problem_field(rosa.post(proposal_id, made, rosa.proof(made), name="jorge"), 403) == \
        "statement.member"
    assert api.ok(api.get(f"/works/{api.work_id}/proposals/{proposal_id}"))["signoffs"] == []


def test_a_revoked_or_unknown_key_is_refused(api):
    proposal_id = open_proposal(api)
    rosa = KeyHolder(api, "rosa")
    revoked = api.client.delete(f"/api/v1/users/me/keys/{rosa.key['key_id']}",
                                headers=api.auth("rosa"))
    assert api.ok(revoked)["active"] is False
    assert problem_field(rosa.sign(proposal_id), 403) == "proof.key_id"
    again = api.client.delete(f"/api/v1/users/me/keys/{rosa.key['key_id']}",
                              headers=api.auth("rosa"))
    assert again.status_code == 409
    made = rosa.statement(proposal_id)
    unknown = {**rosa.proof(made), "key_id": "AAAAAAAAAAAAAAAA"}
    assert problem_field(rosa.post(proposal_id, made, unknown), 422) == "proof.key_id"
    others = api.client.delete(f"/api/v1/users/me/keys/{rosa.key['key_id']}",
                               headers=api.auth("jorge"))
    assert others.status_code == 404


def test_a_statement_on_a_dossier_that_changed_is_refused(api):
    proposal_id = open_proposal(api)
    rosa = KeyHolder(api, "rosa")
    made = rosa.statement(proposal_id)
    api.ok(api.attach("feasibilityStudy", content=b"%PDF corrected study"), 201)
    assert problem_field(rosa.post(proposal_id, made, rosa.proof(made)), 409) == \
        "statement.dossier"
    api.ok(rosa.sign(proposal_id), 201)  # a fresh statement names the new dossier


def test_a_statement_of_a_proposal_no_longer_open_is_refused(api):
    proposal_id = open_proposal(api)
    rosa = KeyHolder(api, "rosa")
    made = rosa.statement(proposal_id)
    api.ok(api.post(f"/works/{api.work_id}/proposals/{proposal_id}/withdraw", "oficial"))
    assert rosa.post(proposal_id, made, rosa.proof(made)).status_code == 409


def test_forged_or_malformed_proofs_are_422_never_500(api):
    proposal_id = open_proposal(api)
    rosa = KeyHolder(api, "rosa")
    made = rosa.statement(proposal_id)
    forged = {**rosa.proof(made), "signature": b64url(bytes(64))}
    assert problem_field(rosa.post(proposal_id, made, forged), 422) == "proof.signature"
    assert problem_field(rosa.post(proposal_id, made, {"kind": "rsa"}), 422) == "proof.kind"
    assert problem_field(rosa.post(proposal_id, made, {**forged, "signature": "***"}), 422) == \
        "proof.signature"
    block = rosa.post(proposal_id, made, rosa.proof(made), decision="block", reason="no")
    assert problem_field(block, 422) == "statement.decision"
    # a log head the log never had (signed correctly: the root is what is wrong)
    wrong_head = {**made["statement"], "checkpoint": {"size": 1, "root": "0" * 64}}
    bad = {"statement": wrong_head,
           "message": b64url(Statement.from_dict(wrong_head).message())}
    assert problem_field(rosa.post(proposal_id, bad, rosa.proof(bad)), 422) == \
        "statement.checkpoint"
    assert problem_field(rosa.post(proposal_id, {"statement": [1]}, forged), 422) == "statement"
    bad_key = api.post("/users/me/keys", "rosa", json={"kind": "ed25519", "public_key": "x"})
    assert problem_field(bad_key, 422) == "public_key"
    bad_passkey = api.post("/users/me/keys", "rosa", json={"kind": "webauthn",
                                                           "credential": {"id": "x"}})
    assert problem_field(bad_passkey, 422) == "credential"


def test_only_members_enrol_keys_and_ask_for_statements(api):
    proposal_id = open_proposal(api)
    assert api.post("/users/me/keys/options", "oficial").status_code == 403
    assert api.post("/users/me/keys", "auditora", json={
        "kind": "ed25519", "public_key": b64url(bytes(32))}).status_code == 403
    assert api.get(f"/works/{api.work_id}/proposals/{proposal_id}/statement", "oficial",
                   params={"decision": "approve"}).status_code == 403
    # pedro is a member of another network
    assert api.get(f"/works/{api.work_id}/proposals/{proposal_id}/statement", "pedro",
                   params={"decision": "approve"}).status_code == 403


def test_with_the_policy_an_unsigned_approval_does_not_count(api):
    policy = api.client.put(f"/api/v1/networks/{api.network_id}/policy",
                            headers=api.auth("admin"), json={"require_member_signatures": True})
    assert api.ok(policy)
    assert api.ok(api.get(f"/networks/{api.network_id}/policy"))["require_member_signatures"] \
        is True
    proposal_id = open_proposal(api)
    unsigned = api.ok(api.sign(proposal_id, "jorge"), 201)
    assert unsigned["counted_approvals"] == 0
    assert unsigned["signoffs"][0]["excluded"] == "not signed by the member"
    signed = api.ok(KeyHolder(api, "rosa").sign(proposal_id), 201)
    assert signed["counted_approvals"] == 1
