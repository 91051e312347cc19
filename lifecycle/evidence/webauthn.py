"""The project's own offline verifier of WebAuthn assertions (DESIGN §4.3).

`audit verify` must check a member's passkey signature with no server and without trusting the
library the live path uses (py_webauthn; tests/test_webauthn_crosscheck.py checks that both
agree). It is written on `cryptography` and `cbor2` alone and follows WebAuthn Level 3,
§7.2 "Verifying an Authentication Assertion", for the steps that matter offline:

- clientDataJSON is parsed as JSON (never compared with a template): `type` is
  "webauthn.get", `challenge` is the base64url of the signed statement message, `origin` is one
  the key was registered for, and the assertion was not made in a cross-origin frame;
- authenticatorData: the first 32 bytes are SHA-256 of the RP id, the flags byte has user
  presence (UP, bit 0) and user verification (UV, bit 2);
- the signature, with the registered COSE key, over authenticatorData ‖ SHA-256(clientDataJSON).

Sign counters are not checked: a statement is single-use by its nonce, and synced passkeys
report 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified
AUTH_DATA_MIN = 37  # rpIdHash (32) ‖ flags (1) ‖ signCount (4)

# COSE (RFC 9052/9053) labels and values used by passkeys.
COSE_KTY, COSE_ALG = 1, 3
KTY_OKP, KTY_EC2, KTY_RSA = 1, 2, 3
CRV_P256, CRV_ED25519 = 1, 6
ALGORITHMS = {"EdDSA": -8, "ES256": -7, "RS256": -257}
ALGORITHM_NAMES = {number: name for name, number in ALGORITHMS.items()}
MAX_CLIENT_DATA = 8192


class WebAuthnProofError(ValueError):
    """The assertion does not verify; the message names the failing check."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    if not isinstance(text, str) or not text.isascii() or "=" in text:
        raise WebAuthnProofError(f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise WebAuthnProofError(f"{what} is not unpadded base64url") from None


@dataclass(frozen=True)
class CoseKey:
    """A parsed credential public key: its algorithm name and a `cryptography` key."""

    alg: str
    key: object

    def verify(self, signature: bytes, signed: bytes) -> None:
        try:
            if self.alg == "EdDSA":
                self.key.verify(signature, signed)
            elif self.alg == "ES256":
                self.key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
            else:  # RS256
                self.key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise WebAuthnProofError(f"the {self.alg} signature does not verify") from None


def parse_cose_key(raw: bytes) -> CoseKey:
    """A COSE_Key of one of the three algorithms the project accepts (EdDSA over Ed25519,
    ES256 over P-256, RS256), or WebAuthnProofError."""
    try:
        key = cbor2.loads(raw)
    except Exception:  # cbor2 raises several types for malformed input
        raise WebAuthnProofError("the public key is not CBOR") from None
    if not isinstance(key, dict):
        raise WebAuthnProofError("the public key is not a COSE_Key map")
    kty, alg = key.get(COSE_KTY), key.get(COSE_ALG)
    name = ALGORITHM_NAMES.get(alg)
    try:
        if name == "EdDSA" and kty == KTY_OKP and key.get(-1) == CRV_ED25519:
            return CoseKey(name, Ed25519PublicKey.from_public_bytes(bytes(key[-2])))
        if name == "ES256" and kty == KTY_EC2 and key.get(-1) == CRV_P256:
            x, y = bytes(key[-2]), bytes(key[-3])
            if len(x) != 32 or len(y) != 32:
                raise ValueError("P-256 coordinates have 32 bytes")
            return CoseKey(name, ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b"\x04" + x + y))
        if name == "RS256" and kty == KTY_RSA:
            n = int.from_bytes(bytes(key[-1]), "big")
            e = int.from_bytes(bytes(key[-2]), "big")
            if n.bit_length() < 2048:
                raise ValueError("RSA keys have at least 2048 bits")
            return CoseKey(name, rsa.RSAPublicNumbers(e, n).public_key())
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnProofError(f"the {name} public key is malformed: {exc}") from None
    raise WebAuthnProofError(f"unsupported COSE key (kty {kty!r}, alg {alg!r}); this verifier "
                             "reads EdDSA (Ed25519), ES256 (P-256) and RS256")


def _unique_pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise WebAuthnProofError("clientDataJSON repeats a key")
    return dict(pairs)


def parse_client_data(raw: bytes) -> dict:
    if len(raw) > MAX_CLIENT_DATA:
        raise WebAuthnProofError("clientDataJSON is too long")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_pairs)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, WebAuthnProofError):
            raise
        raise WebAuthnProofError("clientDataJSON is not JSON") from None
    if not isinstance(data, dict):
        raise WebAuthnProofError("clientDataJSON is not a JSON object")
    return data


@dataclass(frozen=True)
class Assertion:
    authenticator_data: bytes
    client_data_json: bytes
    signature: bytes


def verify_assertion(assertion: Assertion, *, public_key: bytes, alg: str, challenge: bytes,
                     rp_id: str, origins: list[str] | tuple[str, ...]) -> None:
    """Raise WebAuthnProofError unless `assertion` is a user-verified signature of
    `challenge` by the credential `public_key` (COSE), for `rp_id`, made on one of `origins`."""
    client = parse_client_data(assertion.client_data_json)
    if client.get("type") != "webauthn.get":
        raise WebAuthnProofError(f"clientDataJSON type is {client.get('type')!r}, "
                                 "not 'webauthn.get'")
    signed_challenge = client.get("challenge")
    if not isinstance(signed_challenge, str) or not hmac.compare_digest(
            signed_challenge.encode("ascii", "replace"), b64url(challenge).encode("ascii")):
        raise WebAuthnProofError("clientDataJSON challenge is not the statement's message")
    origin = client.get("origin")
    if not isinstance(origin, str) or origin not in origins:
        raise WebAuthnProofError(f"clientDataJSON origin {origin!r} is not one the key was "
                                 f"registered for ({', '.join(origins)})")
    if client.get("crossOrigin") is True:
        raise WebAuthnProofError("the assertion was made in a cross-origin frame")
    data = assertion.authenticator_data
    if len(data) < AUTH_DATA_MIN:
        raise WebAuthnProofError(f"authenticatorData has {len(data)} bytes, fewer than "
                                 f"{AUTH_DATA_MIN}")
    if not hmac.compare_digest(data[:32], hashlib.sha256(rp_id.encode("utf-8")).digest()):
        raise WebAuthnProofError(f"authenticatorData RP id hash is not SHA-256({rp_id!r})")
    flags = data[32]
    if not flags & FLAG_UP:
        raise WebAuthnProofError("authenticatorData: the user-presence flag (UP) is not set")
    if not flags & FLAG_UV:
        raise WebAuthnProofError("authenticatorData: the user-verification flag (UV) is not "
                                 "set")
    key = parse_cose_key(public_key)
    if key.alg != alg:
        raise WebAuthnProofError(f"the key is {key.alg}, registered as {alg}")
    key.verify(assertion.signature,
               data + hashlib.sha256(assertion.client_data_json).digest())
