"""A member's signing keys (DESIGN §4.3): passkeys and Ed25519 keys that sign sign-offs.

Passkeys sign statements only; they never log anyone in. Registering a passkey is the usual
WebAuthn ceremony: POST …/options gives navigator.credentials.create() its options, and the
registration response comes back to POST /users/me/keys, where py_webauthn verifies it.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.writer import write
from api.deps import CurrentUser, LifecycleDep, MemberUser
from api.schemas import problems
from lifecycle.errors import Invalid
from lifecycle.evidence.keys import MemberKey
from lifecycle.evidence.statement import Statement, b64url

router = APIRouter(prefix="/users/me/keys", tags=["keys"])
RP_NAME = "lifecycle: obras públicas bajo vigilancia ciudadana"


class KeyOut(BaseModel):
    key_id: str
    kind: str
    alg: str
    public_key: str
    credential_id: str | None = None
    rp_id: str | None = None
    origins: list[str] = []
    registered_at: str
    registered_seq: int
    revoked_at: str | None = None
    active: bool

    @classmethod
    def of(cls, key: MemberKey) -> KeyOut:
        return cls(key_id=key.key_id, kind=key.kind, alg=key.alg, public_key=key.public_key,
                   credential_id=key.credential_id, rp_id=key.rp_id, origins=key.origins,
                   registered_at=key.registered_at, registered_seq=key.registered_seq,
                   revoked_at=key.revoked_at, active=key.active)


class KeyIn(BaseModel):
    kind: Literal["webauthn", "ed25519"]
    public_key: str | None = Field(None, max_length=200,
                                   description="ed25519: the raw public key, base64url.")
    credential: dict[str, Any] | None = Field(
        None, description="webauthn: the registration response of "
                          "navigator.credentials.create(), in its JSON form.")


class StatementOut(BaseModel):
    statement: dict[str, Any]
    message: str = Field(description="base64url SHA-256(\"lifecycle-signoff/v1\\n\" ‖ "
                                     "JCS(statement)): what the key signs.")


def statement_out(statement: Statement) -> StatementOut:
    return StatementOut(statement=statement.as_dict(), message=b64url(statement.message()))


def relying_party(request: Request) -> tuple[str, list[str]]:
    """The WebAuthn RP id and allowed origins: $LIFECYCLE_PUBLIC_URL when set (the address
    members use), else the address this request came to."""
    public = os.environ.get("LIFECYCLE_PUBLIC_URL") or str(request.base_url)
    parts = urlsplit(public)
    if not parts.scheme or not parts.hostname:
        raise Invalid("LIFECYCLE_PUBLIC_URL", "is not an absolute URL")
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.hostname, [origin]


@router.get("", response_model=list[KeyOut])
async def my_keys(actor: CurrentUser, lc: LifecycleDep):
    """The caller's keys, revoked ones included."""
    return [KeyOut.of(k) for k in lc.member_keys(actor.id)]


@router.post("/options", responses=problems(403))
async def registration_options(actor: MemberUser, lc: LifecycleDep, request: Request):
    """Options for navigator.credentials.create(): user verification required; EdDSA, ES256
    or RS256; the member's passkeys excluded. The challenge is valid for ten minutes."""
    rp_id, _ = relying_party(request)
    return await write(lc.key_registration_options, actor=actor, rp_id=rp_id, rp_name=RP_NAME)


@router.post("", status_code=201, response_model=KeyOut, responses=problems(403, 409))
def register_key(body: KeyIn, actor: MemberUser, lc: LifecycleDep, request: Request):
    """Register a passkey (its registration response) or an Ed25519 public key. Logged as
    `key.registered` with the public key only."""
    rp_id, origins = relying_party(request)
    key = lc.register_key(actor=actor, kind=body.kind, public_key=body.public_key,
                          credential=body.credential, rp_id=rp_id, origins=origins)
    return KeyOut.of(key)


@router.delete("/{key_id}", response_model=KeyOut, responses=problems(403, 404, 409))
async def revoke_key(key_id: str, actor: MemberUser, lc: LifecycleDep):
    """Revoke one of your keys (`key.revoked`): sign-offs it signs from now on are refused."""
    return KeyOut.of(await write(lc.revoke_key, actor=actor, key_id=key_id))
