"""Ed25519 proofs of sign-off statements (DESIGN §4.3): the member's key signs the 32-byte
statement message directly. Used by the `lifecycle sign` CLI and by WebCrypto keys made in the
browser; verified live by the service and offline by `audit verify`."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class Ed25519ProofError(ValueError):
    """The proof does not verify; the message says why."""


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise Ed25519ProofError(f"an Ed25519 public key has {PUBLIC_KEY_BYTES} bytes, "
                                f"not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise Ed25519ProofError unless `signature` is the key's signature of `message`."""
    key = load_public_key(public_key)
    if len(signature) != SIGNATURE_BYTES:
        raise Ed25519ProofError(f"an Ed25519 signature has {SIGNATURE_BYTES} bytes, "
                                f"not {len(signature)}")
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise Ed25519ProofError("the Ed25519 signature does not verify") from None
