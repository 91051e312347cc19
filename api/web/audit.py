"""The auditors' page: the latest signed checkpoint, the log's size and root, the export bundle
to download, and a form that verifies an uploaded bundle with the offline verifier.

The export and verify code lives in lifecycle.audit (export_bundle, verify_bundle); it is
imported when used, so the rest of the site does not depend on it."""

from __future__ import annotations

import lzma
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, Response

from api.web.forms import handle, text
from api.web.render import Page, lifecycle_of
from lifecycle import ledger
from lifecycle.errors import LifecycleError
from lifecycle.log.note import VKEY_FILE

router = APIRouter()
# The verify form is anonymous: whatever anyone uploads is unpacked on this server, so every
# cost is bounded. Logs past these sizes are verified offline (`lifecycle audit verify`).
MAX_BUNDLE_UPLOAD_BYTES = int(os.environ.get("LIFECYCLE_MAX_BUNDLE_UPLOAD_BYTES", 32 * 10**6))
MAX_UNPACKED_BYTES = int(os.environ.get("LIFECYCLE_MAX_BUNDLE_BYTES", 128 * 10**6))
MAX_BUNDLE_ENTRIES = 32
MAX_UNPACK_SECONDS = float(os.environ.get("LIFECYCLE_MAX_BUNDLE_SECONDS", 20))
MAX_CHECKPOINT_BYTES = 64 * 1024
COPY_CHUNK = 256 * 1024
VERIFY_PATH = "/audit/verify"


def audit_context(page: Page) -> dict:
    lc = lifecycle_of(page.request)
    size, root = lc.log_head()
    try:
        checkpoint, checkpoint_error = ledger.checkpoint(lc), None
    except LifecycleError as exc:
        checkpoint, checkpoint_error = None, exc.message
    vkey_path = Path(lc.data_dir) / VKEY_FILE
    return {"size": size, "root": root.hex(), "checkpoint": checkpoint,
            "checkpoint_error": checkpoint_error,
            "vkey": vkey_path.read_text().strip() if vkey_path.exists() else None,
            **witness_context(checkpoint)}


def witness_context(checkpoint: str | None) -> dict:
    """Who cosigned the checkpoint shown, by the operator's witness policy (DESIGN §4.4)."""
    from datetime import datetime, timezone

    from lifecycle.evidence.policy import PolicyError, configured_policy
    from lifecycle.evidence.witness_audit import WitnessAuditError, witness_report

    try:
        policy = configured_policy()
        report = witness_report(policy, checkpoint) if policy and checkpoint else None
    except (PolicyError, WitnessAuditError):
        report = None
    if report is None or not policy.witnesses:
        return {"witnessed": None}
    return {"witnessed": {
        "witnesses": [{"name": name, "at": None if at is None else
                       datetime.fromtimestamp(at, timezone.utc)} for name, at in report.times],
        "quorum_met": report.satisfied, "signed": len(report.signed),
        "total": len(policy.witnesses)}}


@router.get("/audit")
def audit_page(request: Request):
    page = Page(request)
    return page.render("audit.html", result=None, **audit_context(page))


@router.get("/audit/bundle.tar.gz")
def download_bundle(request: Request):
    """The export bundle of the log as it stands, packed as one .tar.gz file."""
    page = Page(request)
    try:
        from lifecycle.audit.export import export_bundle
    except ImportError:
        return page.error(503, page.gettext("The export is not available on this server yet."))
    workdir = Path(tempfile.mkdtemp(prefix="lifecycle-export-"))
    try:
        folder = workdir / "lifecycle-log"
        size = export_bundle(lifecycle_of(request), folder, ask_witnesses=False).size
        archive = workdir / "bundle.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(archive, media_type="application/gzip",
                        filename=f"lifecycle-log-{size}.tar.gz",
                        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True))


class BundleFault(Enum):
    """Why an uploaded bundle was not verified; the page says each in the reader's words."""

    NOT_AN_ARCHIVE = "not_an_archive"
    CORRUPT = "corrupt"
    TOO_LARGE = "too_large"
    TOO_MANY_ENTRIES = "too_many_entries"
    TOO_SLOW = "too_slow"
    NOT_ONE_BUNDLE = "not_one_bundle"
    NOT_A_FILE = "not_a_file"


class BundleError(ValueError):
    def __init__(self, fault: BundleFault, detail: str = ""):
        super().__init__(detail or fault.value)
        self.fault = fault


@dataclass
class Unpacking:
    """The budget of one unpacking: bytes written, archive entries seen, time spent."""

    started: float = field(default_factory=time.monotonic)
    written: int = 0
    entries: int = 0

    def entry(self) -> None:
        self.entries += 1
        if self.entries > MAX_BUNDLE_ENTRIES:
            raise BundleError(BundleFault.TOO_MANY_ENTRIES)

    def copy(self, source: BinaryIO, target: Path) -> None:
        """Stream one member to disk, stopping at the first byte over the budget: an
        archive's own size fields can lie, so the bytes are counted as they come."""
        with open(target, "wb") as out:
            while True:
                chunk = source.read(COPY_CHUNK)
                if not chunk:
                    return
                self.written += len(chunk)
                if self.written > MAX_UNPACKED_BYTES:
                    raise BundleError(BundleFault.TOO_LARGE)
                if time.monotonic() - self.started > MAX_UNPACK_SECONDS:
                    raise BundleError(BundleFault.TOO_SLOW)
                out.write(chunk)


# What a corrupt archive raises while it is read: a bad CRC or header (BadZipFile, TarError),
# an unknown or unsupported compression method (NotImplementedError), an encrypted member
# (RuntimeError), a truncated stream (EOFError) or broken compressed data (zlib, lzma, bz2).
CORRUPT_ARCHIVE = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError,
                   NotImplementedError, RuntimeError, EOFError, zlib.error, lzma.LZMAError,
                   OSError, ValueError, UnicodeError)


def _members(upload: UploadFile):
    """(name, is_file, stream) of each archive member, read as a stream from the upload: a
    .zip through its central directory, a .tar.gz (or .tar.bz2, .tar.xz) front to back."""
    upload.file.seek(0)
    if zipfile.is_zipfile(upload.file):
        upload.file.seek(0)
        with zipfile.ZipFile(upload.file) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_BUNDLE_ENTRIES:
                raise BundleError(BundleFault.TOO_MANY_ENTRIES)
            for info in infos:
                if info.is_dir():
                    yield info.filename, False, None
                    continue
                with archive.open(info) as stream:
                    yield info.filename, True, stream
        return
    upload.file.seek(0)
    try:
        archive = tarfile.open(fileobj=upload.file, mode="r|*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(BundleFault.NOT_AN_ARCHIVE, str(exc)) from exc
    with archive:
        for member in archive:
            if member.isdir():
                yield member.name, False, None
            elif not member.isreg():  # links and devices have no place in a bundle
                yield member.name, False, False
            else:
                yield member.name, True, archive.extractfile(member)


def unpack(upload: UploadFile, into: Path) -> Path:
    """Take the bundle out of a .tar.gz or .zip: only its own four files, streamed
    to disk within the budget (bytes, entries, time); names inside the archive never become
    paths here. Returns the folder that holds entries.jsonl."""
    from lifecycle.audit.verify import CHECKPOINT_FILE, ENTRIES_FILE, MANIFEST_FILE
    from lifecycle.audit.verify import VKEY_FILE as BUNDLE_VKEY_FILE

    bundle_names = {ENTRIES_FILE, CHECKPOINT_FILE, BUNDLE_VKEY_FILE, MANIFEST_FILE}
    budget = Unpacking()
    folders: dict[str, Path] = {}
    try:
        for name, is_file, stream in _members(upload):
            budget.entry()
            parent, _, base = name.rstrip("/").rpartition("/")
            if base not in bundle_names or stream is None:
                continue
            if stream is False or not is_file:
                raise BundleError(BundleFault.NOT_A_FILE, name)
            folder = folders.setdefault(parent, into / f"bundle-{len(folders)}")
            folder.mkdir(parents=True, exist_ok=True)
            if (folder / base).exists():
                raise BundleError(BundleFault.NOT_ONE_BUNDLE, name)
            budget.copy(stream, folder / base)
    except BundleError:
        raise
    except CORRUPT_ARCHIVE as exc:
        raise BundleError(BundleFault.CORRUPT, f"{type(exc).__name__}: {exc}") from exc
    candidates = [f for f in folders.values() if (f / ENTRIES_FILE).is_file()]
    if len(candidates) != 1:
        raise BundleError(BundleFault.NOT_ONE_BUNDLE)
    return candidates[0]


def bundle_problem(page: Page, exc: BundleError) -> str:
    _ = page.gettext
    words = {
        BundleFault.NOT_AN_ARCHIVE: _("the file is not a .tar.gz or .zip archive."),
        BundleFault.CORRUPT: _("the archive is damaged (a wrong checksum, an unknown "
                               "compression method or a cut-off file): download the bundle "
                               "again."),
        BundleFault.TOO_LARGE: _("the archive unpacks to more than %(num)s MB: verify a log "
                                 "this large offline with lifecycle audit verify.")
                               % {"num": MAX_UNPACKED_BYTES // 10**6},
        BundleFault.TOO_MANY_ENTRIES: _("the archive holds more than %(num)s entries; an export "
                                        "bundle holds four files.")
                                      % {"num": MAX_BUNDLE_ENTRIES},
        BundleFault.TOO_SLOW: _("unpacking the archive took too long: verify it offline with "
                                "lifecycle audit verify."),
        BundleFault.NOT_ONE_BUNDLE: _("the archive must hold one bundle folder with "
                                      "entries.jsonl."),
        BundleFault.NOT_A_FILE: _("a bundle file in the archive is a link or a device, not a "
                                  "file."),
    }
    return "bundle: " + words[exc.fault]


def describe_result(result) -> dict:
    """The verifier's VerifyResult as the page shows it."""
    return {"ok": result.ok, "size": result.size, "root": result.root,
            "problem": result.problem, "origin": result.origin, "key_id": result.key_id,
            "older_size": result.older_size}


@router.post("/audit/verify")
async def verify_upload(request: Request):
    return await handle(request, _verify, login=False)


def _verify(page: Page, form: FormData) -> Response:
    _ = page.gettext
    upload = form.get("bundle")
    result = None
    status_code = 200
    if not isinstance(upload, UploadFile) or not upload.filename:
        result, status_code = {"ok": False, "problem": "bundle: " + _("choose a file")}, 422
    else:
        try:
            from lifecycle.audit.verify import verify_bundle
        except ImportError:
            return page.error(503, _("The verifier is not available on this server yet."))
        with tempfile.TemporaryDirectory(prefix="lifecycle-verify-") as tmp:
            workdir = Path(tmp)
            try:
                folder = unpack(upload, workdir / "bundle")
            except BundleError as exc:
                result, status_code = {"ok": False, "problem": bundle_problem(page, exc)}, 422
            else:
                older = form.get("checkpoint")
                checkpoint = None
                if isinstance(older, UploadFile) and older.filename:
                    # A checkpoint is a few lines: read no more than a generous bound of it.
                    checkpoint = workdir / "older-checkpoint"
                    checkpoint.write_bytes(older.file.read(MAX_CHECKPOINT_BYTES))
                vkey = text(form, "vkey").strip() or None
                # One process: a web server's worker must not fork a pool for a visitor.
                result = describe_result(verify_bundle(folder, vkey=vkey, checkpoint=checkpoint,
                                                       workers=1))
                result["own_key"] = vkey is None
    return page.render("audit.html", status_code=status_code, result=result,
                       **audit_context(page))

