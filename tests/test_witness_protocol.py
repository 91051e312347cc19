"""Witness conformance (c2sp.org/tlog-witness): every status of add-checkpoint through HTTP,
cosignature/v1 answers, a concurrent pair that must not roll the witness back, and a forked log
refused."""

from __future__ import annotations

import base64
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from lifecycle.evidence.witness import SIZE_MEDIA_TYPE, WitnessStore
from lifecycle.evidence.witness_server import create_witness_app
from lifecycle.log.merkle import MemoryNodeStore, consistency_proof, leaf_hash, root
from lifecycle.log.note import (
    ALG_COSIGNATURE_V1,
    NoteError,
    Signer,
    checkpoint_body,
    parse_cosigner_vkey,
)

ORIGIN = "lifecycle.test/log"
WITNESS = "camara.test/witness"


class FakeLog:
    """A log in memory: entries, its signer, checkpoints and proofs as a real log makes them."""

    def __init__(self, origin: str = ORIGIN, fork_at: int | None = None,
                 key: Ed25519PrivateKey | None = None):
        self.signer = Signer(origin, key or Ed25519PrivateKey.generate())
        self.tree = MemoryNodeStore()
        self.fork_at = fork_at

    @property
    def vkey(self) -> str:
        return self.signer.verifier.text()

    def grow(self, size: int) -> None:
        while self.tree.size < size:
            i = self.tree.size
            text = f"entry {i}" if i != self.fork_at else f"rewritten entry {i}"
            self.tree.append(leaf_hash(text.encode()))

    def note(self, size: int) -> str:
        self.grow(size)
        return self.signer.sign(checkpoint_body(self.signer.origin, size, root(self.tree, size)))

    def proof(self, old: int, size: int) -> list[bytes]:
        self.grow(size)
        return consistency_proof(self.tree, old, size) if 0 < old < size else []

    def body(self, old: int, size: int, proof: list[bytes] | None = None,
             note: str | None = None) -> bytes:
        lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in
                                  (self.proof(old, size) if proof is None else proof)]
        return ("\n".join(lines) + "\n\n" + (note or self.note(size))).encode()


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


@pytest.fixture
def witness(tmp_path, log):
    app = create_witness_app(tmp_path / "witness", name=WITNESS)
    app.state.store.add_log(log.vkey)
    with TestClient(app) as client:
        client.store = app.state.store
        yield client


def post(client, body: bytes):
    return client.post("/add-checkpoint", content=body)


def cosignature_of(response, store: WitnessStore, note: str):
    """The witness's cosignature in an answer, verified as a client would: append the lines
    to the note and check them with the witness's key."""
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines and all(line.startswith("\u2014 ") for line in lines)
    assert response.text.endswith("\n")
    verifier = parse_cosigner_vkey(store.vkey)
    return verifier.find(note + response.text)


# --------------------------------------------------------------------------- 200


def test_first_checkpoint_is_cosigned_with_a_timestamped_cosignature_v1(witness, log):
    note = log.note(5)
    response = post(witness, log.body(0, 5, note=note))
    cosignature = cosignature_of(response, witness.store, note)
    assert cosignature is not None and cosignature.name == WITNESS
    assert cosignature.timestamp > 1_700_000_000
    vkey = base64.b64decode(witness.store.vkey.split("+", 2)[2])
    assert vkey[0] == ALG_COSIGNATURE_V1 == 0x04
    assert witness.store.recorded(ORIGIN).size == 5


def test_growth_with_a_proof_from_the_recorded_size_is_cosigned(witness, log):
    post(witness, log.body(0, 5))
    note = log.note(12)
    assert cosignature_of(post(witness, log.body(5, 12, note=note)), witness.store, note)
    assert witness.store.recorded(ORIGIN).size == 12


def test_the_same_checkpoint_again_is_cosigned_again(witness, log):
    post(witness, log.body(0, 5))
    note = log.note(5)
    assert cosignature_of(post(witness, log.body(5, 5, note=note)), witness.store, note)


def test_a_cosignature_does_not_verify_for_another_checkpoint(witness, log):
    response = post(witness, log.body(0, 5))
    other = log.note(6)
    with pytest.raises(NoteError, match="bad cosignature"):
        parse_cosigner_vkey(witness.store.vkey).find(other + response.text)


# --------------------------------------------------------------------------- 400


@pytest.mark.parametrize("body", [
    b"old 0\n" + b"no blank line",
    b"old 00\n\n" + b"x",
    b"old -1\n\n" + b"x",
    b"new 0\n\n" + b"x",
    b"old 3\nnot base64!\n\n" + b"x",
    b"old 3\n" + base64.b64encode(b"short") + b"\n\n" + b"x",
    b"old 3\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\n" + b"x",
    b"\xff\xfe\n\n",
])
def test_malformed_requests_get_400(witness, body):
    assert post(witness, body).status_code == 400


def test_a_malformed_checkpoint_gets_400(witness, log):
    note = log.note(5).replace("\n5\n", "\n05\n", 1)
    assert post(witness, b"old 0\n\n" + note.encode()).status_code == 400


def test_old_size_larger_than_the_checkpoint_gets_400(witness, log):
    post(witness, log.body(0, 5))
    assert post(witness, log.body(5, 3, proof=[])).status_code == 400
    assert witness.store.recorded(ORIGIN).size == 5


# --------------------------------------------------------------------- 404 / 403


def test_an_unknown_log_gets_404(witness):
    stranger = FakeLog("stranger.test/log")
    assert post(witness, stranger.body(0, 3)).status_code == 404


def test_a_checkpoint_not_signed_by_the_trusted_key_gets_403(witness, log):
    impostor = FakeLog(ORIGIN)  # same origin, another key: the operator's lost key, say
    assert post(witness, impostor.body(0, 3)).status_code == 403
    assert witness.store.recorded(ORIGIN) is None


def test_a_tampered_signature_gets_403(witness, log):
    note = log.note(3)
    text, _, signature = note.rpartition(" ")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert post(witness, log.body(0, 3, note=text + " " + flipped)).status_code == 403


def test_signatures_of_unknown_keys_are_ignored(witness, log):
    note = log.note(3)
    extra = Signer("someone.test/else", Ed25519PrivateKey.generate())
    cosigned = note + extra.sign(note.split("\n\n")[0] + "\n").split("\n\n")[1]
    assert post(witness, log.body(0, 3, note=cosigned)).status_code == 200


# --------------------------------------------------------------------------- 409


def test_a_stale_old_size_gets_409_with_the_recorded_size(witness, log):
    post(witness, log.body(0, 8))
    response = post(witness, log.body(5, 10))
    assert response.status_code == 409
    assert response.headers["content-type"] == SIZE_MEDIA_TYPE
    assert response.text == "8\n"
    # and a client that knew nothing learns the size by sending old 0
    response = post(witness, log.body(0, 10))
    assert (response.status_code, response.text) == (409, "8\n")
    assert witness.store.recorded(ORIGIN).size == 8


def test_the_same_size_with_another_root_gets_409(witness, log):
    post(witness, log.body(0, 6))
    forked = FakeLog(ORIGIN, fork_at=2, key=log.signer.private_key)
    response = post(witness, forked.body(6, 6))
    assert response.status_code == 409
    assert response.headers["content-type"] != SIZE_MEDIA_TYPE
    assert witness.store.recorded(ORIGIN).root == root(log.tree, 6)
    assert len(witness.store.refused(ORIGIN)) == 1


def test_refusals_without_a_valid_signature_are_not_kept(witness, log):
    post(witness, FakeLog(ORIGIN).body(0, 3))  # 403: anyone could send this
    post(witness, log.body(0, 5, proof=[bytes(32)]))  # 422, but no history contradicted
    assert witness.store.refused(ORIGIN) == []


# --------------------------------------------------------------------------- 422


def test_a_proof_that_does_not_verify_gets_422(witness, log):
    post(witness, log.body(0, 5))
    proof = log.proof(5, 12)
    proof[0] = bytes(32)
    assert post(witness, log.body(5, 12, proof=proof)).status_code == 422
    assert witness.store.recorded(ORIGIN).size == 5


def test_a_proof_from_size_zero_must_be_empty(witness, log):
    assert post(witness, log.body(0, 5, proof=[bytes(32)])).status_code == 422


def test_a_forked_log_is_refused_and_the_witness_keeps_its_view(witness, log):
    """The operator rewrites entry 3 and signs the longer, forked tree with the real key: the
    witness has no proof linking it to what it saw, and never cosigns it."""
    post(witness, log.body(0, 6))
    forked = FakeLog(ORIGIN, fork_at=3, key=log.signer.private_key)
    forked.grow(10)
    # the forked log's own proof from 6 does not link to the root the witness recorded
    fork = forked.body(6, 10)
    assert post(witness, fork).status_code == 422
    assert witness.store.recorded(ORIGIN).size == 6
    # the witness keeps the log's signature on the other history as evidence
    assert witness.store.refused(ORIGIN) == [(fork.decode(), "the consistency proof from 6 to "
                                                            "10 does not verify")]
    assert post(witness, log.body(6, 10)).status_code == 200  # the honest log goes on


def test_get_on_add_checkpoint_is_not_allowed(witness):
    assert witness.get("/add-checkpoint").status_code == 405


# ------------------------------------------------------------ concurrent submissions


def test_a_concurrent_pair_never_rolls_the_witness_back(tmp_path, log):
    """Both requests carry the same old size (the race of the specification): one wins, the
    other is told the new size with 409, and the recorded size never goes back."""
    store = WitnessStore(tmp_path / "witness", WITNESS)
    store.add_log(log.vkey)
    recorded = 0
    for round_ in range(12):
        small, large = recorded + 1, recorded + 4
        bodies = [log.body(recorded, small), log.body(recorded, large)]
        if round_ % 2:
            bodies.reverse()
        answers = [None, None]
        barrier = threading.Barrier(2)

        def send(i: int) -> None:
            barrier.wait()
            answers[i] = store.submit(bodies[i], 1_800_000_000 + round_)

        threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [200, 409]
        now = store.recorded(ORIGIN).size
        assert now in (small, large) and now > recorded
        loser = next(a for a in answers if a.status == 409)
        assert loser.body == f"{now}\n" and loser.media_type == SIZE_MEDIA_TYPE
        recorded = now
