"""The log signs checkpoints under the log-head lock and keeps the last one in the database
(DESIGN §4 "Checkpoints", §7): reading the checkpoint never fails during writes, concurrent
signers (threads, processes, machines sharing one key) never sign a smaller or forked tree, and
a database or data folder restored from an older backup cannot make the log sign a roll-back."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from lifecycle import ledger
from lifecycle.bootstrap import open_lifecycle
from lifecycle.errors import Conflict
from lifecycle.log import merkle
from lifecycle.log.note import (
    LAST_CHECKPOINT_FILE,
    SIGNING_KEY_ENV,
    SIGNING_KEY_FILE,
    NoteError,
    generate_signing_key,
    load_signer,
    verify_checkpoint,
)
from lifecycle.service import SYSTEM
from tests.conftest import PG_URL, reset_postgres

WRITERS, WRITES_EACH, READERS, READS_EACH = 3, 15, 3, 25


def _append(lc, name: str) -> None:
    lc.create_user(actor=SYSTEM, username=name, role="auditor")


def _prefix_root(lc, size: int) -> bytes:
    return ledger.root_at(lc, size)


def _signed_rows(lc) -> list[tuple[int, bytes]]:
    with lc.engine.connect() as conn:
        return [(size, bytes(root)) for size, root in conn.execute(
            text("SELECT size, root FROM signed_checkpoints ORDER BY size"))]


def test_checkpoint_reads_never_fail_and_never_go_back_during_writes(lc):
    """Readers and writers at once: every read answers a checkpoint that verifies, each
    reader's sizes never decrease, and every signed root is a prefix of the final log."""
    vkey = ledger.vkey(lc)
    _append(lc, "first")  # the log-head row exists before the race (see the service)
    failures: list[BaseException] = []
    seen: dict[int, list[tuple[int, bytes]]] = {i: [] for i in range(READERS)}
    start = threading.Barrier(WRITERS + READERS)

    def writer(w: int) -> None:
        start.wait()
        try:
            for i in range(WRITES_EACH):
                _append(lc, f"w{w}x{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    def reader(r: int) -> None:
        start.wait()
        try:
            for _ in range(READS_EACH):
                _, size, root = verify_checkpoint(ledger.checkpoint(lc), vkey)
                seen[r].append((size, root))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(r,)) for r in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    final_size, _ = lc.log_head()
    assert final_size == WRITERS * WRITES_EACH + 1
    for observed in seen.values():
        sizes = [size for size, _ in observed]
        assert sizes == sorted(sizes)
        for size, root in observed:
            assert root == _prefix_root(lc, size)
    for size, root in _signed_rows(lc):
        assert root == _prefix_root(lc, size)


def _sign_in_another_process(data_dir: str, url: str | None, key_file: str, prefix: str,
                             rounds: int, out) -> None:
    import os

    os.environ[SIGNING_KEY_ENV] = key_file
    lc = open_lifecycle(Path(data_dir), url=url, migrate_schema=False)
    notes = []
    for i in range(rounds):
        lc.create_user(actor=SYSTEM, username=f"{prefix}{i}", role="auditor")
        notes.append(ledger.checkpoint(lc))
    lc.engine.dispose()
    out.put(notes)


def test_processes_sharing_a_key_and_database_sign_one_consistent_history(tmp_path, backend,
                                                                           monkeypatch):
    """Two "machines" (processes with their own data folders and one key file) writing and
    signing at once: every checkpoint either signed is a prefix of the one final log."""
    key_dir = tmp_path / "secret"
    generate_signing_key(key_dir, "lifecycle.test/log")
    key_file = key_dir / SIGNING_KEY_FILE
    monkeypatch.setenv(SIGNING_KEY_ENV, str(key_file))
    url = None
    if backend == "postgresql":
        reset_postgres(PG_URL)
        url = PG_URL
    first = open_lifecycle(tmp_path / "machine-a", url=url, origin="lifecycle.test/log")
    if url is None:  # SQLite: one database file, so both processes use machine-a's
        url = str(first.engine.url.render_as_string(False))
    open_lifecycle(tmp_path / "machine-b", url=url, origin="lifecycle.test/log").engine.dispose()
    _append(first, "first")  # the log-head row exists before the race (see the service)
    assert ledger.vkey(first) == (tmp_path / "machine-b" / "log.vkey").read_text()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=_sign_in_another_process,
                                 args=(str(tmp_path / name), url, str(key_file), name, 12, out))
                 for name in ("machine-a", "machine-b")]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    vkey = ledger.vkey(first)
    for notes in results:
        sizes = []
        for note in notes:
            _, size, root = verify_checkpoint(note, vkey)
            assert root == _prefix_root(first, size)
            sizes.append(size)
        assert sizes == sorted(sizes)
    assert first.log_head()[0] == 25
    first.engine.dispose()


def test_a_database_rolled_back_behind_a_signed_checkpoint_is_refused(lc):
    """The database keeps the last signed checkpoint: a log truncated behind it (a restore
    from an older backup, or a rewrite) is refused, even by a machine with an empty data
    folder of its own (no local record to compare with)."""
    for i in range(6):
        _append(lc, f"u{i}")
    ledger.checkpoint(lc)
    (lc.data_dir / LAST_CHECKPOINT_FILE).unlink()  # only the database remembers now
    head = ledger.latest_checkpoint(lc)
    with lc.engine.begin() as conn:  # the log "restored" to 4 entries
        conn.execute(text("DELETE FROM log_entries WHERE seq >= 4"))
        frontier = ",".join(h.hex() for h in _frontier(lc, 4))
        conn.execute(text("UPDATE log_head SET size = 4, frontier = :f"), {"f": frontier})
    with pytest.raises(Conflict, match="smaller than the last signed checkpoint"):
        ledger.checkpoint(lc)
    assert _signed_rows(lc)[-1][0] == head.size


def test_a_restored_database_is_refused_by_a_machine_that_signed_more(lc):
    """The other way round: the database's checkpoint rows restored too, but this machine's
    data folder remembers a later checkpoint, so it refuses to sign the older history."""
    for i in range(6):
        _append(lc, f"u{i}")
    ledger.checkpoint(lc)
    with lc.engine.begin() as conn:
        conn.execute(text("DELETE FROM signed_checkpoints"))
        conn.execute(text("DELETE FROM log_entries WHERE seq >= 4"))
        frontier = ",".join(h.hex() for h in _frontier(lc, 4))
        conn.execute(text("UPDATE log_head SET size = 4, frontier = :f"), {"f": frontier})
    with pytest.raises(Conflict, match="smaller"):
        ledger.checkpoint(lc)


def test_an_edited_checkpoint_row_is_never_served(lc):
    _append(lc, "u0")
    note = ledger.checkpoint(lc)
    forged = note.replace("\n1\n", "\n9\n")
    with lc.engine.begin() as conn:
        conn.execute(text("UPDATE signed_checkpoints SET note = :n"), {"n": forged})
    with pytest.raises(Conflict, match="does not verify"):
        ledger.checkpoint(lc)


def test_audit_check_finds_a_signed_checkpoint_the_log_no_longer_matches(lc):
    for i in range(5):
        _append(lc, f"u{i}")
        ledger.checkpoint(lc)
    assert ledger.signed_checkpoint_problems(lc) == []
    with lc.engine.begin() as conn:  # the history rewritten under the stored checkpoints
        conn.execute(text("UPDATE merkle_nodes SET hash = :h WHERE level = 1 AND idx = 0"),
                     {"h": bytes(32)})
    problems = ledger.signed_checkpoint_problems(lc)
    assert problems and problems[0].startswith("signed checkpoint at size 2: the log's root")


def test_checkpoint_when_already_signed_needs_no_new_row(lc):
    _append(lc, "u0")
    first = ledger.checkpoint(lc)
    assert ledger.checkpoint(lc) == first
    assert [size for size, _ in _signed_rows(lc)] == [1]


def _frontier(lc, size: int) -> list[bytes]:
    tree = merkle.StreamingRoot()
    for raw in lc.entries(after=-1, limit=size):
        tree.add(merkle.leaf_hash(bytes(raw)))
    return list(tree.frontier)


# ------------------------------------------------------------------ the key file


def test_the_signing_key_comes_from_the_named_file(tmp_path, monkeypatch):
    secret = generate_signing_key(tmp_path / "secret", "lifecycle.test/log")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(tmp_path / "secret" / SIGNING_KEY_FILE))
    machine = tmp_path / "machine"
    generate_signing_key(machine, "lifecycle.test/log")
    assert not (machine / SIGNING_KEY_FILE).exists()  # the key never lands in the folder
    assert load_signer(machine).public_key == secret.public_key
    assert (machine / "log.vkey").read_text().strip() == secret.verifier.text()


@pytest.mark.parametrize("content", [b"", b"   \n", b"not a key"])
def test_an_empty_or_broken_key_file_is_refused(tmp_path, monkeypatch, content):
    bad = tmp_path / "bad.key"
    bad.write_bytes(content)
    monkeypatch.setenv(SIGNING_KEY_ENV, str(bad))
    with pytest.raises(NoteError, match="empty|not an unencrypted PEM"):
        generate_signing_key(tmp_path / "machine", "lifecycle.test/log")
