"""`lifecycle audit export DIR`: write the log as an export bundle (DESIGN §4).

The bundle holds the exact bytes of entries 0 … N-1, a checkpoint signed at exactly N, the
verifier key and a manifest. N is fixed first: the export asks the ledger for a checkpoint of
the log as committed now (signing one if the log grew since the last checkpoint; the signer
refuses a log that does not extend what it signed before), then streams entries 0 … N-1 in
batches. Entries appended meanwhile are simply not part of this bundle, so the export never
needs a lock and never blocks writers.

Before the bundle is made visible the streamed entries' root is compared with the signed root,
so a database whose entries no longer match what was signed never yields a bundle.

Witnesses (DESIGN §4.4): the bundle's checkpoint carries every cosignature collected for its
size, and `witnesses.policy` is the operator's policy ($LIFECYCLE_WITNESS_POLICY). When the
cosignatures collected so far do not meet the quorum, the export asks the witnesses itself
once (each bounded by its 1 s timeout) before writing the bundle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lifecycle import ledger
from lifecycle.audit.verify import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    CHECKPOINT_FILE,
    ENTRIES_FILE,
    HASH_NAME,
    MANIFEST_FILE,
    TREE_NAME,
    VKEY_FILE,
    ProgressBar,
)
from lifecycle.errors import Conflict
from lifecycle.evidence.policy import POLICY_FILE, Policy, configured_policy
from lifecycle.log.canonical import format_time
from lifecycle.log.merkle import StreamingRoot, leaf_hash
from lifecycle.log.note import VKEY_FILE as DATA_VKEY_FILE
from lifecycle.log.note import verify_checkpoint

BATCH = 5000
BUNDLE_FILES = (ENTRIES_FILE, CHECKPOINT_FILE, VKEY_FILE, MANIFEST_FILE, POLICY_FILE)


class ExportError(Conflict):
    """The export cannot produce a bundle that verifies (the folder is taken, the database
    disagrees with the signed checkpoint)."""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    size: int
    root: str  # hex
    origin: str


def manifest(origin: str, size: int, root: bytes, exported_at: str) -> dict:
    """MANIFEST.json: what the bundle is and how to check it (informative; the signed
    checkpoint is what counts, and verify checks that the two agree)."""
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "origin": origin,
        "size": size,
        "root": root.hex(),
        "hash": HASH_NAME,
        "tree": TREE_NAME,
        "leaf": "SHA-256(0x00 || entry bytes)",
        "node": "SHA-256(0x01 || left || right)",
        "encoding": "RFC 8785 (JCS), restricted: no floats, integers within ±(2^53-1), NFC",
        "signature": "C2SP signed note (tlog-checkpoint), Ed25519",
        "files": {"entries": ENTRIES_FILE, "checkpoint": CHECKPOINT_FILE, "vkey": VKEY_FILE,
                  "witness_policy": POLICY_FILE},
        "exported_at": exported_at,
    }


def write_bundle_files(directory: Path, *, origin: str, size: int, root: bytes,
                       checkpoint: str, vkey: str, exported_at: str,
                       policy_text: str | None = None) -> None:
    """The small files of a bundle, beside an entries.jsonl already in place."""
    (directory / CHECKPOINT_FILE).write_text(checkpoint, "utf-8")
    (directory / VKEY_FILE).write_text(vkey.strip() + "\n", "utf-8")
    if policy_text is not None:
        (directory / POLICY_FILE).write_text(policy_text, "utf-8")
    (directory / MANIFEST_FILE).write_text(
        json.dumps(manifest(origin, size, root, exported_at), indent=2, ensure_ascii=False)
        + "\n", "utf-8")


def witnessed_checkpoint(lc, policy: Policy | None, ask_witnesses: bool = True) -> str:
    """The note of the log as committed now with its cosignatures; when a policy is given
    and its quorum is not met yet, the witnesses are asked once first (if `ask_witnesses`)."""
    checkpoint = ledger.latest_checkpoint(lc)
    if policy is None or not policy.witnesses or not ask_witnesses:
        return checkpoint.cosigned_note
    signed = {w.name for w in policy.witnesses
              if any(vkey == w.vkey for vkey, _ in checkpoint.cosignatures)}
    if not policy.satisfied(signed):
        from lifecycle.worker import CheckpointPublisher

        publisher = CheckpointPublisher(lc, policy)
        try:
            publisher.publish_once()
        finally:
            publisher.close()
        again = ledger.signed_checkpoint_at(lc, checkpoint.size)
        if again is not None:
            checkpoint = again
    return checkpoint.cosigned_note


def _prepare(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    taken = [name for name in BUNDLE_FILES if (directory / name).exists()]
    if taken:
        raise ExportError(f"{directory} already holds a bundle ({', '.join(taken)}); "
                          "export into a new folder")


def export_bundle(lc, directory, *, progress: bool = False,
                  policy: Policy | None | bool = True, ask_witnesses: bool = True
                  ) -> ExportResult:
    """Write the bundle of the log as committed now into `directory` (new or empty).
    `policy`: the witness policy to ship and collect cosignatures for; True (the default)
    means $LIFECYCLE_WITNESS_POLICY, if set. `ask_witnesses=False` ships the cosignatures
    the worker collected so far without contacting any witness (for anonymous web
    downloads, which must not make this server send requests on their behalf)."""
    directory = Path(directory)
    _prepare(directory)
    if policy is True:
        policy = configured_policy()
    vkey = (Path(lc.data_dir) / DATA_VKEY_FILE).read_text("ascii")
    # signs the current head unless it is already signed; cosigned if witnesses answer
    note = witnessed_checkpoint(lc, policy or None, ask_witnesses)
    origin, size, signed_root = verify_checkpoint(note, vkey)

    partial = directory / f".{ENTRIES_FILE}.partial"
    tree = StreamingRoot()
    bar = ProgressBar(progress, size, "exporting entries")
    try:
        with open(partial, "wb") as out:
            after = -1
            while tree.size < size:
                batch = lc.entries(after=after, limit=min(BATCH, size - tree.size))
                if not batch:
                    raise ExportError(f"the database holds {tree.size} entries; the checkpoint "
                                      f"signs {size}")
                for raw in batch:
                    raw = bytes(raw)
                    if b"\n" in raw:
                        raise ExportError(f"entry {tree.size} contains a newline byte")
                    out.write(raw)
                    out.write(b"\n")
                    tree.add(leaf_hash(raw))
                after += len(batch)
                bar.advance(len(batch))
            out.flush()
            os.fsync(out.fileno())
        if tree.root() != signed_root:
            raise ExportError("the entries in the database do not hash to the signed root: "
                              "run `lifecycle audit check`")
        os.replace(partial, directory / ENTRIES_FILE)
    finally:
        bar.close()
        if partial.exists():
            partial.unlink()
    write_bundle_files(directory, origin=origin, size=size, root=signed_root, checkpoint=note,
                       vkey=vkey, exported_at=format_time(datetime.now(timezone.utc)),
                       policy_text=policy.text if policy else None)
    return ExportResult(directory, size, signed_root.hex(), origin)
