"""Documents of a work: uploaded by an official, stored by SHA-256, readable by anyone."""

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from api.deps import LifecycleDep, OfficialUser
from api.document_response import stored_document_response
from api.errors import BodyTooLarge
from api.schemas import DocumentId, DocumentKind, DocumentOut, WorkId, problems
from api.uploads import upload_filename, upload_media_type
from lifecycle.errors import NotFound

router = APIRouter(prefix="/works/{work_id}/documents", tags=["documents"])


@router.post("", status_code=201, response_model=DocumentOut,
             responses=problems(403, 404, 409, 413))
def attach_document(work_id: WorkId, actor: OfficialUser, lc: LifecycleDep,
                    file: Annotated[UploadFile, File(description="The document.")],
                    kind: Annotated[DocumentKind, Form(
                        description="OCDS documentType code.", examples=["feasibilityStudy"])],
                    title: Annotated[str, Form(examples=["Estudio de factibilidad, versión 2"])]):
    """Attach a document to the work in its current stage (multipart: file, kind, title).
    Attaching makes earlier approvals of the open proposal stale."""
    if file.size is not None and file.size > lc.max_upload_bytes:
        raise BodyTooLarge(lc.max_upload_bytes)
    # The part's own headers are client bytes: an NFC name and a plain media type, or a 422.
    filename = upload_filename(file.filename) or "document"
    media_type = upload_media_type(file.content_type)
    work = lc.attach_document(actor=actor, work_id=work_id, kind=kind, title=title,
                              filename=filename, content=file.file, media_type=media_type)
    return DocumentOut.model_validate(work.documents[-1].__dict__)


@router.get("/{document_id}", response_class=FileResponse, responses={
    200: {"content": {"*/*": {}}, "description": "The document's bytes, as uploaded."},
    **problems(404)})
def download_document(work_id: WorkId, document_id: DocumentId, lc: LifecycleDep):
    document = lc.get_work(work_id).document(document_id)
    if document is None:
        raise NotFound(f"document {document_id} of work {work_id} not found")
    content = lc.blobs.open(document.sha256)
    if content is None:
        raise NotFound(f"the content of document {document_id} is missing from the store")
    return stored_document_response(content, document.media_type, document.filename,
                                    {"ETag": f'"{document.sha256}"'})

