"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints, with Ed25519.

A checkpoint is the log's public commitment: ``<origin>\\n<size>\\n<base64 root>\\n``
signed by the log key.  Anyone holding ``log.vkey`` can check it offline, and
the ``CheckpointSigner`` guarantees the log never signs two checkpoints that
cannot both be true (a shrink, a rewrite at the same size, or a fork).

The signing key lives in the data folder (``signing.key``) or in the secret file
named by ``$LIFECYCLE_SIGNING_KEY_FILE`` (several machines, one key), never in the
database, so someone who can rewrite the database still cannot obtain a
signature over a rewritten history.  The last signed checkpoint is kept in the
database (lifecycle.ledger, under the log-head lock) and, as a local floor, in
``last-checkpoint`` beside the key.

Witnesses cosign checkpoints (C2SP tlog-cosignature, ``cosignature/v1``): an
Ed25519 signature over ``cosignature/v1\ntime <t>\n`` + the checkpoint body,
under a key of signature type 0x04, carried as a timestamped note signature.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency

__all__ = [
    "ALG_ED25519",
    "SIGNING_KEY_FILE",
    "VKEY_FILE",
    "LAST_CHECKPOINT_FILE",
    "NoteError",
    "CheckpointRefused",
    "Verifier",
    "Signer",
    "key_id",
    "format_vkey",
    "parse_vkey",
    "sign_note",
    "verify_note",
    "checkpoint_body",
    "parse_checkpoint",
    "verify_checkpoint",
    "generate_signing_key",
    "load_signer",
    "CheckpointSigner",
    "SignedCheckpoint",
    "ALG_COSIGNATURE_V1",
    "SIGNING_KEY_ENV",
    "Cosigner",
    "CosignerVerifier",
    "Cosignature",
    "format_cosigner_vkey",
    "parse_cosigner_vkey",
    "note_signatures",
    "add_signature_lines",
    "check_extends",
    "signing_key_path",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04  # C2SP tlog-cosignature: Ed25519 over a timestamped message
SIGNING_KEY_ENV = "LIFECYCLE_SIGNING_KEY_FILE"
SIGNING_KEY_FILE = "signing.key"
VKEY_FILE = "log.vkey"
LAST_CHECKPOINT_FILE = "last-checkpoint"
LOCK_FILE = "signing.lock"

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 100
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")  # at most 20 digits: a uint64


class NoteError(ValueError):
    """A note, key or checkpoint is malformed or does not verify."""


class CheckpointRefused(Exception):
    """Signing this checkpoint would contradict one the log already signed."""


# ----------------------------------------------------------------------- keys


def _check_name(name: str) -> None:
    """Names are embedded in space- and plus-separated lines, so exclude both."""
    if not isinstance(name, str) or not name:
        raise NoteError("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"key name {name!r} must not contain '+' or whitespace")


def key_id(origin: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4], the signed-note key hash (alg 0x01 for
    note signatures, 0x04 for cosignature/v1)."""
    material = origin.encode("utf-8") + b"\n" + bytes([alg]) + public_key
    return hashlib.sha256(material).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key: who signs (origin), which key (key_id), and the key."""

    origin: str
    key_id: bytes
    public_key: bytes

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def text(self) -> str:
        return format_vkey(self.origin, self.public_key)


@dataclass(frozen=True)
class Signer:
    """An origin and its Ed25519 private key."""

    origin: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.origin, key_id(self.origin, self.public_key), self.public_key)

    def sign(self, text: str) -> str:
        return sign_note(text, self.origin, self.private_key)


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def format_vkey(origin: str, public_key: bytes) -> str:
    """``<origin>+<hex key id>+<base64(0x01 ‖ public key)>``."""
    _check_name(origin)
    if len(public_key) != 32:
        raise NoteError("Ed25519 public key must be 32 bytes")
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode("ascii")
    return f"{origin}+{key_id(origin, public_key).hex()}+{encoded}"


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64") from None


def parse_vkey(text: str) -> Verifier:
    """Parse a verifier key, checking its algorithm, length and key id."""
    parts = text.strip().split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise NoteError("verifier key must be <name>+<hex key id>+<base64 key>")
    origin, hex_id, encoded = parts
    _check_name(origin)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError("verifier key id must be 8 lowercase hex digits")
    material = _b64decode(encoded, "verifier key")
    if len(material) != 33 or material[0] != ALG_ED25519:
        raise NoteError("verifier key is not an Ed25519 key (0x01 ‖ 32 bytes)")
    public_key = material[1:]
    if key_id(origin, public_key).hex() != hex_id:
        raise NoteError("verifier key id does not match its name and key")
    return Verifier(origin, bytes.fromhex(hex_id), public_key)


# ---------------------------------------------------------------------- notes


def _check_text(text: str) -> bytes:
    """Note text is UTF-8, ends in a newline and holds no other control characters."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed note: text must end with a newline")
    if any(ch < " " and ch != "\n" for ch in text):
        raise NoteError("malformed note: text contains control characters")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("malformed note: text is not valid Unicode") from None


def sign_note(text: str, origin: str, private_key: Ed25519PrivateKey) -> str:
    """Return ``text`` + blank line + one ``— <origin> <base64(key id ‖ sig)>`` line."""
    _check_name(origin)
    message = _check_text(text)
    signature = private_key.sign(message)
    blob = key_id(origin, _raw_public(private_key)) + signature
    encoded = base64.b64encode(blob).decode("ascii")
    return f"{text}\n{_SIGNATURE_PREFIX}{origin} {encoded}\n"


def note_signatures(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The note's text and its (key name, key id ‖ signature) pairs, in order."""
    return _split_note(note)


def add_signature_lines(note: str, lines: Sequence[str]) -> str:
    """``note`` with the signature ``lines`` (each ``— name base64``) appended, skipping
    any it already carries; the result is parsed again, so a malformed line is refused."""
    text, _ = _split_note(note)
    present = note[len(text) + 1:].splitlines()
    extra = [line for line in dict.fromkeys(lines) if line not in present]
    merged = note + "".join(line + "\n" for line in extra)
    _split_note(merged)
    return merged


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split at the last blank line into text and (name, key id ‖ signature) pairs."""
    if not isinstance(note, str):
        raise NoteError("malformed note: not a string")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no signature block")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("malformed note: too many signatures")
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("malformed note: signature line must start with '— '")
    fields = line[len(_SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise NoteError("malformed note: signature line must be '— <name> <base64>'")
    name, encoded = fields
    _check_name(name)
    blob = _b64decode(encoded, "malformed note: signature")
    if len(blob) <= 4:
        raise NoteError("malformed note: signature too short")
    return name, blob


def verify_note(note: str, vkey: Verifier | str) -> str:
    """Return the note's text if ``vkey`` signed it; otherwise raise NoteError.

    Signatures by other keys are ignored (notes may be cosigned), but a
    signature that claims to be by ``vkey`` and fails is an error.
    """
    verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    text, signatures = _split_note(note)
    message = text.encode("utf-8")
    ours = [
        blob[4:]
        for name, blob in signatures
        if name == verifier.origin and blob[:4] == verifier.key_id
    ]
    if not ours:
        raise NoteError(f"no signature by {verifier.origin}+{verifier.key_id.hex()}")
    for signature in ours:
        if not verifier.verify(message, signature):
            raise NoteError(f"bad signature by {verifier.origin}+{verifier.key_id.hex()}")
    return text


# --------------------------------------------------------------- cosignatures

_COSIGNATURE_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = (1 << 63) - 1


def _cosigned_message(body: str, timestamp: int) -> bytes:
    """tlog-cosignature's Ed25519 message: header line, time line, the checkpoint body."""
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n{body}".encode("utf-8")


@dataclass(frozen=True)
class Cosignature:
    """One witness's cosignature of a checkpoint body: who, when (POSIX seconds), the line."""

    name: str
    key_id: bytes
    timestamp: int
    line: str  # the note signature line, without its newline


def format_cosigner_vkey(name: str, public_key: bytes) -> str:
    """``<name>+<hex key id>+<base64(0x04 ‖ public key)>``: a witness's verifier key."""
    _check_name(name)
    if len(public_key) != 32:
        raise NoteError("Ed25519 public key must be 32 bytes")
    encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, public_key, ALG_COSIGNATURE_V1).hex()}+{encoded}"


@dataclass(frozen=True)
class CosignerVerifier:
    """A witness's verifier key (signature type 0x04, cosignature/v1)."""

    name: str
    key_id: bytes
    public_key: bytes

    def text(self) -> str:
        return format_cosigner_vkey(self.name, self.public_key)

    def check(self, body: str, name: str, blob: bytes) -> Cosignature | None:
        """The cosignature if (name, blob) is this key's valid cosignature of ``body``;
        None when the line is another key's. A line that claims this key and fails raises."""
        if name != self.name or blob[:4] != self.key_id:
            return None
        if len(blob) != 4 + 8 + 64:
            raise NoteError(f"cosignature by {self.name}: wrong length")
        timestamp = int.from_bytes(blob[4:12], "big")
        if timestamp > _MAX_TIMESTAMP:
            raise NoteError(f"cosignature by {self.name}: timestamp out of range")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                blob[12:], _cosigned_message(body, timestamp))
        except InvalidSignature:
            raise NoteError(f"bad cosignature by {self.name}+{self.key_id.hex()}") from None
        encoded = base64.b64encode(blob).decode("ascii")
        return Cosignature(self.name, self.key_id, timestamp,
                           f"{_SIGNATURE_PREFIX}{self.name} {encoded}")

    def find(self, note: str) -> Cosignature | None:
        """This witness's valid cosignature in ``note`` (the newest if several), or None.
        A line that claims this key and does not verify raises NoteError."""
        text, signatures = _split_note(note)
        found = [c for name, blob in signatures if (c := self.check(text, name, blob))]
        return max(found, key=lambda c: c.timestamp) if found else None


def parse_cosigner_vkey(text: str) -> CosignerVerifier:
    """Parse a witness verifier key, checking its type (0x04), length and key id."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must be <name>+<hex key id>+<base64 key>")
    name, hex_id, encoded = parts
    _check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError("verifier key id must be 8 lowercase hex digits")
    material = _b64decode(encoded, "verifier key")
    if len(material) != 33 or material[0] != ALG_COSIGNATURE_V1:
        raise NoteError("witness key is not a cosignature/v1 key (0x04 ‖ 32-byte Ed25519 key)")
    public_key = material[1:]
    if key_id(name, public_key, ALG_COSIGNATURE_V1).hex() != hex_id:
        raise NoteError("verifier key id does not match its name and key")
    return CosignerVerifier(name, bytes.fromhex(hex_id), public_key)


@dataclass(frozen=True)
class Cosigner:
    """A witness's name and Ed25519 key."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> CosignerVerifier:
        public = _raw_public(self.private_key)
        return CosignerVerifier(self.name, key_id(self.name, public, ALG_COSIGNATURE_V1),
                                public)

    def cosign(self, body: str, timestamp: int) -> Cosignature:
        """The cosignature/v1 of a checkpoint ``body`` at ``timestamp`` (POSIX seconds)."""
        _check_text(body)
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise NoteError("cosignature timestamp out of range")
        signature = self.private_key.sign(_cosigned_message(body, timestamp))
        blob = self.verifier.key_id + timestamp.to_bytes(8, "big") + signature
        encoded = base64.b64encode(blob).decode("ascii")
        return Cosignature(self.name, self.verifier.key_id, timestamp,
                           f"{_SIGNATURE_PREFIX}{self.name} {encoded}")


# ---------------------------------------------------------------- checkpoints


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The tlog-checkpoint body: origin, decimal size, base64 root, each on a line."""
    _check_name(origin)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise NoteError(f"checkpoint size {size!r} must be a non-negative integer")
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint root must be a 32-byte hash")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def parse_checkpoint(body: str) -> tuple[str, int, bytes]:
    """Parse exactly the three-line body this log signs into (origin, size, root)."""
    if not isinstance(body, str) or not body.endswith("\n"):
        raise NoteError("malformed checkpoint: must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) != 3:
        raise NoteError("malformed checkpoint: expected origin, size and root lines")
    origin, size_text, root_text = lines
    _check_name(origin)
    if not _DECIMAL.fullmatch(size_text):
        raise NoteError(f"malformed checkpoint: size {size_text!r} is not a decimal number")
    root = _b64decode(root_text, "checkpoint root")
    if len(root) != HASH_SIZE:
        raise NoteError("malformed checkpoint: root is not a 32-byte hash")
    return origin, int(size_text), root


def verify_checkpoint(note: str, vkey: Verifier | str) -> tuple[str, int, bytes]:
    """Verify a checkpoint note and return (origin, size, root); origin must be the key's."""
    verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    origin, size, root = parse_checkpoint(verify_note(note, verifier))
    if origin != verifier.origin:
        raise NoteError(f"checkpoint origin {origin!r} is not the key's {verifier.origin!r}")
    return origin, size, root


# ------------------------------------------------------------ key management


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` exclusively, so an existing key is never overwritten."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write via a temp file + os.replace so readers see the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def signing_key_path(data_dir: Path) -> Path:
    """Where the log's private key is: ``$LIFECYCLE_SIGNING_KEY_FILE`` when set (one secret
    shared by every machine of a deployment), else ``signing.key`` in the data folder."""
    named = os.environ.get(SIGNING_KEY_ENV)
    return Path(named) if named else Path(data_dir) / SIGNING_KEY_FILE


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise NoteError(f"signing key {path}: cannot read it: {exc.strerror}") from None
    if not pem.strip():
        raise NoteError(f"signing key {path} is empty")
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise NoteError(f"signing key {path} is not an unencrypted PEM private key: {exc}") \
            from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise NoteError(f"signing key {path} is not an Ed25519 key")
    return private_key


def generate_signing_key(data_dir: Path, origin: str) -> Signer:
    """Create ``signing.key`` (PKCS#8 PEM, mode 0600) and ``log.vkey`` in ``data_dir``.

    Refuses (FileExistsError) if a key is already there: replacing the log key
    would orphan every checkpoint signed so far.  With ``$LIFECYCLE_SIGNING_KEY_FILE``
    set no key is made: the data folder only gets the ``log.vkey`` of that key (keeping
    the origin an existing ``log.vkey`` of the same key names).
    """
    _check_name(origin)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.environ.get(SIGNING_KEY_ENV):
        return _publish_vkey_of_key_file(data_dir, origin)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new_file(data_dir / SIGNING_KEY_FILE, pem, 0o600)
    vkey = format_vkey(origin, _raw_public(private_key))
    _write_atomically(data_dir / VKEY_FILE, (vkey + "\n").encode("ascii"))
    return Signer(origin, private_key)


def _publish_vkey_of_key_file(data_dir: Path, origin: str) -> Signer:
    private_key = _load_private_key(signing_key_path(data_dir))
    public = _raw_public(private_key)
    try:
        existing = parse_vkey((data_dir / VKEY_FILE).read_text("ascii"))
    except (OSError, NoteError):
        existing = None
    if existing is not None and existing.public_key == public:
        return Signer(existing.origin, private_key)
    vkey = format_vkey(origin, public)
    _write_atomically(data_dir / VKEY_FILE, (vkey + "\n").encode("ascii"))
    return Signer(origin, private_key)


def load_signer(data_dir: Path) -> Signer:
    """Load the key (see ``signing_key_path``) and the origin of ``log.vkey``, checking they
    match."""
    data_dir = Path(data_dir)
    verifier = parse_vkey((data_dir / VKEY_FILE).read_text("ascii"))
    path = signing_key_path(data_dir)
    private_key = _load_private_key(path)
    if _raw_public(private_key) != verifier.public_key:
        raise NoteError(f"{path} does not match {VKEY_FILE}")
    return Signer(verifier.origin, private_key)


# ------------------------------------------------------------- checkpoint signer

ConsistencyProofFn = Callable[[int, int], Sequence[bytes]]


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str


def check_extends(last: SignedCheckpoint, size: int, root: bytes,
                  proof_fn: ConsistencyProofFn) -> None:
    """Rule: a log only grows. (size, root) must be ``last`` itself or a consistent
    extension of it; else CheckpointRefused says which (smaller, rewritten, forked)."""
    if size < last.size:
        raise CheckpointRefused(
            f"size {size} is smaller than the last signed checkpoint ({last.size})"
        )
    if size == last.size:
        if root != last.root:
            raise CheckpointRefused(f"size {size} was already signed with another root")
        return
    if last.size == 0:
        return  # every tree extends the empty one
    proof = proof_fn(last.size, size)
    if not verify_consistency(last.size, size, last.root, root, proof):
        raise CheckpointRefused(
            f"size {size} is not consistent with the last signed checkpoint ({last.size})"
        )


class CheckpointSigner:
    """Signs checkpoints, refusing any that contradicts the last one it signed.

    The caller may pass its own records of the last signed checkpoint (the
    database's, read under the log-head lock) as ``floors``; the signer also keeps
    the note itself in ``last-checkpoint`` beside the key, re-verified on read so it
    cannot be silently edited to something the key never signed.  A restored
    database that is behind what this machine signed is therefore refused too.  A
    lock file serialises signers that share the data folder.
    """

    def __init__(self, data_dir: Path, origin: str) -> None:
        self.data_dir = Path(data_dir)
        self.signer = load_signer(self.data_dir)
        if self.signer.origin != origin:
            raise NoteError(f"key origin {self.signer.origin!r} is not {origin!r}")
        self.origin = origin

    @property
    def vkey(self) -> str:
        return self.signer.verifier.text()

    def last_signed(self) -> SignedCheckpoint | None:
        """The last checkpoint this key signed here for the log, or None before the first."""
        path = self.data_dir / LAST_CHECKPOINT_FILE
        try:
            note = path.read_text("utf-8")
        except FileNotFoundError:
            return None
        return self.read_note(note)

    def read_note(self, note: str) -> SignedCheckpoint:
        """A checkpoint note this key signed, parsed; NoteError if the key did not sign it."""
        _, size, root = verify_checkpoint(note, self.signer.verifier)
        return SignedCheckpoint(size, root, note)

    def sign(self, size: int, root: bytes, consistency_proof_fn: ConsistencyProofFn,
             floors: Sequence[SignedCheckpoint | None] = ()) -> str:
        """Return a signed checkpoint note for (size, root), or raise CheckpointRefused when
        it does not extend every checkpoint of ``floors`` and the local record."""
        body = checkpoint_body(self.origin, size, root)
        if size == 0 and root != EMPTY_ROOT:
            raise CheckpointRefused("an empty log must have the empty root")
        with self._locked():
            local = self.last_signed()
            for floor in (*floors, local):
                if floor is not None:
                    check_extends(floor, size, root, consistency_proof_fn)
            note = self.signer.sign(body)
            if local is None or local.size < size:
                _write_atomically(self.data_dir / LAST_CHECKPOINT_FILE, note.encode("utf-8"))
        return note

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        descriptor = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)
