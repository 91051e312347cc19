"""A stored document as an HTTP response, for the API's and the web's download routes alike
(a module of its own, so that neither the API routes nor the web pages import the other)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import FileResponse, Response, StreamingResponse

from api.uploads import safe_media_type
from lifecycle.blobs import BlobContent


def stored_document_response(content: BlobContent, media_type: str, filename: str,
                             headers: dict[str, str] | None = None) -> Response:
    """The document as an attachment: the file itself from the data folder, or streamed chunk
    by chunk from the database. Uploaded files are untrusted: never let a browser render them
    as part of this site."""
    headers = {**(headers or {}), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "sandbox"}
    # A media type stored before uploads were checked may hold bytes no header can carry.
    media_type = safe_media_type(media_type)
    if content.path is not None:
        return FileResponse(content.path, media_type=media_type, filename=filename,
                            headers=headers)
    quoted = quote(filename)
    headers["Content-Disposition"] = f"attachment; filename*=utf-8''{quoted}" \
        if quoted != filename else f'attachment; filename="{filename}"'
    headers["Content-Length"] = str(content.size)
    return StreamingResponse(content.chunks(), media_type=media_type, headers=headers)
