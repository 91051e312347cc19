"""The live log in the database: stored Merkle nodes, proofs and signed checkpoints.

Checkpoints (DESIGN §4): a new one is signed only while holding the log-head lock (the lock
every append takes first), after reading the head inside that lock, and is stored in
`signed_checkpoints` in the same transaction. Two processes, or two machines, therefore never
sign checkpoints that disagree: the second signer sees the first one's row, and a head can only
have grown since. Reading the checkpoint never fails because a write is in progress: it either
finds the head already signed (no lock at all) or waits its turn behind the writers.

Witness cosignatures (§4.4) collected by the publisher (lifecycle/worker.py) are stored per
signed size and served with the note.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from lifecycle.db import (
    CosignatureRow,
    DriverTransaction,
    LogHead,
    MerkleNode,
    Prepared,
    SignedCheckpointRow,
    insert_all,
)
from lifecycle.errors import Conflict, Invalid
from lifecycle.log import merkle
from lifecycle.log.canonical import format_time
from lifecycle.log.note import (
    VKEY_FILE,
    CheckpointRefused,
    CheckpointSigner,
    Cosignature,
    NoteError,
    SignedCheckpoint,
    add_signature_lines,
    load_signer,
)


_NODES = MerkleNode.__table__
_NODE = select(_NODES.c.hash).where(_NODES.c.level == bindparam("level"),
                                    _NODES.c.idx == bindparam("idx"))


class DbNodeStore:
    """Complete-subtree hashes read from `merkle_nodes`; a proof costs O(log n) rows, each
    one primary-key lookup through a statement compiled once."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def get_node(self, level: int, index: int) -> bytes:
        node = self.conn.execute(_NODE, {"level": level, "idx": index}).scalar()
        if node is None:
            raise KeyError((level, index))
        return node

    def get_nodes(self, keys) -> dict:
        return {(level, idx): self.get_node(level, idx) for level, idx in keys}


def _check_size(name: str, value: int, size: int, *, allow_zero: bool = True) -> None:
    if value < (0 if allow_zero else 1) or value > size:
        raise Invalid(name, f"must be between {0 if allow_zero else 1} and the log size {size}")


def inclusion(lc, *, index: int, size: int) -> dict:
    log_size, log_root = lc.log_head()
    _check_size("size", size, log_size, allow_zero=False)
    if not 0 <= index < size:
        raise Invalid("index", f"must be between 0 and size - 1 ({size - 1})")
    with lc.engine.connect() as conn:
        store = DbNodeStore(conn)
        leaf = store.get_node(0, index)
        path = merkle.inclusion_proof(store, index, size)
        # The current root comes from the stored frontier; an older one from stored nodes.
        root = log_root if size == log_size else merkle.root(store, size)
    return {"index": index, "size": size, "leaf_hash": leaf.hex(), "root": root.hex(),
            "path": [h.hex() for h in path]}


def consistency(lc, *, first: int, second: int) -> dict:
    log_size, _ = lc.log_head()
    _check_size("second", second, log_size)
    if not 0 <= first <= second:
        raise Invalid("first", f"must be between 0 and second ({second})")
    with lc.engine.connect() as conn:
        store = DbNodeStore(conn)
        path = merkle.consistency_proof(store, first, second)
        first_root, second_root = merkle.root(store, first), merkle.root(store, second)
    return {"first": first, "second": second, "first_root": first_root.hex(),
            "second_root": second_root.hex(), "path": [h.hex() for h in path]}


def root_at(lc, size: int) -> bytes:
    with lc.engine.connect() as conn:
        return merkle.root(DbNodeStore(conn), size)


_HEAD = LogHead.__table__
_CHECKPOINTS = SignedCheckpointRow.__table__
_COSIGNATURES = CosignatureRow.__table__
_HEAD_NOW = Prepared(select(_HEAD.c.size, _HEAD.c.frontier).where(_HEAD.c.id == 1))
_LOCK_HEAD = Prepared(select(_HEAD.c.size, _HEAD.c.frontier).where(_HEAD.c.id == 1)
                      .with_for_update())
_LAST_SIGNED = Prepared(select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.note)
                        .order_by(_CHECKPOINTS.c.size.desc()).limit(1))
_SIGNED_AT = Prepared(select(_CHECKPOINTS.c.note).where(_CHECKPOINTS.c.size == bindparam("size")))
_INSERT_CHECKPOINT = insert_all(_CHECKPOINTS)
_COSIGNATURES_AT = Prepared(select(_COSIGNATURES.c.witness, _COSIGNATURES.c.timestamp,
                                   _COSIGNATURES.c.line)
                            .where(_COSIGNATURES.c.size == bindparam("size"))
                            .order_by(_COSIGNATURES.c.witness))
_COSIGNED_BY = Prepared(select(_COSIGNATURES.c.size).where(
    _COSIGNATURES.c.witness == bindparam("witness")).order_by(_COSIGNATURES.c.size.desc())
    .limit(1))
_INSERT_COSIGNATURE = insert_all(_COSIGNATURES)
_DELETE_COSIGNATURE = Prepared(_COSIGNATURES.delete().where(
    _COSIGNATURES.c.size == bindparam("size"), _COSIGNATURES.c.witness == bindparam("witness")))
_NODE_IN_TX = Prepared(select(_NODES.c.hash).where(_NODES.c.level == bindparam("level"),
                                                   _NODES.c.idx == bindparam("idx")))


class _TxNodeStore:
    """Merkle nodes read inside a DriverTransaction (the signer's, holding the head lock)."""

    def __init__(self, tx: DriverTransaction):
        self.tx = tx

    def get_node(self, level: int, index: int) -> bytes:
        row = _NODE_IN_TX.one(self.tx, {"level": level, "idx": index})
        if row is None:
            raise KeyError((level, index))
        return bytes(row[0])


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint of the live log and the cosignatures witnesses gave it."""

    size: int
    root: bytes
    note: str  # the log's signed note alone
    cosignatures: tuple[tuple[str, Cosignature], ...] = ()  # (witness vkey, cosignature)

    @property
    def cosigned_note(self) -> str:
        """The note with every cosignature collected, as GET /log/checkpoint serves it."""
        if not self.cosignatures:
            return self.note
        return add_signature_lines(self.note, [c.line for _, c in self.cosignatures])


# One signer per data folder and process: loading the key costs more than signing.
_SIGNERS: dict[str, CheckpointSigner] = {}
_SIGNERS_LOCK = threading.Lock()


def signer(lc) -> CheckpointSigner:
    key = str(lc.data_dir)
    with _SIGNERS_LOCK:
        found = _SIGNERS.get(key)
        if found is None:
            found = _SIGNERS[key] = CheckpointSigner(lc.data_dir,
                                                     load_signer(lc.data_dir).origin)
        return found


def vkey(lc) -> str:
    """The log's verifier key, as published in the data folder's log.vkey."""
    return (lc.data_dir / VKEY_FILE).read_text("ascii")


def _head(row) -> tuple[int, bytes]:
    if row is None:
        return 0, merkle.EMPTY_ROOT
    size, frontier = row
    return size, merkle.root_from_frontier([bytes.fromhex(h) for h in frontier.split(",") if h])


_VERIFIED: dict[tuple[int, str], SignedCheckpoint] = {}  # notes whose signature was checked


def _stored(checkpoint_signer: CheckpointSigner, note: str) -> SignedCheckpoint:
    """A note from `signed_checkpoints`, re-verified with the log key (once per process), so
    a row edited in the database is never served or trusted as a floor."""
    key = (id(checkpoint_signer), note)
    found = _VERIFIED.get(key)
    if found is not None:
        return found
    try:
        found = checkpoint_signer.read_note(note)
    except NoteError as exc:
        raise Conflict(f"the database's signed checkpoint does not verify with the log key "
                       f"({exc}): run `lifecycle audit check`") from exc
    if len(_VERIFIED) > 64:
        _VERIFIED.clear()
    _VERIFIED[key] = found
    return found


def _cosignatures(conn, size: int) -> tuple[tuple[str, Cosignature], ...]:
    cursor = _COSIGNATURES_AT(conn, {"size": size})
    rows = cursor.fetchall()
    cursor.close()
    return tuple((witness, _cosignature_of_line(line, timestamp))
                 for witness, timestamp, line in rows)


def _cosignature_of_line(line: str, timestamp: int) -> Cosignature:
    _, name, encoded = line.split(" ")
    return Cosignature(name, base64.b64decode(encoded)[:4], timestamp, line)


def latest_checkpoint(lc) -> Checkpoint:
    """The signed checkpoint of the log as committed now (signing it if the log grew since the
    last one), with its cosignatures. Raises Conflict only when the database contradicts what
    the log already signed (a restored or rewritten database), never because of a write."""
    checkpoint_signer = signer(lc)
    with DriverTransaction(lc.engine, write=False) as conn:
        size, root = _head(_HEAD_NOW.one(conn))
        last = _LAST_SIGNED.one(conn)
        if last is not None and last[0] == size:
            signed = _stored(checkpoint_signer, last[1])
            if signed.root == root:
                return Checkpoint(size, root, signed.note, _cosignatures(conn, size))
    return _sign_head(lc, checkpoint_signer)


def _sign_head(lc, checkpoint_signer: CheckpointSigner, retries: int = 3) -> Checkpoint:
    for attempt in range(retries):
        try:
            with DriverTransaction(lc.engine) as tx:
                size, root = _head(_LOCK_HEAD.one(tx))
                last_row = _LAST_SIGNED.one(tx)
                last = _stored(checkpoint_signer, last_row[1]) if last_row else None
                if last is not None and last.size == size and last.root == root:
                    note = last.note  # another process signed this head meanwhile
                else:
                    note = checkpoint_signer.sign(
                        size, root,
                        lambda first, second: merkle.consistency_proof(_TxNodeStore(tx),
                                                                       first, second),
                        floors=[last])
                    _INSERT_CHECKPOINT(tx, {"size": size, "root": root, "note": note,
                                            "signed_at": format_time(datetime.now(timezone.utc))})
                cosignatures = _cosignatures(tx, size)
            return Checkpoint(size, root, note, cosignatures)
        except CheckpointRefused as exc:
            raise Conflict(f"refusing to sign a checkpoint: {exc}") from exc
        except Exception as exc:
            # Without a head row (an empty log) PostgreSQL has nothing to lock, and two
            # signers may both insert size 0: the loser reads the winner's row next time.
            integrity = lc.engine.dialect.loaded_dbapi.IntegrityError
            if not isinstance(exc, integrity) or attempt == retries - 1:
                raise
    raise AssertionError("unreachable")


def checkpoint(lc) -> str:
    """The signed checkpoint note of the log as committed now, with every cosignature
    collected for it (DESIGN §4, §4.4)."""
    return latest_checkpoint(lc).cosigned_note


def signed_checkpoint_at(lc, size: int) -> Checkpoint | None:
    """The checkpoint the log signed at `size`, with its cosignatures, or None."""
    checkpoint_signer = signer(lc)
    with DriverTransaction(lc.engine, write=False) as conn:
        row = _SIGNED_AT.one(conn, {"size": size})
        if row is None:
            return None
        signed = _stored(checkpoint_signer, row[0])
        return Checkpoint(signed.size, signed.root, signed.note, _cosignatures(conn, size))


def store_cosignature(lc, size: int, witness_vkey: str, cosignature: Cosignature) -> None:
    """Keep a witness's (already verified) cosignature of the checkpoint signed at `size`;
    a newer one from the same witness replaces the older. Its own short transaction: never
    the head lock, so collecting cosignatures never delays a write."""
    with DriverTransaction(lc.engine) as tx:
        _DELETE_COSIGNATURE(tx, {"size": size, "witness": witness_vkey})
        _INSERT_COSIGNATURE(tx, {"size": size, "witness": witness_vkey,
                                 "timestamp": cosignature.timestamp, "line": cosignature.line})


def last_cosigned_size(lc, witness_vkey: str) -> int | None:
    """The largest size this witness cosigned for us, as far as the database knows."""
    with DriverTransaction(lc.engine, write=False) as conn:
        row = _COSIGNED_BY.one(conn, {"witness": witness_vkey})
        return row[0] if row else None


def consistency_path(lc, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between two sizes of the committed log (raw hashes)."""
    with lc.engine.connect() as conn:
        return merkle.consistency_proof(DbNodeStore(conn), first, second)


_ALL_SIGNED = Prepared(select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.note)
                       .order_by(_CHECKPOINTS.c.size))


def signed_checkpoint_problems(lc) -> list[str]:
    """Every stored signed checkpoint must verify with the log key and sign the root the log
    has at its size (for `lifecycle audit check`): a row that does not is a rewritten history
    or an edited table."""
    checkpoint_signer = signer(lc)
    problems = []
    with DriverTransaction(lc.engine, write=False) as conn:
        cursor = _ALL_SIGNED(conn)
        rows = cursor.fetchall()
        cursor.close()
    log_size, _ = lc.log_head()
    for size, note in rows:
        try:
            signed = checkpoint_signer.read_note(note)
        except NoteError as exc:
            problems.append(f"signed checkpoint at size {size}: does not verify: {exc}")
            continue
        if signed.size != size or size > log_size:
            problems.append(f"signed checkpoint at size {size}: the log has {log_size} entries")
        elif root_at(lc, size) != signed.root:
            problems.append(f"signed checkpoint at size {size}: the log's root at that size is "
                            "not the signed one (the history was rewritten after signing)")
    return problems
