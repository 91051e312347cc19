"""The project's own offline WebAuthn verifier (lifecycle.evidence.webauthn) and py_webauthn's
verify_authentication_response agree: both accept a valid assertion of each algorithm, and
both refuse each tampered one."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.test_webauthn_emulator import ALGS, FLAG_UP, FLAG_UV, Authenticator

from lifecycle.evidence import webauthn as own
from lifecycle.evidence.webauthn import Assertion, WebAuthnProofError

RP_ID, ORIGIN = "localhost", "http://localhost:8000"


def _own_accepts(authenticator: Authenticator, made: dict, challenge: bytes) -> bool:
    try:
        own.verify_assertion(Assertion(made["authenticator_data"], made["client_data_json"],
                                       made["signature"]),
                             public_key=authenticator.cose_key, alg=authenticator.alg,
                             challenge=challenge, rp_id=RP_ID, origins=[ORIGIN])
    except WebAuthnProofError:
        return False
    return True


def _library_accepts(authenticator: Authenticator, made: dict, challenge: bytes) -> bool:
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verify_authentication_response(
            credential=authenticator.credential_json(made), expected_challenge=challenge,
            expected_rp_id=RP_ID, expected_origin=ORIGIN,
            credential_public_key=authenticator.cose_key, credential_current_sign_count=0,
            require_user_verification=True)
    except (WebAuthnException, ValueError):
        return False
    return True


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def _tampered(authenticator: Authenticator, challenge: bytes) -> dict[str, dict]:
    """Assertions that must be refused, by name."""
    def client(kind="webauthn.get", chal=challenge, origin=ORIGIN, **extra):
        return Authenticator.client_data(kind, chal, origin, **extra)

    made = authenticator.assertion(challenge, RP_ID, ORIGIN)
    return {
        "another challenge": authenticator.assertion(secrets.token_bytes(32), RP_ID, ORIGIN),
        "another origin": authenticator.assertion(challenge, RP_ID, "https://evil.example"),
        "another RP id": authenticator.assertion(challenge, "evil.example", ORIGIN),
        "no user presence": authenticator.assertion(challenge, RP_ID, ORIGIN, flags=FLAG_UV),
        "no user verification": authenticator.assertion(challenge, RP_ID, ORIGIN,
                                                        flags=FLAG_UP),
        "a registration's clientData": authenticator.assertion(
            challenge, RP_ID, ORIGIN, client_data=client(kind="webauthn.create")),
        "signature flipped": {**made, "signature": _flip(made["signature"], 10)},
        "authenticatorData changed after signing": {
            **made, "authenticator_data": _flip(made["authenticator_data"], 36)},
        "clientDataJSON changed after signing": {
            **made, "client_data_json": made["client_data_json"].replace(b"false", b"true ")},
        "another key's signature": Authenticator(authenticator.alg).assertion(
            challenge, RP_ID, ORIGIN),
    }


@pytest.mark.parametrize("alg", ALGS)
def test_both_verifiers_accept_a_valid_assertion(alg):
    authenticator = Authenticator(alg)
    challenge = secrets.token_bytes(32)
    made = authenticator.assertion(challenge, RP_ID, ORIGIN)
    assert _own_accepts(authenticator, made, challenge)
    assert _library_accepts(authenticator, made, challenge)


@pytest.mark.parametrize("alg", ALGS)
def test_client_data_is_parsed_not_compared_with_a_template(alg):
    """Key order, spacing and extra members (tokenBinding, other keys) do not matter."""
    authenticator = Authenticator(alg)
    challenge = secrets.token_bytes(32)
    client = json.dumps({"origin": ORIGIN, "other_keys_can_be_added_here": "x",
                         "challenge": own.b64url(challenge), "type": "webauthn.get"},
                        indent=2).encode()
    made = authenticator.assertion(challenge, RP_ID, ORIGIN, client_data=client)
    assert _own_accepts(authenticator, made, challenge)
    assert _library_accepts(authenticator, made, challenge)


@pytest.mark.parametrize("alg", ALGS)
def test_both_verifiers_refuse_every_tampered_assertion(alg):
    authenticator = Authenticator(alg)
    challenge = secrets.token_bytes(32)
    verdicts = {name: (_own_accepts(authenticator, made, challenge),
                       _library_accepts(authenticator, made, challenge))
                for name, made in _tampered(authenticator, challenge).items()}
    assert verdicts == {name: (False, False) for name in verdicts}


def test_own_verifier_names_the_failing_check():
    authenticator = Authenticator("ES256")
    challenge = secrets.token_bytes(32)
    cases = _tampered(authenticator, challenge)
    reasons = {}
    for name in ("another origin", "another RP id", "no user verification",
                 "signature flipped"):
        made = cases[name]
        with pytest.raises(WebAuthnProofError) as refused:
            own.verify_assertion(Assertion(made["authenticator_data"],
                                           made["client_data_json"], made["signature"]),
                                 public_key=authenticator.cose_key, alg="ES256",
                                 challenge=challenge, rp_id=RP_ID, origins=[ORIGIN])
        reasons[name] = str(refused.value)
    assert "origin 'https://evil.example'" in reasons["another origin"]
    assert "RP id hash" in reasons["another RP id"]
    assert "(UV)" in reasons["no user verification"]
    assert "ES256 signature does not verify" in reasons["signature flipped"]


def test_a_key_of_another_algorithm_than_registered_is_refused():
    authenticator = Authenticator("EdDSA")
    challenge = secrets.token_bytes(32)
    made = authenticator.assertion(challenge, RP_ID, ORIGIN)
    with pytest.raises(WebAuthnProofError, match="registered as ES256"):
        own.verify_assertion(Assertion(made["authenticator_data"], made["client_data_json"],
                                       made["signature"]),
                             public_key=authenticator.cose_key, alg="ES256",
                             challenge=challenge, rp_id=RP_ID, origins=[ORIGIN])


def test_a_cross_origin_assertion_is_refused():
    authenticator = Authenticator("ES256")
    challenge = secrets.token_bytes(32)
    client = Authenticator.client_data("webauthn.get", challenge, ORIGIN, crossOrigin=True)
    made = authenticator.assertion(challenge, RP_ID, ORIGIN, client_data=client)
    assert not _own_accepts(authenticator, made, challenge)
