"""An authenticator emulated in Python (DESIGN §4.3 tests): it makes passkeys of the three
algorithms the project accepts, registration responses and assertions, built byte by byte with
`cryptography` and `cbor2` as WebAuthn Level 3 lays them out, so the default suite needs no
browser. The tests here check the emulator against py_webauthn itself; the other signature
tests import `Authenticator` from this module."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGS = ("EdDSA", "ES256", "RS256")
FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Authenticator:
    """One passkey: a private key of `alg` and its credential id."""

    def __init__(self, alg: str = "ES256"):
        self.alg = alg
        self.credential_id = secrets.token_bytes(16)
        self.sign_count = 0
        if alg == "EdDSA":
            self.key = Ed25519PrivateKey.generate()
            x = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            self.cose_key = cbor2.dumps({1: 1, 3: -8, -1: 6, -2: x})
        elif alg == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
            numbers = self.key.public_key().public_numbers()
            self.cose_key = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                                         -3: numbers.y.to_bytes(32, "big")})
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.key.public_key().public_numbers()
            self.cose_key = cbor2.dumps({1: 3, 3: -257,
                                         -1: numbers.n.to_bytes(256, "big"),
                                         -2: numbers.e.to_bytes(3, "big")})

    def sign(self, data: bytes) -> bytes:
        if self.alg == "EdDSA":
            return self.key.sign(data)
        if self.alg == "ES256":
            return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    @staticmethod
    def client_data(kind: str, challenge: bytes, origin: str, **extra) -> bytes:
        return json.dumps({"type": kind, "challenge": b64url(challenge), "origin": origin,
                           "crossOrigin": False, **extra}).encode()

    def registration(self, challenge: bytes, rp_id: str, origin: str) -> dict:
        """The JSON form of navigator.credentials.create()'s response, attestation "none"."""
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self.cose_key)
        auth_data = (hashlib.sha256(rp_id.encode()).digest()
                     + bytes([FLAG_UP | FLAG_UV | FLAG_AT]) + struct.pack(">I", 0) + attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(self.client_data("webauthn.create",
                                                                        challenge, origin)),
                             "attestationObject": b64url(attestation),
                             "transports": ["internal"]}}

    def assertion(self, challenge: bytes, rp_id: str, origin: str, *,
                  flags: int = FLAG_UP | FLAG_UV, client_data: bytes | None = None) -> dict:
        """authenticatorData, clientDataJSON and the signature over
        authenticatorData ‖ SHA-256(clientDataJSON), as raw bytes."""
        self.sign_count += 1
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                     + struct.pack(">I", self.sign_count))
        client = client_data if client_data is not None else self.client_data(
            "webauthn.get", challenge, origin)
        return {"authenticator_data": auth_data, "client_data_json": client,
                "signature": self.sign(auth_data + hashlib.sha256(client).digest())}

    def proof(self, key_id: str, challenge: bytes, rp_id: str, origin: str, **kwargs) -> dict:
        """The sign-off proof of DESIGN §4.3 for `challenge` (a statement's message)."""
        made = self.assertion(challenge, rp_id, origin, **kwargs)
        return {"kind": "webauthn", "key_id": key_id, **{k: b64url(v) for k, v in made.items()}}

    def credential_json(self, made: dict) -> dict:
        """An assertion in the JSON form py_webauthn's verify_authentication_response reads."""
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"authenticatorData": b64url(made["authenticator_data"]),
                             "clientDataJSON": b64url(made["client_data_json"]),
                             "signature": b64url(made["signature"])}}


@pytest.mark.parametrize("alg", ALGS)
def test_py_webauthn_accepts_the_emulated_registration(alg):
    from webauthn import verify_registration_response

    authenticator = Authenticator(alg)
    challenge = secrets.token_bytes(32)
    verified = verify_registration_response(
        credential=authenticator.registration(challenge, "localhost", "http://localhost:8000"),
        expected_challenge=challenge, expected_rp_id="localhost",
        expected_origin="http://localhost:8000", require_user_verification=True)
    assert bytes(verified.credential_public_key) == authenticator.cose_key
    assert bytes(verified.credential_id) == authenticator.credential_id


@pytest.mark.parametrize("alg", ALGS)
def test_py_webauthn_accepts_the_emulated_assertion(alg):
    from webauthn import verify_authentication_response

    authenticator = Authenticator(alg)
    challenge = secrets.token_bytes(32)
    made = authenticator.assertion(challenge, "localhost", "http://localhost:8000")
    verified = verify_authentication_response(
        credential=authenticator.credential_json(made), expected_challenge=challenge,
        expected_rp_id="localhost", expected_origin="http://localhost:8000",
        credential_public_key=authenticator.cose_key, credential_current_sign_count=0,
        require_user_verification=True)
    assert verified.user_verified
