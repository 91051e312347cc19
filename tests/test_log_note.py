"""Signed notes, checkpoints, and the checkpoint signer's refusal rules."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lifecycle.log.merkle import EMPTY_ROOT, MemoryNodeStore, consistency_proof, leaf_hash, root
from lifecycle.log.note import (
    LAST_CHECKPOINT_FILE,
    SIGNING_KEY_FILE,
    VKEY_FILE,
    CheckpointRefused,
    CheckpointSigner,
    NoteError,
    Signer,
    checkpoint_body,
    format_vkey,
    generate_signing_key,
    key_id,
    load_signer,
    parse_checkpoint,
    parse_vkey,
    sign_note,
    verify_checkpoint,
    verify_note,
)

from tests.conftest import FIXTURES  # noqa: E402  (../shared/fixtures)
EXAMPLE = FIXTURES / "signed-note" / "example.json"
needs_fixtures = pytest.mark.skipif(
    not EXAMPLE.is_file(),
    reason=f"signed-note example not found at {EXAMPLE} (../shared/fixtures is absent)",
)

ORIGIN = "works.example.org/log"


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


# --------------------------------------------------------------- spec example


@needs_fixtures
def test_spec_example_verifies() -> None:
    example = json.loads(EXAMPLE.read_text())
    verifier = parse_vkey(example["verifier_key"])
    assert verifier.key_id.hex() == "530d903a"
    assert verify_note(example["note"], verifier) == example["signed_text"]
    assert verify_note(example["note"], example["verifier_key"]) == example["signed_text"]


@needs_fixtures
def test_spec_example_mutated_fails() -> None:
    example = json.loads(EXAMPLE.read_text())
    note = example["note"]
    with pytest.raises(NoteError, match="bad signature"):
        verify_note(note.replace("example message", "example massage"), example["verifier_key"])
    signature_line = note.split("\n")[-2]
    encoded = signature_line.rsplit(" ", 1)[1]
    flipped = encoded[:10] + ("A" if encoded[10] != "A" else "B") + encoded[11:]
    with pytest.raises(NoteError, match="bad signature"):
        verify_note(note.replace(encoded, flipped), example["verifier_key"])


# ------------------------------------------------------------------ notes


def test_sign_verify_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    vkey = format_vkey(ORIGIN, _raw_public(key))
    note = sign_note("hello\nworld\n", ORIGIN, key)
    assert note.startswith("hello\nworld\n\n\u2014 " + ORIGIN + " ")
    assert verify_note(note, vkey) == "hello\nworld\n"
    assert parse_vkey(vkey).key_id == key_id(ORIGIN, _raw_public(key))


def test_signature_by_another_key_is_not_accepted() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign_note(checkpoint_body(ORIGIN, 3, b"\x11" * 32), ORIGIN, theirs)
    with pytest.raises(NoteError, match="no signature by"):
        verify_checkpoint(note, format_vkey(ORIGIN, _raw_public(ours)))


def test_cosignature_by_unknown_key_is_ignored() -> None:
    key = Ed25519PrivateKey.generate()
    note = sign_note("body\n", ORIGIN, key)
    extra = sign_note("body\n", "witness.example", Ed25519PrivateKey.generate())
    cosigned = note + extra.split("\n\n", 1)[1]
    assert verify_note(cosigned, format_vkey(ORIGIN, _raw_public(key))) == "body\n"


@pytest.mark.parametrize(
    "note",
    [
        "no signature block\n",
        "body\n\n- works.example.org/log AAAA\n",
        "body\n\n\u2014 works.example.org/log not*base64\n",
        "body\n\n\u2014 works.example.org/log AAAA\n",  # too short to hold a key id
        "body\n\n\u2014 works.example.org/log AAAAAAAAAAAA",  # no final newline
        "body\x07\n\n\u2014 works.example.org/log AAAAAAAAAAAA\n",
    ],
)
def test_malformed_notes(note: str) -> None:
    vkey = format_vkey(ORIGIN, _raw_public(Ed25519PrivateKey.generate()))
    with pytest.raises(NoteError, match="malformed"):
        verify_note(note, vkey)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no+plus", "verifier key must be"),
        ("a+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "hex"),
        ("example.com/foo+530d903a+AmtleQ==", "not an Ed25519 key"),
        ("example.com/foo+530d903a+!!", "base64"),
    ],
)
def test_parse_vkey_errors(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_vkey(text)


def test_sign_note_requires_final_newline() -> None:
    with pytest.raises(NoteError, match="newline"):
        sign_note("no newline", ORIGIN, Ed25519PrivateKey.generate())


# ------------------------------------------------------------ checkpoints


def test_checkpoint_body_round_trip() -> None:
    body = checkpoint_body(ORIGIN, 42, b"\xab" * 32)
    assert body == f"{ORIGIN}\n42\n{'q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s='}\n"
    assert parse_checkpoint(body) == (ORIGIN, 42, b"\xab" * 32)


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n42\n",
        f"{ORIGIN}\n042\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
        f"{ORIGIN}\n-1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
        f"{ORIGIN}\n42\nq6ur\n",
        f"{ORIGIN}\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
    ],
)
def test_parse_checkpoint_rejects(body: str) -> None:
    with pytest.raises(NoteError, match="malformed checkpoint"):
        parse_checkpoint(body)


# ------------------------------------------------------------- key files


def test_generate_and_load_key(tmp_path: Path) -> None:
    signer = generate_signing_key(tmp_path, ORIGIN)
    mode = stat.S_IMODE(os.stat(tmp_path / SIGNING_KEY_FILE).st_mode)
    assert mode == 0o600
    vkey = (tmp_path / VKEY_FILE).read_text().strip()
    assert vkey == signer.verifier.text()
    loaded = load_signer(tmp_path)
    assert loaded.origin == ORIGIN and loaded.public_key == signer.public_key
    with pytest.raises(FileExistsError):
        generate_signing_key(tmp_path, ORIGIN)


# ------------------------------------------------------ checkpoint signer


@pytest.fixture()
def tree() -> MemoryNodeStore:
    store = MemoryNodeStore()
    for i in range(20):
        store.append(leaf_hash(f"entry {i}".encode()))
    return store


@pytest.fixture()
def signer(tmp_path: Path) -> CheckpointSigner:
    generate_signing_key(tmp_path, ORIGIN)
    return CheckpointSigner(tmp_path, ORIGIN)


def _proofs(store: MemoryNodeStore):
    return lambda first, second: consistency_proof(store, first, second)


def test_signer_signs_and_remembers(signer: CheckpointSigner, tree: MemoryNodeStore) -> None:
    assert signer.last_signed() is None
    note = signer.sign(10, root(tree, 10), _proofs(tree))
    assert verify_checkpoint(note, signer.vkey) == (ORIGIN, 10, root(tree, 10))
    last = signer.last_signed()
    assert (last.size, last.root, last.note) == (10, root(tree, 10), note)
    assert (signer.data_dir / LAST_CHECKPOINT_FILE).read_text() == note


def test_signer_accepts_consistent_growth(signer: CheckpointSigner, tree) -> None:
    signer.sign(0, EMPTY_ROOT, _proofs(tree))
    signer.sign(7, root(tree, 7), _proofs(tree))
    signer.sign(7, root(tree, 7), _proofs(tree))  # same checkpoint again is fine
    signer.sign(20, root(tree, 20), _proofs(tree))
    assert signer.last_signed().size == 20


def test_signer_refuses_smaller(signer: CheckpointSigner, tree) -> None:
    signer.sign(12, root(tree, 12), _proofs(tree))
    with pytest.raises(CheckpointRefused, match="smaller"):
        signer.sign(11, root(tree, 11), _proofs(tree))
    assert signer.last_signed().size == 12


def test_signer_refuses_other_root_at_same_size(signer: CheckpointSigner, tree) -> None:
    signer.sign(12, root(tree, 12), _proofs(tree))
    with pytest.raises(CheckpointRefused, match="another root"):
        signer.sign(12, root(tree, 11), _proofs(tree))


def test_signer_refuses_fork(signer: CheckpointSigner, tree) -> None:
    signer.sign(12, root(tree, 12), _proofs(tree))
    forked = MemoryNodeStore()
    for i in range(20):
        text = f"entry {i}" if i != 5 else "rewritten entry 5"
        forked.append(leaf_hash(text.encode()))
    with pytest.raises(CheckpointRefused, match="not consistent"):
        signer.sign(20, root(forked, 20), _proofs(forked))
    assert signer.last_signed().size == 12
    signer.sign(20, root(tree, 20), _proofs(tree))


def test_signer_detects_tampered_state_file(signer: CheckpointSigner, tree) -> None:
    signer.sign(12, root(tree, 12), _proofs(tree))
    path = signer.data_dir / LAST_CHECKPOINT_FILE
    path.write_text(path.read_text().replace("\n12\n", "\n3\n"))
    with pytest.raises(NoteError):
        signer.last_signed()


def test_signer_refuses_wrong_origin(tmp_path: Path) -> None:
    generate_signing_key(tmp_path, ORIGIN)
    with pytest.raises(NoteError, match="origin"):
        CheckpointSigner(tmp_path, "other.example/log")


# ------------------------------------------------------------ cosignatures (tlog-cosignature)


def test_cosignature_v1_line_layout_and_verification() -> None:
    from lifecycle.log.note import ALG_COSIGNATURE_V1, Cosigner, key_id, parse_cosigner_vkey

    cosigner = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    body = checkpoint_body(ORIGIN, 7, bytes(range(32)))
    cosignature = cosigner.cosign(body, 1679315147)
    name, encoded = cosignature.line.removeprefix("\u2014 ").split(" ")
    blob = base64.b64decode(encoded)
    public = cosigner.verifier.public_key
    assert name == "witness.example/w1" and len(blob) == 4 + 8 + 64
    assert blob[:4] == key_id("witness.example/w1", public, ALG_COSIGNATURE_V1)
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    # the signed message is the header, the time line and the body (tlog-cosignature)
    Ed25519PublicKey.from_public_bytes(public).verify(
        blob[12:], b"cosignature/v1\ntime 1679315147\n" + body.encode())
    verifier = parse_cosigner_vkey(cosigner.verifier.text())
    note = f"{body}\n\u2014 {ORIGIN} {base64.b64encode(b'1234' + bytes(64)).decode()}\n"
    found = verifier.find(note + cosignature.line + "\n")
    assert found is not None and found.timestamp == 1679315147
    assert verifier.find(note) is None


def test_witness_and_log_keys_are_not_interchangeable() -> None:
    from lifecycle.log.note import Cosigner, parse_cosigner_vkey

    log_key = Signer(ORIGIN, Ed25519PrivateKey.generate()).verifier.text()
    with pytest.raises(NoteError, match="cosignature/v1"):
        parse_cosigner_vkey(log_key)
    witness_key = Cosigner("w.example/w", Ed25519PrivateKey.generate()).verifier.text()
    with pytest.raises(NoteError, match="Ed25519"):
        parse_vkey(witness_key)


def test_add_signature_lines_appends_each_line_once() -> None:
    from lifecycle.log.note import add_signature_lines, note_signatures

    signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
    note = signer.sign(checkpoint_body(ORIGIN, 1, bytes(32)))
    line = f"\u2014 w.example/w {base64.b64encode(bytes(76)).decode()}"
    once = add_signature_lines(note, [line, line])
    assert add_signature_lines(once, [line]) == once
    assert len(note_signatures(once)[1]) == 2
    with pytest.raises(NoteError):
        add_signature_lines(note, ["not a signature line"])
