"""`lifecycle audit verify`: check an export bundle offline (DESIGN §4, "Verify").

Needs only the bundle folder and the verifier key: no database, no engine state. It checks, in
this order, and stops at the first failure:

1. the checkpoint is signed by the key (`--key`, else the bundle's own `log.vkey`, with a
   warning), and so is the older checkpoint given with `--checkpoint`;
2. MANIFEST.json names this format;
3. every line of entries.jsonl: valid UTF-8 JSON within the profile (no duplicate keys, no NaN,
   no floats, integers within ±(2^53−1), NFC strings), byte-identical to its RFC 8785 encoding,
   the seven top-level keys, `seq` = its line index, `prev` = the previous line's leaf hash;
4. the number of lines equals the checkpoint's size, and the Merkle root of the lines equals the
   checkpoint's root;
5. the older checkpoint's root equals the root of the first lines (else `FORK at size N`);
6. MANIFEST.json agrees with the checkpoint.

Streaming: lines are read in chunks of CHUNK (a power of two, so every full chunk is one complete
subtree of the RFC 9162 tree); memory stays constant whatever the log's size. Large bundles are
checked by a pool of worker processes, one chunk each; the results are folded in order, so the
first problem reported is the same as a sequential walk would report.

Re-encoding: the rfc8785 package is the reference encoder. It is pure Python (about 110 µs per
entry, ten times the whole budget of the other checks), so each line first takes a fast path:
the C json decoder (refusing floats and NaN), then orjson's encoder, which emit exactly the
RFC 8785 bytes for every value of the profile except objects with keys beyond the BMP (UTF-16 versus code point order). A line is accepted on
the fast path only when it is an object or array without floats, NaN or integers of 16 digits
or more, all-BMP and NFC, and re-encodes to the same bytes; any other line goes to the strict
decoder of lifecycle.log.canonical and then rfc8785, which accepts it or says why not. The two
paths give the same verdict on every line (tests/test_audit_verify.py checks it against
rfc8785); `reference=True` (`--reference`) sends every line through rfc8785.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
import os
import re
import sys
import threading
import unicodedata
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import orjson
import rfc8785

from lifecycle.evidence.signature_audit import SignatureAudit, check_signoffs
from lifecycle.evidence import witness_audit
from lifecycle.log.canonical import CanonicalError, decode, first_difference
from lifecycle.log.merkle import (
    EMPTY_ROOT,
    StreamingRoot,
    leaf_hash,
    node_hash,
    root_from_frontier,
)
from lifecycle.log.note import NoteError, Verifier, parse_vkey, verify_checkpoint

BUNDLE_FORMAT = "lifecycle-log-bundle"
BUNDLE_VERSION = 1
ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint"
VKEY_FILE = "log.vkey"
MANIFEST_FILE = "MANIFEST.json"
HASH_NAME = "sha256"
TREE_NAME = "rfc9162"

ENTRY_KEYS = frozenset({"v", "seq", "prev", "at", "type", "actor", "data"})
ZERO_HASH = "0" * 64
CHUNK = 1 << 13  # lines per chunk: one complete subtree of 8192 leaves
MAX_LINE = 1 << 20  # no legitimate entry comes near 1 MiB; longer lines are refused unread
PARALLEL_FROM_BYTES = 8 << 20  # smaller bundles are checked in-process (no pool start-up)

_AT_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
# A JSON number of 16 digits or more may exceed 2^53-1; such lines take the strict path. A
# regular expression costs more than the rest of the fast path, so the line is first mapped to
# a skeleton (digits -> "0", number openers -> "T") in which a long number is a plain substring.
# Characters beyond the BMP are 4-byte UTF-8 sequences, which start with F0-F4: those map to
# "A" in the same skeleton.
_SKELETON = bytes(b"0"[0] if b"0"[0] <= b <= b"9"[0] else b"T"[0] if bytes([b]) in b":,[" else
                  b if b == b"-"[0] else b"A"[0] if 0xF0 <= b <= 0xF4 else b"x"[0]
                  for b in range(256))
_LONG_NUMBER = b"T" + b"0" * 16
_LONG_NEGATIVE = b"T-" + b"0" * 16
_ASTRAL = b"A"


class EntryProblem(ValueError):
    """One line of entries.jsonl is not a valid entry; the message is the reason."""


# ------------------------------------------------------------------------ one entry


def _refuse(text: str):
    raise ValueError(text)


_DECODER = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse)
# The C scanner, made once: JSONDecoder.decode wraps it in Python code that costs as much as
# the scan itself.
_scan = json.scanner.c_make_scanner(_DECODER)


def _fast_decode(text: str) -> object:
    value, end = _scan(text, 0)
    if end != len(text):
        raise ValueError("extra data")
    return value


def _reencodes(value: object, raw: bytes) -> bool:
    """orjson re-encodes five times faster than the standard library and emits the RFC 8785
    bytes for every value that reaches this check (tests/test_audit_verify.py compares its
    verdicts with rfc8785's)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == raw


def canonical_value(raw: bytes, *, reference: bool = False) -> object:
    """The value `raw` encodes, if `raw` is exactly its RFC 8785 encoding; else EntryProblem."""
    if not reference:
        try:
            value = _fast_value(raw)
        except (ValueError, TypeError, StopIteration, RecursionError):
            value = None  # the strict path below says what is wrong
        if value is not None:
            return value
    return _reference_value(raw)


def _fast_value(raw: bytes):
    """The value of `raw` if the C encoder proves it canonical, else None (undecided)."""
    text = raw.decode("utf-8")
    value = _fast_decode(text)
    # A bare scalar (never an entry) has no number opener before it: strict path.
    if type(value) in (dict, list) and _reencodes(value, raw):
        skeleton = raw.translate(_SKELETON)
        if _LONG_NUMBER not in skeleton and _LONG_NEGATIVE not in skeleton and (
                text.isascii() or (_ASTRAL not in skeleton
                                   and unicodedata.is_normalized("NFC", text))):
            return value
    return None


def _reference_value(raw: bytes) -> object:
    try:
        value = decode(raw)  # no duplicate keys, NaN, floats, big integers; NFC strings
    except CanonicalError as exc:
        raise EntryProblem(str(exc)) from None
    except RecursionError:
        raise EntryProblem("invalid JSON: nested too deeply") from None
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise EntryProblem(f"cannot be encoded with RFC 8785: {exc}") from None
    if expected != raw:
        raise EntryProblem(f"not canonical (RFC 8785): {first_difference(raw, expected)}")
    return value


def check_size_and_root(count: int, size: int, frontier: list[bytes],
                        signed_root: bytes) -> bytes:
    """The bundle's entry count and root against the checkpoint's; returns the root."""
    if count < size:
        raise _Failed(f"entry {count}: missing: the checkpoint signs {size} entries, the bundle "
                      f"has {count}")
    if count > size:
        raise _Failed(f"entry {size}: not covered by the checkpoint, which signs {size} entries "
                      f"(the bundle has {count})")
    computed = root_from_frontier(frontier)
    if computed != signed_root:
        raise _Failed(f"root: the {count} entries hash to {computed.hex()}, the checkpoint "
                      f"signs {signed_root.hex()} (the last entry, or the whole chain from "
                      "some entry on, was rewritten)")
    return computed


def check_entry(raw: bytes, seq: int, prev: str | None, *, reference: bool = False
                ) -> tuple[dict, bytes]:
    """Check line `seq` of a log: canonical, well formed, in place. Returns (entry, leaf hash).

    `prev` is the hex leaf hash of entry seq-1 (64 zeros for entry 0), or None to leave the
    link to the caller (a chunk does not know the hash that precedes it)."""
    entry = canonical_value(raw, reference=reference)
    if type(entry) is not dict:
        raise EntryProblem("is not a JSON object")
    if len(entry) != 7 or entry.keys() != ENTRY_KEYS:
        extra = sorted(entry.keys() - ENTRY_KEYS)
        missing = sorted(ENTRY_KEYS - entry.keys())
        raise EntryProblem("top-level keys must be exactly v, seq, prev, at, type, actor, data"
                           + (f"; unexpected {', '.join(extra)}" if extra else "")
                           + (f"; missing {', '.join(missing)}" if missing else ""))
    if type(entry["v"]) is not int or entry["v"] != 1:
        raise EntryProblem(f"v is {entry['v']!r}, this verifier reads version 1")
    if type(entry["seq"]) is not int or entry["seq"] != seq:
        raise EntryProblem(f"seq is {entry['seq']!r}, expected {seq} (its line number)")
    if prev is not None and entry["prev"] != prev:
        raise EntryProblem(prev_reason(seq))
    if type(entry["at"]) is not str or not _AT_SHAPE.fullmatch(entry["at"]):
        raise EntryProblem(f"at {entry['at']!r} is not a time YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if type(entry["type"]) is not str or type(entry["actor"]) is not dict or \
            type(entry["data"]) is not dict:
        raise EntryProblem("type must be a string, actor and data objects")
    return entry, leaf_hash(raw)


def prev_reason(seq: int) -> str:
    if seq == 0:
        return "prev must be 64 zeros in the first entry"
    return (f"prev does not match the hash of entry {seq - 1} "
            f"(entry {seq - 1} was altered, or this prev was)")


# ------------------------------------------------------------------------ one chunk


@dataclass
class ChunkResult:
    """What one chunk of lines proved. `checked` lines passed; `problem` stops at the next."""

    start: int
    checked: int = 0
    first_prev: str | None = None
    last_leaf: bytes | None = None
    frontier: list[bytes] = field(default_factory=list)  # subtree roots of the checked lines
    cut_frontier: list[bytes] | None = None  # the same after `cut` lines, if asked
    problem: tuple[int, str] | None = None
    entries: list[dict] | None = None  # the checked entries, when asked (never across processes)
    first_at: str | None = None  # times of the first and last checked entries: the log's time
    last_at: str | None = None  # never runs backwards, across chunks too


def _in_place(entry, seq: int, prev: str | None) -> bool:
    """True when a decoded line passes every shape and position check of `check_entry`."""
    try:
        return (type(entry) is dict and len(entry) == 7 and type(entry["v"]) is int
                and entry["v"] == 1 and type(entry["seq"]) is int and entry["seq"] == seq
                and (prev is None or entry["prev"] == prev) and type(entry["at"]) is str
                and _AT_SHAPE.fullmatch(entry["at"]) is not None
                and type(entry["type"]) is str and type(entry["actor"]) is dict
                and type(entry["data"]) is dict)
    except KeyError:
        return False


def check_lines(lines: list[bytes], start: int, prev: str | None, *, reference: bool = False,
                keep: bool = False, times: list[str] | None = None
                ) -> tuple[list[dict], list[bytes], str | None, tuple[int, str] | None]:
    """Check consecutive lines as entries start, start+1, …

    Returns (entries if `keep`, leaf hashes, the first line's prev, first problem). Lines that
    pass every check of `check_entry` on the fast path are handled inline (this loop is where
    verify spends its time); any other line goes through `check_entry`, which gives the reason
    or, rarely, accepts it after all."""
    entries: list[dict] = []
    leaves: list[bytes] = []
    first_prev = None
    sha256, keep_entry, add_leaf = hashlib.sha256, entries.append, leaves.append
    seq = start
    last_at = ""
    for raw in lines:
        entry = None
        if not reference:
            try:
                entry = _fast_value(raw)
            except (ValueError, TypeError, StopIteration, RecursionError):
                pass
        try:
            if not _in_place(entry, seq, prev):
                entry, _ = check_entry(raw, seq, prev, reference=reference)
        except EntryProblem as exc:
            return entries, leaves, first_prev, (seq, str(exc))
        at = entry["at"]  # fixed-width UTC times: text order is time order
        if at < last_at:
            return entries, leaves, first_prev, (
                seq, f"at {at} is earlier than entry {seq - 1}'s {last_at}: the log's time "
                     "runs backwards")
        last_at = at
        if seq == start:
            first_prev = entry["prev"]
            if times is not None:
                times.append(at)
        leaf = sha256(b"\x00" + raw).digest()
        add_leaf(leaf)
        if keep:
            keep_entry(entry)
        prev = leaf.hex()
        seq += 1
    if times is not None and last_at:
        times.append(last_at)
    return entries, leaves, first_prev, None


def frontier_of(leaves: list[bytes]) -> list[bytes]:
    """The maximal complete subtrees of these leaves (largest first), level by level: the same
    as StreamingRoot's frontier, with one comprehension per level instead of a call per leaf."""
    frontier = []
    level = leaves
    while level:
        if len(level) % 2:
            frontier.append(level[-1])
            level = level[:-1]
        level = [node_hash(left, right) for left, right in zip(level[0::2], level[1::2])]
    frontier.reverse()
    return frontier


def times_run_backwards(chunk: ChunkResult, previous_at: str | None) -> str | None:
    """The problem when a chunk's first entry is earlier than the entry before the chunk."""
    if previous_at and chunk.first_at and chunk.first_at < previous_at:
        return (f"entry {chunk.start}: at {chunk.first_at} is earlier than entry "
                f"{chunk.start - 1}'s {previous_at}: the log's time runs backwards")
    return None


def check_chunk(blob: bytes, start: int, cut: int | None = None,
                reference: bool = False, keep: bool = False) -> ChunkResult:
    """Check the lines of `blob` as entries start, start+1, …; fold their leaves."""
    lines = blob.split(b"\n")
    unterminated = lines.pop()  # b"" when the blob ends with a newline
    times: list[str] = []  # the first checked entry's time, and the last's when all pass
    entries, leaves, first_prev, problem = check_lines(lines, start, None, reference=reference,
                                                       keep=keep, times=times)
    if problem is None and unterminated:
        problem = (start + len(leaves), "the line does not end with a newline (truncated file?)")
    result = ChunkResult(start, len(leaves), first_prev, leaves[-1] if leaves else None,
                         frontier_of(leaves), problem=problem, entries=entries if keep else None)
    if times:
        result.first_at, result.last_at = times[0], times[-1]
    if cut is not None and cut <= len(leaves):
        result.cut_frontier = frontier_of(leaves[:cut])
    return result


def read_chunks(path: Path, chunk: int):
    """Yield (start, blob) of `chunk` lines each; a line over MAX_LINE ends the stream with
    (start, None) so memory stays bounded even on hostile input."""
    with open(path, "rb") as handle:
        start = 0
        readline = handle.readline
        while True:
            lines = []
            for _ in range(chunk):
                line = readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE:
                    if lines:
                        yield start, b"".join(lines)
                    yield start + len(lines), None
                    return
                lines.append(line)
            if not lines:
                return
            yield start, b"".join(lines)
            if len(lines) < chunk:
                return
            start += chunk


# ---------------------------------------------------------------------- the bundle


@dataclass
class VerifyResult:
    """The verdict on a bundle. `problem` is the first failure (None when ok)."""

    ok: bool
    size: int  # entries verified (the checkpoint's size when ok)
    root: str | None  # hex root of the verified entries
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    origin: str | None = None
    key_id: str | None = None
    older_size: int | None = None
    witnesses: str | None = None  # who cosigned, when a witness policy was checked (§4.4)

    @property
    def summary(self) -> str:
        if not self.ok:
            return self.problem or "failed"
        text = (f"ok: {self.size} entries, root {self.root}, checkpoint signed by "
                f"{self.origin}+{self.key_id}")
        if self.older_size is not None:
            text += f"; extends the older checkpoint at size {self.older_size}"
        if self.witnesses is not None:
            text += f"; {self.witnesses}"
        return text


class _Failed(Exception):
    pass


def _read_text(path: Path | str | None, what: str) -> str | None:
    if path is None:
        return None
    if isinstance(path, Path):
        try:
            return path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _Failed(f"{what}: cannot read {path}: {exc}") from None
    return path


def _load_key(directory: Path, vkey: Path | str | None, warnings: list[str]) -> Verifier:
    shipped = _read_text(directory / VKEY_FILE, VKEY_FILE) if (directory / VKEY_FILE).exists() \
        else None
    text = _read_text(vkey, "verifier key")
    if text is None:
        if shipped is None:
            raise _Failed(f"{VKEY_FILE}: missing, and no --key given")
        warnings.append(f"no --key given: trusting the key shipped in the bundle ({VKEY_FILE}); "
                        "compare it with the key the operator publishes")
        text = shipped
    try:
        verifier = parse_vkey(text)
    except NoteError as exc:
        raise _Failed(f"verifier key: {exc}") from None
    if vkey is not None and shipped is not None and shipped.strip() != text.strip():
        warnings.append(f"the bundle's {VKEY_FILE} is not the key given with --key")
    return verifier


def _load_checkpoint(note: str | None, verifier: Verifier, what: str) -> tuple[int, bytes]:
    if note is None:
        raise _Failed(f"{what}: missing")
    try:
        _, size, root = verify_checkpoint(note, verifier)
    except NoteError as exc:
        raise _Failed(f"{what}: {exc}") from None
    if size == 0 and root != EMPTY_ROOT:
        raise _Failed(f"{what}: size 0 with a root other than the empty tree's")
    return size, root


def _load_manifest(directory: Path) -> dict:
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise _Failed(f"{MANIFEST_FILE}: missing") from None
    except (OSError, ValueError) as exc:
        raise _Failed(f"{MANIFEST_FILE}: not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise _Failed(f"{MANIFEST_FILE}: not a {BUNDLE_FORMAT} bundle")
    if manifest.get("version") != BUNDLE_VERSION:
        raise _Failed(f"{MANIFEST_FILE}: bundle version {manifest.get('version')!r}; this "
                      f"verifier reads version {BUNDLE_VERSION}")
    if manifest.get("hash") != HASH_NAME or manifest.get("tree") != TREE_NAME:
        raise _Failed(f"{MANIFEST_FILE}: hash {manifest.get('hash')!r} and tree "
                      f"{manifest.get('tree')!r}; this verifier checks {HASH_NAME} and "
                      f"{TREE_NAME}")
    return manifest


def _check_manifest(manifest: dict, origin: str, size: int, root: bytes) -> None:
    for name, expected in (("origin", origin), ("size", size), ("root", root.hex())):
        if manifest.get(name) != expected:
            raise _Failed(f"{MANIFEST_FILE}: {name} is {manifest.get(name)!r}, the signed "
                          f"checkpoint says {expected!r}")


def _default_workers(entries: Path) -> int:
    try:
        big = entries.stat().st_size >= PARALLEL_FROM_BYTES
    except OSError:
        big = False
    return min(os.cpu_count() or 1, 4) if big else 1


class ProgressBar:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int, label: str):
        self.bar = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(label, total=total)
            self.bar.start()

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    # Fork starts workers at once; inside a threaded program (a web server) forking is unsafe,
    # so workers are spawned there instead.
    context = get_context("fork" if threading.active_count() == 1 else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def chunk_results(path: Path, workers: int, *, cut_at: int | None = None,
                  reference: bool = False, keep: bool = False,
                  pool: ProcessPoolExecutor | None = None):
    """(start, blob, ChunkResult) in order; a line over MAX_LINE ends them with (start, None,
    None). With workers > 1 the chunks are checked by a pool of processes (`pool`, else one of
    its own), a bounded window ahead of the caller; `keep` (the checked entries) applies only
    in-process."""
    chunk_size = CHUNK  # read at run time, so tests can make chunks small

    def cut_for(start: int) -> int | None:
        if cut_at is not None and start < cut_at <= start + chunk_size:
            return cut_at - start
        return None

    chunks = read_chunks(path, chunk_size)
    if workers <= 1:
        for start, blob in chunks:
            yield start, blob, None if blob is None else check_chunk(
                blob, start, cut_for(start), reference, keep)
        return
    if pool is None:
        with worker_pool(workers) as own:
            yield from _pooled_chunks(chunks, own, workers, cut_for, reference)
        return
    yield from _pooled_chunks(chunks, pool, workers, cut_for, reference)


def _pooled_chunks(chunks, pool, workers, cut_for, reference):
    pending: deque = deque()
    try:
        for start, blob in chunks:
            job = None if blob is None else pool.submit(
                check_chunk, blob, start, cut_for(start), reference)
            pending.append((start, blob, job))
            if blob is None:
                break
            # A bounded window of chunks in flight keeps memory constant.
            while len(pending) >= 2 * workers:
                yield _take(pending.popleft())
        while pending:
            yield _take(pending.popleft())
    finally:
        for _, _, job in pending:
            if job is not None:
                job.cancel()


class _SignatureJobs:
    """Deferred member-signature checks (SignatureAudit(defer=True)) run by the worker pool,
    in batches, a bounded window ahead; `first_problem` waits for them in log order, so the
    problem reported is the one a sequential walk reports first."""

    BATCH = 512  # sign-offs per job: about 50 ms of Ed25519 checks

    def __init__(self, pool: ProcessPoolExecutor | None, origin: str, workers: int):
        self.pool, self.origin, self.window = pool, origin, 4 * max(workers, 1)
        self.pending: deque = deque()
        self.problem: tuple[int, str] | None = None

    def submit(self, jobs: list[tuple]) -> None:
        for at in range(0, len(jobs), self.BATCH):
            batch = jobs[at:at + self.BATCH]
            self.pending.append(self.pool.submit(check_signoffs, self.origin, batch)
                                if self.pool is not None else batch)
        while len(self.pending) > self.window and self.problem is None:
            self._wait_oldest()
        if self.problem is not None:
            raise _Failed(f"entry {self.problem[0]}: {self.problem[1]}")

    def _wait_oldest(self) -> None:
        job = self.pending.popleft()
        problem = job.result() if not isinstance(job, list) else check_signoffs(self.origin, job)
        if problem is not None:
            self.problem = problem
            for later in self.pending:
                if not isinstance(later, list):
                    later.cancel()
            self.pending.clear()

    def first_problem(self, remaining: list[tuple]) -> tuple[int, str] | None:
        """Every check so far, the `remaining` ones too (in this process): the first problem."""
        if self.problem is None and remaining:
            self.pending.append(remaining)
        while self.pending and self.problem is None:
            self._wait_oldest()
        return self.problem


def _take(item):
    start, blob, job = item
    return start, blob, None if job is None else job.result()


def verify_bundle(directory, vkey: Path | str | None = None,
                  checkpoint: Path | str | None = None, *, workers: int | None = None,
                  reference: bool = False, progress: bool = False,
                  policy: Path | str | None = None) -> VerifyResult:
    """Verify the export bundle in `directory`.

    `policy` is a witness policy (C2SP tlog-policy, a Path or its text) whose quorum the
    checkpoint's cosignatures must meet; without it the bundle's witnesses.policy, if any, is
    checked with a warning.

    `vkey` and `checkpoint` are either a Path to read or the text itself. Without `vkey` the
    key shipped in the bundle is used and a warning says so. `checkpoint` is an older signed
    checkpoint this log must extend. Never raises for anything in the bundle: every problem is
    the result's `problem`."""
    directory = Path(directory)
    warnings: list[str] = []
    result = VerifyResult(ok=False, size=0, root=None, warnings=warnings)
    try:
        try:
            _verify(directory, vkey, checkpoint, workers, reference, progress, result, policy)
        except (BrokenProcessPool, OSError) as exc:
            if workers == 1:
                raise
            # The machine would not run worker processes: the same checks, in this process.
            warnings[:] = [f"worker processes failed ({exc!r}); verified in one process"]
            _verify(directory, vkey, checkpoint, 1, reference, progress, result, policy)
    except _Failed as exc:
        result.problem = str(exc)
        return result
    result.ok = True
    return result


def _verify(directory: Path, vkey, checkpoint, workers, reference, progress,
            result: VerifyResult, policy=None) -> None:
    if not directory.is_dir():
        raise _Failed(f"{directory}: not a folder")
    verifier = _load_key(directory, vkey, result.warnings)
    try:
        witness_policy = witness_audit.load_audit_policy(directory, policy, result.warnings)
        if witness_policy is not None:
            witness_audit.check_log_key(witness_policy, verifier)
    except witness_audit.WitnessAuditError as exc:
        raise _Failed(str(exc)) from None
    result.origin, result.key_id = verifier.origin, verifier.key_id.hex()
    size, signed_root = _load_checkpoint(
        _read_text(directory / CHECKPOINT_FILE, CHECKPOINT_FILE)
        if (directory / CHECKPOINT_FILE).exists() else None, verifier, "checkpoint")
    older = None
    if checkpoint is not None:
        older = _load_checkpoint(_read_text(checkpoint, "older checkpoint"), verifier,
                                 "older checkpoint")
        if older[0] > size:
            raise _Failed(f"older checkpoint: size {older[0]} is larger than this bundle's "
                          f"checkpoint ({size}): the log was truncated or rolled back")
    manifest = _load_manifest(directory)
    entries = directory / ENTRIES_FILE
    if not entries.is_file():
        raise _Failed(f"{ENTRIES_FILE}: missing")

    count, prev, chunk_tree = 0, ZERO_HASH, StreamingRoot()
    last_at: str | None = None
    tail: list[bytes] = []
    older_frontier = [] if older is not None and older[0] == 0 else None
    cut_at = older[0] if older is not None and older[0] > 0 else None
    bar = ProgressBar(progress, size, "verifying entries")
    workers = workers or _default_workers(entries)
    # Member signatures (§4.3): the keys, dossiers and open proposals are followed here, in
    # log order; with worker processes the Ed25519 (or passkey) checks themselves run there.
    pool = worker_pool(workers) if workers > 1 else None
    signatures = SignatureAudit(verifier.origin, defer=pool is not None)
    signature_jobs = _SignatureJobs(pool, verifier.origin, workers)
    try:
        chunk_size = CHUNK
        for start, blob, chunk in chunk_results(entries, workers, cut_at=cut_at,
                                                reference=reference, pool=pool):
            if chunk is None:
                raise _Failed(f"entry {start}: the line is longer than {MAX_LINE} bytes")
            if chunk.first_prev is not None and chunk.first_prev != prev:
                raise _Failed(f"entry {chunk.start}: {prev_reason(chunk.start)}")
            backwards = times_run_backwards(chunk, last_at)
            if backwards:
                raise _Failed(backwards)
            last_at = chunk.last_at or last_at
            signature_problem = signatures.check_blob(blob, start, chunk.checked)
            if signature_problem is not None:
                raise _Failed(f"entry {signature_problem[0]}: {signature_problem[1]}")
            signature_jobs.submit(signatures.take_jobs())
            if chunk.problem:
                raise _Failed(f"entry {chunk.problem[0]}: {chunk.problem[1]}")
            before = list(chunk_tree.frontier)
            if chunk.checked == chunk_size:
                chunk_tree.add(chunk.frontier[0])
            else:
                tail = chunk.frontier
            if chunk.cut_frontier is not None:
                # Subtrees of the full chunks, then the cut chunk's own: together the RFC
                # decomposition of the first `cut_at` leaves (a whole chunk merges upwards).
                older_frontier = (list(chunk_tree.frontier) if cut_at - chunk.start == chunk_size
                                  else before + chunk.cut_frontier)
            count += chunk.checked
            prev = chunk.last_leaf.hex() if chunk.last_leaf else prev
            bar.advance(chunk.checked)
        problem = signature_jobs.first_problem(signatures.take_jobs())
        if problem is not None:
            raise _Failed(f"entry {problem[0]}: {problem[1]}")
    except _Failed:
        # A sign-off checked later but made earlier than this problem is the one to report.
        earlier = signature_jobs.first_problem(signatures.take_jobs())
        if earlier is not None:
            raise _Failed(f"entry {earlier[0]}: {earlier[1]}") from None
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    result.size = count
    result.root = check_size_and_root(count, size, chunk_tree.frontier + tail, signed_root).hex()
    if older is not None:
        older_size, older_root = older
        older_computed = root_from_frontier(older_frontier or [])
        if older_computed != older_root:
            raise _Failed(f"FORK at size {older_size}: the first {older_size} entries hash to "
                          f"{older_computed.hex()}, the older checkpoint signs "
                          f"{older_root.hex()}")
        result.older_size = older_size
    _check_manifest(manifest, verifier.origin, size, signed_root)
    if witness_policy is not None:
        older_note = (_read_text(checkpoint, "older checkpoint"), older[0]) if older else None
        _check_witnesses(witness_policy, _read_text(directory / CHECKPOINT_FILE, CHECKPOINT_FILE),
                         entries, size, result, older_note)


def _check_witnesses(policy, note: str, entries: Path, size: int, result: VerifyResult,
                     older: tuple[str, int] | None) -> None:
    """The quorum of the witness policy, and entries' times bounded by the first cosignature
    of each cosigned checkpoint that covers them (lifecycle.evidence.witness_audit)."""
    try:
        report = witness_audit.witness_report(policy, note)
        witness_audit.require_quorum(report)
        bounds = [(size, *report.first)] if report.first else []
        if older is not None:  # an older checkpoint's cosignatures bound its entries earlier
            older_report = witness_audit.witness_report(policy, older[0])
            bounds += [(older[1], *older_report.first)] if older_report.first else []
    except witness_audit.WitnessAuditError as exc:
        raise _Failed(str(exc)) from None
    result.witnesses = report.summary
    late = witness_audit.late_entry(entries, bounds)
    if late is not None:
        raise _Failed(late)
