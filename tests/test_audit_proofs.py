"""Proofs the service produces from a real database log verify, and no mutation of one does.

The expected roots come from the entries' bytes alone (an independent MemoryNodeStore), not
from the database, so a proof that merely agrees with a wrong stored node would fail too.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle import ledger
from lifecycle.log.merkle import MemoryNodeStore, leaf_hash, root, verify_consistency, \
    verify_inclusion
from tests.conftest import BACKENDS, Clock, build_world, make_lifecycle

PROOF_SETTINGS = settings(max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", params=BACKENDS)
def log(request, tmp_path_factory):
    """A real log of about seventy entries, and the roots its bytes give at every size."""
    clock = Clock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    lc = make_lifecycle(tmp_path_factory.mktemp("proofs"), request.param, clock)
    world = build_world(lc, clock)
    for number in range(25):
        world.attach("feasibilityStudy", content=f"version {number}".encode())
        if number % 3 == 0:
            lc.file_observation(actor=world.members["rosa"], work_id=world.work_id,
                                text=f"Observación {number}")
    world.advance("approve_design", documents=("feasibilityStudy",))
    raw = [bytes(e) for e in lc.entries(after=-1, limit=1000)]
    store = MemoryNodeStore()
    for entry in raw:
        store.append(leaf_hash(entry))
    roots = [root(store, size) for size in range(len(raw) + 1)]
    yield lc, [leaf_hash(e) for e in raw], roots
    lc.engine.dispose()


def flip(digest: bytes, bit: int) -> bytes:
    return digest[:bit // 8] + bytes([digest[bit // 8] ^ (1 << bit % 8)]) + digest[bit // 8 + 1:]


def mutations(path: list[bytes], data):
    """Every way to spoil a path: a flipped bit, a step dropped, added, swapped or reversed."""
    spoiled = []
    if path:
        i = data.draw(st.integers(0, len(path) - 1), label="step")
        bit = data.draw(st.integers(0, 255), label="bit")
        spoiled.append(path[:i] + [flip(path[i], bit)] + path[i + 1:])
        spoiled.append(path[:i] + path[i + 1:])
        spoiled.append(path[:-1])
        spoiled.append(path[:i] + [path[i]] + path[i:])
    spoiled.append(path + [bytes(32)])
    if len(path) > 1:
        i = data.draw(st.integers(0, len(path) - 2), label="swap")
        if path[i] != path[i + 1]:
            spoiled.append(path[:i] + [path[i + 1], path[i]] + path[i + 2:])
        if path != path[::-1]:
            spoiled.append(path[::-1])
    return spoiled


@PROOF_SETTINGS
@given(data=st.data())
def test_inclusion_proofs_verify_and_mutations_do_not(log, data):
    lc, leaves, roots = log
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = ledger.inclusion(lc, index=index, size=size)
    path = [bytes.fromhex(h) for h in proof["path"]]
    leaf, proof_root = bytes.fromhex(proof["leaf_hash"]), bytes.fromhex(proof["root"])

    assert (leaf, proof_root) == (leaves[index], roots[size])
    assert verify_inclusion(leaf, index, size, path, roots[size])

    for spoiled in mutations(path, data):
        assert not verify_inclusion(leaf, index, size, spoiled, roots[size]), spoiled
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not verify_inclusion(flip(leaf, bit), index, size, path, roots[size])
    assert not verify_inclusion(leaf, index, size, path, flip(roots[size], bit))
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other") \
        if size > 1 else None
    if other is not None:  # the leaf is not at another index
        assert not verify_inclusion(leaf, other, size, path, roots[size])
    assert not verify_inclusion(leaf, index, size, path, roots[size - 1] if size > 1 else
                                bytes(32))


@PROOF_SETTINGS
@given(data=st.data())
def test_consistency_proofs_verify_and_mutations_do_not(log, data):
    lc, leaves, roots = log
    second = data.draw(st.integers(1, len(leaves)), label="second")
    first = data.draw(st.integers(1, second), label="first")
    proof = ledger.consistency(lc, first=first, second=second)
    path = [bytes.fromhex(h) for h in proof["path"]]

    assert (bytes.fromhex(proof["first_root"]), bytes.fromhex(proof["second_root"])) == (
        roots[first], roots[second])
    assert verify_consistency(first, second, roots[first], roots[second], path)

    for spoiled in mutations(path, data):
        assert not verify_consistency(first, second, roots[first], roots[second], spoiled), \
            spoiled
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not verify_consistency(first, second, flip(roots[first], bit), roots[second], path)
    assert not verify_consistency(first, second, roots[first], flip(roots[second], bit), path)
