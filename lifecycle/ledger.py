"""The live log in the database: stored Merkle nodes, proofs and signed checkpoints."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from lifecycle.db import MerkleNode
from lifecycle.errors import Conflict, Invalid
from lifecycle.log import merkle
from lifecycle.log.note import CheckpointRefused, CheckpointSigner


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


def signer(lc) -> CheckpointSigner:
    from lifecycle.log.note import load_signer

    return CheckpointSigner(lc.data_dir, load_signer(lc.data_dir).origin)


def checkpoint(lc) -> str:
    """A signed checkpoint of the log as committed now. The signer refuses to sign a log that
    is smaller than, or not an extension of, the last one it signed (a restored backup, a
    rewritten history)."""
    checkpoint_signer = signer(lc)
    size, root = lc.log_head()
    last = checkpoint_signer.last_signed()
    if last is not None and last.size == size and last.root == root:
        return last.note

    def proof(first: int, second: int):
        with lc.engine.connect() as conn:
            return merkle.consistency_proof(DbNodeStore(conn), first, second)

    try:
        return checkpoint_signer.sign(size, root, proof)
    except CheckpointRefused as exc:
        raise Conflict(f"refusing to sign a checkpoint: {exc}") from exc
