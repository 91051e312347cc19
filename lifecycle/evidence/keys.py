"""Members' signing keys and the proofs they make (DESIGN §4.3).

A member registers passkeys (WebAuthn; the attestation is verified with py_webauthn on the
live path) or Ed25519 keys (WebCrypto in the browser, or `lifecycle sign keygen`). Each is a
`key.registered` entry, ended by `key.revoked`; the log holds public keys only. A signed
sign-off carries a statement and a proof; `check_signed_signoff` is the one check the live
service runs before it writes the entry; lifecycle.evidence.signature_audit runs the same check
offline, entry by entry, for `audit verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import struct
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle.evidence import ed25519, webauthn
from lifecycle.evidence.statement import Statement, StatementError, b64url

KINDS = ("webauthn", "ed25519")
REGISTRATION_TTL_SECONDS = 600
SECRET_FILE = "webauthn.secret"
_REGISTRATION_TAG = b"lifecycle-key-registration/v1\n"


class EvidenceError(ValueError):
    """A key or a signed sign-off that is refused. `field` names the part; `status` says how
    the interfaces answer: invalid (422), forbidden (403) or conflict (409)."""

    def __init__(self, field: str, message: str, status: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def b64url_decode(text, what: str) -> bytes:
    try:
        return webauthn.b64url_decode(text, what)
    except webauthn.WebAuthnProofError as exc:
        raise EvidenceError(what, str(exc).removeprefix(f"{what} ")) from None


def key_id_for(kind: str, public_key: bytes) -> str:
    """A key's id follows from the key itself, so the CLI, the browser and the server agree."""
    return b64url(hashlib.sha256(kind.encode() + b":" + public_key).digest()[:12])


# ------------------------------------------------------------------------------- keys


@dataclass
class MemberKey:
    """A registered key, as the log says: `key.registered`, then maybe `key.revoked`."""

    user_id: int
    key_id: str
    kind: str
    alg: str
    public_key: str  # base64url: raw Ed25519 key, or the passkey's COSE_Key
    credential_id: str | None = None
    rp_id: str | None = None
    origins: list[str] = field(default_factory=list)
    registered_at: str = ""
    registered_seq: int = -1
    revoked_at: str | None = None
    revoked_seq: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_seq is None

    def entry_data(self) -> dict:
        """The data of its `key.registered` entry."""
        data = {"user_id": self.user_id, "key_id": self.key_id, "kind": self.kind,
                "alg": self.alg, "public_key": self.public_key}
        if self.kind == "webauthn":
            data.update(credential_id=self.credential_id, rp_id=self.rp_id,
                        origins=list(self.origins))
        return data

    @classmethod
    def from_entry(cls, entry: dict) -> MemberKey:
        """The key an entry registers, checked as `audit verify` checks it."""
        data = entry["data"]
        kind = data.get("kind")
        if kind not in KINDS:
            raise EvidenceError("kind", f"{kind!r} is not webauthn or ed25519")
        if type(data.get("user_id")) is not int or not isinstance(data.get("key_id"), str):
            raise EvidenceError("user_id", "a key names its user and its id")
        raw = b64url_decode(data.get("public_key"), "public_key")
        if data["key_id"] != key_id_for(kind, raw):
            raise EvidenceError("key_id", "is not derived from the public key")
        if kind == "ed25519":
            if data.get("alg") != "EdDSA":
                raise EvidenceError("alg", "an ed25519 key signs with EdDSA")
            try:
                ed25519.load_public_key(raw)
            except (ed25519.Ed25519ProofError, ValueError) as exc:
                raise EvidenceError("public_key", str(exc)) from None
            extra = {}
        else:
            try:
                parsed = webauthn.parse_cose_key(raw)
            except webauthn.WebAuthnProofError as exc:
                raise EvidenceError("public_key", str(exc)) from None
            if parsed.alg != data.get("alg"):
                raise EvidenceError("alg", f"the COSE key is {parsed.alg}")
            origins = data.get("origins")
            if not isinstance(data.get("rp_id"), str) or not isinstance(origins, list) or \
                    not origins or not all(isinstance(o, str) for o in origins):
                raise EvidenceError("origins", "a passkey names its RP id and origins")
            b64url_decode(data.get("credential_id"), "credential_id")
            extra = {"credential_id": data["credential_id"], "rp_id": data["rp_id"],
                     "origins": list(origins)}
        return cls(user_id=data["user_id"], key_id=data["key_id"], kind=kind, alg=data["alg"],
                   public_key=data["public_key"], registered_at=entry["at"],
                   registered_seq=entry["seq"], **extra)


def ed25519_key(user_id: int, public_key) -> MemberKey:
    """A key from a member's raw Ed25519 public key (base64url)."""
    raw = b64url_decode(public_key, "public_key")
    try:
        ed25519.load_public_key(raw)
    except (ed25519.Ed25519ProofError, ValueError) as exc:
        raise EvidenceError("public_key", str(exc)) from None
    return MemberKey(user_id=user_id, key_id=key_id_for("ed25519", raw), kind="ed25519",
                     alg="EdDSA", public_key=b64url(raw))


# Reducer handlers (registered in lifecycle.reducer.HANDLERS).
def apply_key_registered(state, entry: dict, data: dict) -> None:
    try:
        key = MemberKey.from_entry(entry)
    except EvidenceError as exc:
        raise KeyError(str(exc)) from None  # the reducer reports it as malformed data
    state.keys[key.key_id] = key


def apply_key_revoked(state, entry: dict, data: dict) -> None:
    key = state.keys.get(data["key_id"])
    if key is None:
        raise KeyError(f"unknown key {data['key_id']!r}")
    key.revoked_at, key.revoked_seq = entry["at"], entry["seq"]


# -------------------------------------------------------------------- WebAuthn enrolment


def registration_secret(data_dir: Path) -> bytes:
    """The key that makes registration challenges verifiable without storing them:
    $LIFECYCLE_WEB_SECRET when set (several servers share it), else a file in the data dir."""
    shared = os.environ.get("LIFECYCLE_WEB_SECRET")
    if shared:
        return hashlib.sha256(b"webauthn-registration\n" + shared.encode()).digest()
    path = Path(data_dir) / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        secret = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()  # another process made it first
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
        return secret


def registration_challenge(secret: bytes, user_id: int, now: int) -> bytes:
    """user id ‖ expiry ‖ random ‖ MAC: only this server issues it, for this user, briefly."""
    payload = struct.pack(">QQ", user_id, now + REGISTRATION_TTL_SECONDS) + secrets.token_bytes(16)
    return payload + hmac.new(secret, _REGISTRATION_TAG + payload, "sha256").digest()[:16]


def check_registration_challenge(secret: bytes, challenge: bytes, user_id: int, now: int) -> None:
    if len(challenge) != 48:
        raise EvidenceError("credential", "the challenge is not one this server issued")
    payload, mac = challenge[:32], challenge[32:]
    expected = hmac.new(secret, _REGISTRATION_TAG + payload, "sha256").digest()[:16]
    owner, expires = struct.unpack(">QQ", payload[:16])
    if not hmac.compare_digest(mac, expected) or owner != user_id:
        raise EvidenceError("credential", "the challenge is not one this server issued to you")
    if now > expires:
        raise EvidenceError("credential", "the registration took too long; ask for new options",
                            "conflict")


def registration_options(*, user_id: int, username: str, rp_id: str, rp_name: str,
                         challenge: bytes, existing: list[MemberKey]) -> dict:
    """navigator.credentials.create() options (py_webauthn): user verification required, the
    three algorithms the offline verifier reads, the member's passkeys excluded."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.cose import COSEAlgorithmIdentifier as Alg
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id, rp_name=rp_name, user_name=username, user_id=str(user_id).encode(),
        user_display_name=username, challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED),
        supported_pub_key_algs=[Alg.EDDSA, Alg.ECDSA_SHA_256, Alg.RSASSA_PKCS1_v1_5_SHA_256],
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=b64url_decode(k.credential_id, "credential_id"))
            for k in existing if k.kind == "webauthn" and k.active and k.credential_id])
    return json.loads(options_to_json(options))


def client_challenge(credential) -> bytes:
    """The challenge inside a registration response's clientDataJSON."""
    try:
        client = webauthn.parse_client_data(b64url_decode(
            credential["response"]["clientDataJSON"], "credential.response.clientDataJSON"))
        return b64url_decode(client.get("challenge"), "credential challenge")
    except (KeyError, TypeError, webauthn.WebAuthnProofError) as exc:
        raise EvidenceError("credential", f"not a WebAuthn registration response: {exc}") from None


def webauthn_key(user_id: int, credential: dict, *, challenge: bytes, rp_id: str,
                 origins: list[str]) -> MemberKey:
    """Verify a registration response with py_webauthn; the key it registers."""
    from webauthn import verify_registration_response
    from webauthn.helpers.cose import COSEAlgorithmIdentifier as Alg
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=list(origins), require_user_presence=True,
            require_user_verification=True,
            supported_pub_key_algs=[Alg.EDDSA, Alg.ECDSA_SHA_256, Alg.RSASSA_PKCS1_v1_5_SHA_256])
    except (WebAuthnException, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EvidenceError("credential", f"the passkey registration does not verify: {exc}"
                            ) from None
    public_key = bytes(verified.credential_public_key)
    try:
        alg = webauthn.parse_cose_key(public_key).alg
    except webauthn.WebAuthnProofError as exc:
        raise EvidenceError("credential", str(exc)) from None
    return MemberKey(user_id=user_id, key_id=key_id_for("webauthn", public_key),
                     kind="webauthn", alg=alg, public_key=b64url(public_key),
                     credential_id=b64url(bytes(verified.credential_id)), rp_id=rp_id,
                     origins=list(origins))


# ------------------------------------------------------------------------------ proofs


@dataclass(frozen=True)
class Proof:
    """`{kind: "webauthn", key_id, authenticator_data, client_data_json, signature}` or
    `{kind: "ed25519", key_id, signature}`, the byte fields in base64url."""

    kind: str
    key_id: str
    signature: bytes
    authenticator_data: bytes | None = None
    client_data_json: bytes | None = None

    @classmethod
    def from_dict(cls, data) -> Proof:
        if not isinstance(data, dict):
            raise EvidenceError("proof", "must be a JSON object")
        kind = data.get("kind")
        fields = {"ed25519": {"kind", "key_id", "signature"},
                  "webauthn": {"kind", "key_id", "signature", "authenticator_data",
                               "client_data_json"}}.get(kind)
        if fields is None:
            raise EvidenceError("proof.kind", "must be webauthn or ed25519")
        if data.keys() != fields:
            raise EvidenceError("proof", f"a {kind} proof has exactly {', '.join(sorted(fields))}")
        if not isinstance(data["key_id"], str) or not data["key_id"]:
            raise EvidenceError("proof.key_id", "must name a registered key")
        signature = b64url_decode(data["signature"], "proof.signature")
        if kind == "ed25519":
            return cls(kind, data["key_id"], signature)
        return cls(kind, data["key_id"], signature,
                   b64url_decode(data["authenticator_data"], "proof.authenticator_data"),
                   b64url_decode(data["client_data_json"], "proof.client_data_json"))

    def as_dict(self) -> dict:
        data = {"kind": self.kind, "key_id": self.key_id, "signature": b64url(self.signature)}
        if self.kind == "webauthn":
            data["authenticator_data"] = b64url(self.authenticator_data or b"")
            data["client_data_json"] = b64url(self.client_data_json or b"")
        return data


def verify_proof(key: MemberKey, message: bytes, proof: Proof) -> None:
    """The project's own check of a proof with a registered key (no py_webauthn)."""
    if proof.kind != key.kind:
        raise EvidenceError("proof.kind", f"key {key.key_id} is a {key.kind} key")
    public_key = b64url_decode(key.public_key, "public_key")
    try:
        if key.kind == "ed25519":
            ed25519.verify(public_key, message, proof.signature)
        else:
            webauthn.verify_assertion(
                webauthn.Assertion(proof.authenticator_data or b"",
                                   proof.client_data_json or b"", proof.signature),
                public_key=public_key, alg=key.alg, challenge=message, rp_id=key.rp_id or "",
                origins=key.origins)
    except (ed25519.Ed25519ProofError, webauthn.WebAuthnProofError) as exc:
        raise EvidenceError("proof.signature", str(exc)) from None


# ------------------------------------------------------------------- signed sign-offs


@dataclass(frozen=True)
class SignoffView:
    """What a signed sign-off is checked against: the entry it would be, and the log before
    it (the log's origin, its size, the work's dossier, the nonces the proposal has seen)."""

    log: str
    log_size: int
    work_id: int
    proposal_id: int
    trigger: str
    member_id: int
    decision: str
    reason: str
    dossier: str
    used_nonces: Container[str]


def parse_evidence(statement, proof) -> tuple[Statement, Proof]:
    try:
        parsed = Statement.from_dict(statement)
    except StatementError as exc:
        raise EvidenceError(exc.field, exc.message) from None
    return parsed, Proof.from_dict(proof)


def check_signed_signoff(statement: Statement, proof: Proof, keys: dict[str, MemberKey],
                         view: SignoffView) -> MemberKey:
    """Refuse a statement that is not this sign-off's, used twice, on a stale dossier, or a
    proof by an unknown, revoked or another member's key, or that does not verify. Returns
    the key that signed."""
    expected = {"log": view.log, "work": view.work_id, "proposal": view.proposal_id,
                "trigger": view.trigger, "decision": view.decision, "reason": view.reason}
    for name, value in expected.items():
        if getattr(statement, name) != value:
            raise EvidenceError(f"statement.{name}", f"the statement says "
                                f"{getattr(statement, name)!r}; this sign-off is {value!r}")
    if statement.member != view.member_id:
        raise EvidenceError("statement.member", "the statement is another member's",
                            "forbidden")
    if statement.checkpoint.size > view.log_size:
        raise EvidenceError("statement.checkpoint", f"names size {statement.checkpoint.size}; "
                            f"the log had {view.log_size} entries")
    if statement.nonce in view.used_nonces:
        raise EvidenceError("statement.nonce", "this statement was already used", "conflict")
    if statement.dossier != view.dossier:
        raise EvidenceError("statement.dossier", "the dossier changed since the statement was "
                            "made; review it again", "conflict")
    key = keys.get(proof.key_id)
    if key is None or key.registered_seq >= view.log_size:
        raise EvidenceError("proof.key_id", f"key {proof.key_id} is not registered")
    if key.user_id != view.member_id:
        raise EvidenceError("proof.key_id", f"key {proof.key_id} is another member's",
                            "forbidden")
    if not key.active and (key.revoked_seq or 0) < view.log_size:
        raise EvidenceError("proof.key_id", f"key {proof.key_id} was revoked", "forbidden")
    verify_proof(key, statement.message(), proof)
    return key


# ------------------------------------------------------------------- the live log

_KEY_ENTRIES = None


def registered_keys(conn, user_id: int | None = None) -> dict[str, MemberKey]:
    """The keys the log has registered (of one user, if given), revocations applied. Keys are
    few and read from the log itself: the log, not a table, is their record."""
    global _KEY_ENTRIES
    if _KEY_ENTRIES is None:
        from sqlalchemy import or_, select

        from lifecycle.db import LogEntry, Prepared

        log = LogEntry.__table__
        _KEY_ENTRIES = Prepared(select(log.c.entry).where(or_(
            log.c.type == "key.registered", log.c.type == "key.revoked")).order_by(log.c.seq))
    cursor = _KEY_ENTRIES(conn)
    rows = cursor.fetchall()
    cursor.close()
    keys: dict[str, MemberKey] = {}
    for (raw,) in rows:
        entry = json.loads(bytes(raw))
        data = entry["data"]
        if user_id is not None and data.get("user_id") != user_id:
            continue
        if entry["type"] == "key.registered":
            keys[data["key_id"]] = MemberKey.from_entry(entry)
        elif data.get("key_id") in keys:
            keys[data["key_id"]].revoked_at = entry["at"]
            keys[data["key_id"]].revoked_seq = entry["seq"]
    return keys


_SIGNOFF_ENTRIES = None


def signoff_entries(conn):
    """signoff.recorded entries, newest first, decoded one at a time."""
    global _SIGNOFF_ENTRIES
    if _SIGNOFF_ENTRIES is None:
        from sqlalchemy import select

        from lifecycle.db import LogEntry, Prepared

        log = LogEntry.__table__
        _SIGNOFF_ENTRIES = Prepared(select(log.c.entry).where(
            log.c.type == "signoff.recorded").order_by(log.c.seq.desc()))
    cursor = _SIGNOFF_ENTRIES(conn)
    try:
        for (raw,) in iter(cursor.fetchone, None):
            yield json.loads(bytes(raw))
    finally:
        cursor.close()
