"""RFC 9162 §2.1 Merkle tree over log leaves, backed by stored complete subtrees.

Every node of the RFC tree is either a *complete* subtree (2**level leaves
starting at a multiple of 2**level) or an "ephemeral" node on the right edge
whose hash is the right-to-left fold of the complete subtrees it covers.
Complete subtrees never change once their last leaf exists, so the database
stores exactly those, addressed by ``(level, index)``.  Any root or proof then
needs O(log n) stored nodes, fetched in one batch where the store allows.

Appending needs no reads at all: the caller keeps the *frontier* (the roots of
the maximal complete subtrees of the current tree, left to right) and
``nodes_to_store_on_append`` says which nodes the new leaf completes.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Protocol, Sequence, runtime_checkable

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "NodeKey",
    "NodeStore",
    "MemoryNodeStore",
    "leaf_hash",
    "node_hash",
    "nodes_to_store_on_append",
    "root_from_frontier",
    "root",
    "inclusion_proof",
    "consistency_proof",
    "verify_inclusion",
    "verify_consistency",
    "StreamingRoot",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves [index*2**level, (index+1)*2**level)."""


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 ‖ entry): the prefix keeps leaves and interior nodes apart."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


# ------------------------------------------------------------------------- stores


@runtime_checkable
class NodeStore(Protocol):
    """Where complete-subtree hashes live.  Stores may also offer
    ``get_nodes(keys) -> dict[NodeKey, bytes]`` to fetch a proof in one round trip."""

    def get_node(self, level: int, index: int) -> bytes: ...


class MemoryNodeStore:
    """A dict-backed NodeStore that can also grow itself; for tests and tools."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self.frontier: list[bytes] = []
        self.size = 0

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def get_nodes(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        return {key: self.nodes[key] for key in keys}

    def put_nodes(self, nodes: Iterable[tuple[int, int, bytes]]) -> None:
        for level, index, digest in nodes:
            self.nodes[(level, index)] = digest

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash the same way a database would; return its index."""
        self.frontier, completed = nodes_to_store_on_append(self.frontier, self.size, leaf)
        self.put_nodes(completed)
        self.size += 1
        return self.size - 1


def _fetch(store: NodeStore, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
    """Read ``keys`` in one batch when the store supports it."""
    if not keys:
        return {}
    batched = getattr(store, "get_nodes", None)
    if batched is not None:
        found = batched(list(keys))
        missing = [key for key in keys if key not in found]
        if missing:
            raise KeyError(f"node store lacks nodes {missing}")
        return found
    return {key: store.get_node(*key) for key in keys}


# ------------------------------------------------------------------------ append


def nodes_to_store_on_append(
    frontier: Sequence[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Return (frontier of size+1, every ``(level, index, hash)`` the leaf completes).

    The frontier has one hash per set bit of ``size`` (largest subtree first).
    Adding a leaf behaves like binary increment: each trailing 1-bit of
    ``size`` is a complete subtree that merges with the carry.
    """
    if size < 0 or len(frontier) != size.bit_count():
        raise ValueError(f"frontier of {len(frontier)} hashes does not fit size {size}")
    new_frontier = list(frontier)
    level, index, carry = 0, size, leaf
    completed = [(0, size, leaf)]
    while index & 1:
        carry = node_hash(new_frontier.pop(), carry)
        level, index = level + 1, index >> 1
        completed.append((level, index, carry))
    new_frontier.append(carry)
    return new_frontier, completed


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """Fold the frontier right to left; that is the RFC 9162 root of the whole tree."""
    if not frontier:
        return EMPTY_ROOT
    accumulated = frontier[-1]
    for digest in reversed(frontier[:-1]):
        accumulated = node_hash(digest, accumulated)
    return accumulated


class StreamingRoot:
    """Root of a stream of leaf hashes in O(log n) memory (for offline verification)."""

    def __init__(self) -> None:
        self.frontier: list[bytes] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        carry, index = leaf, self.size
        while index & 1:
            carry = node_hash(self.frontier.pop(), carry)
            index >>= 1
        self.frontier.append(carry)
        self.size += 1

    def root(self) -> bytes:
        return root_from_frontier(self.frontier)


# ---------------------------------------------------------------- proof building


def _complete_subtrees(lo: int, hi: int) -> list[NodeKey]:
    """Split leaves [lo, hi) into maximal aligned complete subtrees, left to right."""
    keys = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        keys.append((level, lo >> level))
        lo += 1 << level
    return keys


class _RangeHasher:
    """Collects the ranges a proof needs, fetches their nodes in one batch, then hashes.

    Only ranges that are nodes of the RFC tree are requested (start aligned to
    a power of two at least their length), for which the right fold of the
    complete-subtree split is exactly MTH of the range.
    """

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def want(self, lo: int, hi: int) -> None:
        self.ranges.append((lo, hi))

    def hashes(self, store: NodeStore) -> list[bytes]:
        splits = [_complete_subtrees(lo, hi) for lo, hi in self.ranges]
        nodes = _fetch(store, list(dict.fromkeys(key for split in splits for key in split)))
        return [root_from_frontier([nodes[key] for key in split]) for split in splits]


def _split_point(size: int) -> int:
    """The largest power of two strictly less than ``size`` (RFC 9162's k)."""
    return 1 << ((size - 1).bit_length() - 1)


def root(store: NodeStore, size: int) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    if size == 0:
        return EMPTY_ROOT
    hasher = _RangeHasher()
    hasher.want(0, size)
    return hasher.hashes(store)[0]


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, ordered from the leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    hasher = _RangeHasher()
    lo, hi = 0, size
    while hi - lo > 1:
        middle = lo + _split_point(hi - lo)
        if index < middle:
            hasher.want(middle, hi)
            hi = middle
        else:
            hasher.want(lo, middle)
            lo = middle
    return hasher.hashes(store)[::-1]


def consistency_proof(store: NodeStore, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (SUBPROOF with b = true).

    Empty when ``first`` is 0 or equals ``second``: there is nothing to prove.
    """
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    hasher = _RangeHasher()
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = _split_point(hi - lo)
        if m <= k:
            hasher.want(lo + k, hi)
            hi = lo + k
        else:
            hasher.want(lo, lo + k)
            lo, m, whole = lo + k, m - k, False
    if not whole:
        hasher.want(lo, hi)
    return hasher.hashes(store)[::-1]


# ------------------------------------------------------------------ verification


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2.  Never raises: malformed input just fails to verify."""
    try:
        if not (_is_size(index) and _is_size(size) and index < size):
            return False
        if not (_is_hash(leaf) and _is_hash(expected_root)):
            return False
        if not all(_is_hash(step) for step in proof):
            return False
        return _walk_inclusion(leaf, index, size - 1, proof) == bytes(expected_root)
    except Exception:  # noqa: BLE001 - a verifier answers yes or no
        return False


def _walk_inclusion(leaf: bytes, fn: int, sn: int, proof: Sequence[bytes]) -> bytes | None:
    digest = bytes(leaf)
    for step in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            digest = node_hash(step, digest)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, step)
        fn, sn = fn >> 1, sn >> 1
    return digest if sn == 0 else None


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2.  Never raises: malformed input just fails to verify.

    Equal sizes verify only with an empty proof and equal roots.  A proof from
    the empty tree (``first`` = 0) proves nothing and is always rejected;
    callers that start from an empty tree must handle that case themselves.
    """
    try:
        if not (_is_size(first) and _is_size(second)) or first > second or first == 0:
            return False
        if first == second:
            return not proof and bytes(first_root) == bytes(second_root)
        if not proof or not all(_is_hash(step) for step in proof):
            return False
        return _walk_consistency(first, second, bytes(first_root), bytes(second_root), proof)
    except Exception:  # noqa: BLE001 - a verifier answers yes or no
        return False


def _walk_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the start
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for step in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(step, fr), node_hash(step, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, step)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
