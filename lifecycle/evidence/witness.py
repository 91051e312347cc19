"""A C2SP tlog-witness (c2sp.org/tlog-witness): the decision and its persistent state.

A witness keeps, for each log it trusts, the latest checkpoint it cosigned. A submission is
`old <size>`, the consistency proof lines from that size, a blank line and the signed note.
`judge` decides it purely, in the specification's order, with its status codes:

    400  malformed body, or old size larger than the checkpoint's
    404  unknown origin (no trusted log of that name)
    403  no signature verifies with a trusted key of that log
    409  old size is not the size last cosigned: body "<size>\\n", text/x.tlog.size
    422  the consistency proof does not verify
    409  same size as the one last cosigned, with another root (a fork)
    200  cosignature/v1 line(s)

`WitnessStore.submit` checks and persists in one SQLite transaction taken with
BEGIN IMMEDIATE, so two concurrent submissions are serialized and the recorded size never goes
back (the race the specification describes); the cosignature is returned only after commit.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifecycle.log.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from lifecycle.log.note import (
    Cosigner,
    NoteError,
    Verifier,
    note_signatures,
    parse_checkpoint,
    parse_vkey,
    verify_note,
)

KEY_FILE = "witness.key"
NAME_FILE = "witness.name"
DATABASE_FILE = "witness.db"
SIZE_MEDIA_TYPE = "text/x.tlog.size"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
MAX_BODY = 64 * 1024  # a checkpoint, its signatures and 63 hashes fit many times over
MAX_PROOF_LINES = 63
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to a submission: status, body and media type."""

    status: int
    body: str
    media_type: str = TEXT_MEDIA_TYPE
    evidence: bool = False  # a validly signed checkpoint that contradicts what was cosigned


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


@dataclass(frozen=True)
class Recorded:
    """The latest checkpoint a witness cosigned for one origin."""

    size: int
    root: bytes


@dataclass(frozen=True)
class Accepted:
    origin: str
    size: int
    root: bytes
    body: str  # the checkpoint body to cosign
    note: str


class Malformed(ValueError):
    pass


def parse_submission(body: bytes) -> Submission:
    """Split an add-checkpoint body; Malformed says what is wrong (a 400)."""
    if len(body) > MAX_BODY:
        raise Malformed(f"body larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body is not UTF-8") from None
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise Malformed("no blank line between the proof and the checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise Malformed("the first line must be 'old <size>' (decimal, no leading zeros)")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Malformed(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            node = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise Malformed("a consistency proof line is not base64") from None
        if len(node) != HASH_SIZE:
            raise Malformed("a consistency proof line is not a 32-byte hash")
        proof.append(node)
    return Submission(int(match.group(1)), tuple(proof), note)


def judge(submission: Submission, trusted: dict[str, list[Verifier]],
          recorded: Recorded | None) -> Accepted | Answer:
    """Decide a submission against the trusted log keys and the recorded checkpoint, in the
    order and with the status codes of tlog-witness. Pure: persists nothing."""
    try:
        body, _ = note_signatures(submission.note)
        origin, size, root = parse_checkpoint(body)
    except NoteError as exc:
        return Answer(400, f"malformed checkpoint: {exc}\n")
    keys = trusted.get(origin)
    if not keys:
        return Answer(404, f"unknown log {origin}\n")
    if not any(_signed_by(submission.note, key) for key in keys):
        return Answer(403, f"no signature by a trusted key of {origin}\n")
    old = submission.old_size
    if old > size:
        return Answer(400, f"old size {old} is larger than the checkpoint's size {size}\n")
    latest = recorded or Recorded(0, EMPTY_ROOT)
    if old != latest.size:
        return Answer(409, f"{latest.size}\n", SIZE_MEDIA_TYPE)
    if old == size:
        if submission.proof:
            return Answer(422, "the consistency proof must be empty for the same size\n")
        if root != latest.root:
            return Answer(409, f"size {size} was already cosigned with another root\n",
                          evidence=True)
    elif old == 0:
        if submission.proof:
            return Answer(422, "the consistency proof must be empty from size 0\n")
    elif not verify_consistency(old, size, latest.root, root, list(submission.proof)):
        return Answer(422, f"the consistency proof from {old} to {size} does not verify\n",
                      evidence=True)
    return Accepted(origin, size, root, body, submission.note)


def _signed_by(note: str, key: Verifier) -> bool:
    try:
        verify_note(note, key)
    except NoteError:
        return False
    return True


# --------------------------------------------------------------------------- state


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS logs (vkey TEXT PRIMARY KEY, origin TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (origin TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL, cosigned_at INTEGER NOT NULL)",
    # Validly signed checkpoints refused as inconsistent: the log's own signature on two
    # histories, kept as evidence of misbehaviour (the specification allows it).
    "CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY, origin TEXT NOT NULL,"
    " body TEXT NOT NULL, reason TEXT NOT NULL, received_at INTEGER NOT NULL)",
)


class WitnessStore:
    """The witness's folder: its key, its name, and witness.db (trusted logs, latest
    cosigned checkpoint per origin). Safe for concurrent requests, threads or processes."""

    def __init__(self, data_dir: Path | str, name: str | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cosigner = _load_or_create_cosigner(self.data_dir, name)
        with closing(self._connect()) as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    @property
    def vkey(self) -> str:
        return self.cosigner.verifier.text()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data_dir / DATABASE_FILE, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # persisted before the cosignature leaves
        return conn

    def add_log(self, vkey: str) -> Verifier:
        """Trust a log's checkpoint key (idempotent)."""
        verifier = parse_vkey(vkey)
        with closing(self._connect()) as conn:
            conn.execute("INSERT OR IGNORE INTO logs (vkey, origin) VALUES (?, ?)",
                         (verifier.text(), verifier.origin))
        return verifier

    def logs(self) -> list[Verifier]:
        with closing(self._connect()) as conn:
            return [parse_vkey(v) for (v,) in conn.execute("SELECT vkey FROM logs ORDER BY vkey")]

    def recorded(self, origin: str) -> Recorded | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT size, root FROM checkpoints WHERE origin = ?",
                               (origin,)).fetchone()
        return Recorded(row[0], bytes(row[1])) if row else None

    def refused(self, origin: str) -> list[tuple[str, str]]:
        """(request body, reason) of every validly signed checkpoint of `origin` refused as
        inconsistent with what this witness cosigned: evidence of a fork or split view."""
        with closing(self._connect()) as conn:
            return list(conn.execute("SELECT body, reason FROM refused WHERE origin = ?"
                                     " ORDER BY id", (origin,)))

    def submit(self, body: bytes, now: int) -> Answer:
        """Handle one add-checkpoint request at POSIX time `now` (the cosignature's time)."""
        try:
            submission = parse_submission(body)
        except Malformed as exc:
            return Answer(400, f"malformed request: {exc}\n")
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                trusted: dict[str, list[Verifier]] = {}
                for (vkey,) in conn.execute("SELECT vkey FROM logs"):
                    key = parse_vkey(vkey)
                    trusted.setdefault(key.origin, []).append(key)
                origin = _origin_of(submission.note)
                row = conn.execute("SELECT size, root FROM checkpoints WHERE origin = ?",
                                   (origin,)).fetchone() if origin else None
                verdict = judge(submission, trusted,
                                Recorded(row[0], bytes(row[1])) if row else None)
                if isinstance(verdict, Answer):
                    if verdict.evidence:
                        conn.execute("INSERT INTO refused (origin, body, reason, received_at)"
                                     " VALUES (?, ?, ?, ?)",
                                     (origin, body.decode("utf-8"), verdict.body.strip(), now))
                        conn.execute("COMMIT")
                    else:
                        conn.execute("ROLLBACK")
                    return verdict
                conn.execute(
                    "INSERT INTO checkpoints (origin, size, root, note, cosigned_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET"
                    " size = excluded.size, root = excluded.root, note = excluded.note,"
                    " cosigned_at = excluded.cosigned_at",
                    (verdict.origin, verdict.size, verdict.root, verdict.note, now))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        cosignature = self.cosigner.cosign(verdict.body, now)
        return Answer(200, cosignature.line + "\n")


def _origin_of(note: str) -> str | None:
    first = note.split("\n", 1)[0]
    return first or None


def _load_or_create_cosigner(data_dir: Path, name: str | None) -> Cosigner:
    key_path, name_path = data_dir / KEY_FILE, data_dir / NAME_FILE
    if key_path.exists():
        stored = name_path.read_text("utf-8").strip()
        if name is not None and name != stored:
            raise NoteError(f"this witness is named {stored!r}, not {name!r} (a witness key "
                            "belongs to one name)")
        private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise NoteError(f"{key_path} is not an Ed25519 key")
        return Cosigner(stored, private_key)
    if name is None:
        raise NoteError(f"{data_dir} holds no witness yet: give it a name (--name)")
    cosigner = Cosigner(name, Ed25519PrivateKey.generate())
    cosigner.verifier.text()  # refuses a name a vkey cannot carry, before anything is written
    name_path.write_text(name + "\n", "utf-8")  # first: a key file always has its name
    pem = cosigner.private_key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return cosigner
