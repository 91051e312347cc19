"""The auditors' page: the latest signed checkpoint, the log's size and root, the export bundle
to download, and a form that verifies an uploaded bundle with the offline verifier.

The export and verify code lives in lifecycle.audit (export_bundle, verify_bundle); it is
imported when used, so the rest of the site does not depend on it."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

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
# An uploaded bundle is unpacked on the server: refuse archives that would unpack to more.
MAX_UNPACKED_BYTES = int(os.environ.get("LIFECYCLE_MAX_BUNDLE_BYTES", 2 * 1024 ** 3))


class BundleError(ValueError):
    pass


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


def unpack(upload: UploadFile, into: Path) -> Path:
    """Unpack a .tar.gz or .zip bundle safely (no paths outside `into`, bounded size) and
    return the folder that holds entries.jsonl."""
    name = (upload.filename or "").lower()
    upload.file.seek(0)
    if zipfile.is_zipfile(upload.file):
        upload.file.seek(0)
        with zipfile.ZipFile(upload.file) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise BundleError("the archive is too large")
            for member in members:
                target = (into / member.filename).resolve()
                if not target.is_relative_to(into.resolve()):
                    raise BundleError(f"unsafe path in the archive: {member.filename}")
            archive.extractall(into)
    else:
        upload.file.seek(0)
        try:
            with tarfile.open(fileobj=upload.file, mode="r:*") as archive:
                members = archive.getmembers()
                if sum(m.size for m in members) > MAX_UNPACKED_BYTES:
                    raise BundleError("the archive is too large")
                archive.extractall(into, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{name or 'the file'} is not a .tar.gz or .zip archive") from exc
    candidates = [p.parent for p in into.rglob("entries.jsonl")]
    if len(candidates) != 1:
        raise BundleError("the archive must hold one bundle folder with entries.jsonl")
    return candidates[0]


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
                result, status_code = {"ok": False, "problem": f"bundle: {exc}"}, 422
            else:
                older = form.get("checkpoint")
                checkpoint = None
                if isinstance(older, UploadFile) and older.filename:
                    checkpoint = workdir / "older-checkpoint"
                    checkpoint.write_bytes(older.file.read())
                vkey = text(form, "vkey").strip() or None
                result = describe_result(verify_bundle(folder, vkey=vkey, checkpoint=checkpoint))
                result["own_key"] = vkey is None
    return page.render("audit.html", status_code=status_code, result=result,
                       **audit_context(page))

