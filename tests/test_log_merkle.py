"""The RFC 9162 Merkle tree: reference vectors, known roots, and generated proofs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.log.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    StreamingRoot,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    nodes_to_store_on_append,
    root,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)

from tests.conftest import FIXTURES  # noqa: E402  (../shared/fixtures)
MERKLE = FIXTURES / "merkle"
needs_fixtures = pytest.mark.skipif(
    not MERKLE.is_dir(),
    reason=f"RFC 9162 proof vectors not found at {MERKLE} (../shared/fixtures is absent)",
)

# transparency-dev/merkle testonly/constants.go, via SOURCES.md.
KNOWN_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
KNOWN_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _vectors(kind: str) -> list[Path]:
    folder = MERKLE / kind
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(MERKLE))


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def _proof(vector: dict) -> list[bytes]:
    return [_b64(step) for step in vector["proof"] or []]


# ---------------------------------------------------------------- vector tests


@needs_fixtures
def test_vector_folders_are_populated() -> None:
    assert len(_vectors("inclusion")) + len(_vectors("consistency")) >= 196


@needs_fixtures
@pytest.mark.parametrize("path", _vectors("inclusion") or [None], ids=_id if MERKLE.is_dir() else None)
def test_inclusion_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    verified = verify_inclusion(
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector),
        _b64(vector["root"]),
    )
    assert verified is (not vector["wantErr"]), vector["desc"]


@needs_fixtures
@pytest.mark.parametrize(
    "path", _vectors("consistency") or [None], ids=_id if MERKLE.is_dir() else None
)
def test_consistency_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    verified = verify_consistency(
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        _proof(vector),
    )
    assert verified is (not vector["wantErr"]), vector["desc"]


# ----------------------------------------------------------------- known roots


def _known_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    for leaf in KNOWN_LEAVES:
        store.append(leaf_hash(leaf))
    return store


@pytest.mark.parametrize("size", range(len(KNOWN_ROOTS)))
def test_known_root_from_store(size: int) -> None:
    assert root(_known_store(), size).hex() == KNOWN_ROOTS[size]


@pytest.mark.parametrize("size", range(len(KNOWN_ROOTS)))
def test_known_root_streaming(size: int) -> None:
    streaming = StreamingRoot()
    for leaf in KNOWN_LEAVES[:size]:
        streaming.add(leaf_hash(leaf))
    assert streaming.size == size
    assert streaming.root().hex() == KNOWN_ROOTS[size]
    assert root_from_frontier(streaming.frontier) == streaming.root()


def test_empty_tree() -> None:
    assert root(MemoryNodeStore(), 0) == EMPTY_ROOT == root_from_frontier([])


def test_append_reports_every_completed_node() -> None:
    frontier, nodes = nodes_to_store_on_append([], 0, b"a" * 32)
    assert nodes == [(0, 0, b"a" * 32)]
    store = _known_store()  # 8 leaves: completes (1,3), (2,1), (3,0) on the last append
    assert set(store.nodes) == {(0, i) for i in range(8)} | {(1, i) for i in range(4)} | {
        (2, 0),
        (2, 1),
        (3, 0),
    }
    assert len(store.frontier) == 1


def test_append_rejects_frontier_of_wrong_shape() -> None:
    with pytest.raises(ValueError):
        nodes_to_store_on_append([b"x" * 32], 3, b"y" * 32)


def test_out_of_range_arguments() -> None:
    store = _known_store()
    for bad in [(8, 8), (-1, 8), (0, 0), (9, 8)]:
        with pytest.raises(ValueError):
            inclusion_proof(store, *bad)
    for bad in [(5, 4), (-1, 3)]:
        with pytest.raises(ValueError):
            consistency_proof(store, *bad)
    with pytest.raises(ValueError):
        root(store, -1)
    assert consistency_proof(store, 0, 8) == []
    assert consistency_proof(store, 5, 5) == []


class CountingStore(MemoryNodeStore):
    """Counts reads so the O(log n) promise is tested, not assumed."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_nodes(self, keys):
        self.reads += len(keys)
        return super().get_nodes(keys)


def test_reads_are_logarithmic() -> None:
    store = CountingStore()
    for i in range(1000):
        store.append(leaf_hash(str(i).encode()))
    for work in (
        lambda: root(store, 999),
        lambda: inclusion_proof(store, 517, 999),
        lambda: consistency_proof(store, 333, 999),
    ):
        store.reads = 0
        work()
        assert store.reads <= 2 * 10


# -------------------------------------------------------------- property tests

_STORE = MemoryNodeStore()
for _i in range(300):
    _STORE.append(leaf_hash(_i.to_bytes(4, "big")))


def _mutations(proof: list[bytes]):
    """Every single corruption of a proof: flipped bytes, dropped and added hashes."""
    for position, step in enumerate(proof):
        for offset in range(len(step)):
            changed = bytearray(step)
            changed[offset] ^= 0x01
            yield proof[:position] + [bytes(changed)] + proof[position + 1 :]
        yield proof[:position] + proof[position + 1 :]
    for position in range(len(proof) + 1):
        yield proof[:position] + [b"\x00" * 32] + proof[position:]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_generated_inclusion_proofs(data) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf = leaf_hash(index.to_bytes(4, "big"))
    tree_root = root(_STORE, size)
    proof = inclusion_proof(_STORE, index, size)
    assert verify_inclusion(leaf, index, size, proof, tree_root)
    for corrupted in _mutations(proof):
        assert not verify_inclusion(leaf, index, size, corrupted, tree_root)
    for other_index in {index - 1, index + 1, index ^ 1, index + size}:
        assert not verify_inclusion(leaf, other_index, size, proof, tree_root)
    for other_size in {size - 1, size + 1, size * 2, size // 2} - {size}:
        if other_size > 300:
            continue
        if other_size <= index:
            assert not verify_inclusion(leaf, index, other_size, proof, tree_root)
            continue
        # The signed checkpoint binds size to root, so a changed size with the
        # root of that size must fail.  With the *original* root, RFC 9162 only
        # notices when the path shape differs (e.g. size 3 vs 4 at leaf 0 share
        # a shape), which a different proof length always reveals.
        assert not verify_inclusion(leaf, index, other_size, proof, root(_STORE, other_size))
        if len(inclusion_proof(_STORE, index, other_size)) != len(proof):
            assert not verify_inclusion(leaf, index, other_size, proof, tree_root)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_generated_consistency_proofs(data) -> None:
    second = data.draw(st.integers(1, 300), label="second")
    first = data.draw(st.integers(1, second), label="first")
    first_root, second_root = root(_STORE, first), root(_STORE, second)
    proof = consistency_proof(_STORE, first, second)
    assert verify_consistency(first, second, first_root, second_root, proof)
    for corrupted in _mutations(proof):
        assert not verify_consistency(first, second, first_root, second_root, corrupted)
    # As for inclusion: changed sizes fail against their own roots, and against
    # the original roots whenever the proof shape differs.
    for other_first in {first - 1, first + 1} - {0}:
        if other_first <= second:
            _assert_size_change_fails(other_first, second, first, second, proof)
    for other_second in {second - 1, second + 1, second * 2}:
        if first <= other_second <= 300:
            _assert_size_change_fails(first, other_second, first, second, proof)


def _assert_size_change_fails(first, second, true_first, true_second, proof) -> None:
    true_roots = root(_STORE, true_first), root(_STORE, true_second)
    own_roots = root(_STORE, first), root(_STORE, second)
    assert not verify_consistency(first, second, *own_roots, proof)
    if len(consistency_proof(_STORE, first, second)) != len(proof):
        assert not verify_consistency(first, second, *true_roots, proof)
