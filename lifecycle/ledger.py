"""The live log in the database: stored Merkle nodes, proofs and signed checkpoints."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlmodel import Session

from lifecycle.db import LogEntry, MerkleNode
from lifecycle.errors import Conflict, Invalid
from lifecycle.log import merkle
from lifecycle.log.note import CheckpointRefused, CheckpointSigner


class DbNodeStore:
    """Complete-subtree hashes read from `merkle_nodes`; a proof costs O(log n) rows."""

    def __init__(self, session: Session):
        self.session = session

    def get_node(self, level: int, index: int) -> bytes:
        node = self.session.get(MerkleNode, (level, index))
        if node is None:
            raise KeyError((level, index))
        return node.hash

    def get_nodes(self, keys) -> dict:
        keys = list(keys)
        if not keys:
            return {}
        rows = self.session.execute(
            select(MerkleNode.level, MerkleNode.idx, MerkleNode.hash)
            .where(tuple_(MerkleNode.level, MerkleNode.idx).in_(keys))).all()
        found = {(level, idx): h for level, idx, h in rows}
        missing = [k for k in keys if k not in found]
        if missing:
            raise KeyError(missing[0])
        return found


def _check_size(name: str, value: int, size: int, *, allow_zero: bool = True) -> None:
    if value < (0 if allow_zero else 1) or value > size:
        raise Invalid(name, f"must be between {0 if allow_zero else 1} and the log size {size}")


def inclusion(lc, *, index: int, size: int) -> dict:
    log_size, _ = lc.log_head()
    _check_size("size", size, log_size, allow_zero=False)
    if not 0 <= index < size:
        raise Invalid("index", f"must be between 0 and size - 1 ({size - 1})")
    with Session(lc.engine) as session:
        store = DbNodeStore(session)
        leaf = session.execute(select(LogEntry.leaf_hash).where(LogEntry.seq == index)).scalar_one()
        path = merkle.inclusion_proof(store, index, size)
        root = merkle.root(store, size)
    return {"index": index, "size": size, "leaf_hash": leaf.hex(), "root": root.hex(),
            "path": [h.hex() for h in path]}


def consistency(lc, *, first: int, second: int) -> dict:
    log_size, _ = lc.log_head()
    _check_size("second", second, log_size)
    if not 0 <= first <= second:
        raise Invalid("first", f"must be between 0 and second ({second})")
    with Session(lc.engine) as session:
        store = DbNodeStore(session)
        path = merkle.consistency_proof(store, first, second)
        first_root, second_root = merkle.root(store, first), merkle.root(store, second)
    return {"first": first, "second": second, "first_root": first_root.hex(),
            "second_root": second_root.hex(), "path": [h.hex() for h in path]}


def root_at(lc, size: int) -> bytes:
    with Session(lc.engine) as session:
        return merkle.root(DbNodeStore(session), size)


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
        with Session(lc.engine) as session:
            return merkle.consistency_proof(DbNodeStore(session), first, second)

    try:
        return checkpoint_signer.sign(size, root, proof)
    except CheckpointRefused as exc:
        raise Conflict(f"refusing to sign a checkpoint: {exc}") from exc
