"""What an uploaded file's multipart part says about itself, made safe at the HTTP boundary.

A part's headers come from the client byte for byte: a Mac sends file names in NFD, a broken
or hostile client sends DEL, bare line feeds or bytes that are not UTF-8. The log only takes
NFC text (RFC 8785 canonical JSON), and a media type with a control character can never be sent
back in a Content-Type header, so the document could never be downloaded. Both the API and the
web form take their file name and media type from here.
"""

from __future__ import annotations

import re
import unicodedata

from lifecycle.errors import Invalid

# C0 controls (tab and line breaks included: a file name has none), DEL and the C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
MAX_FILENAME_CHARS = 255  # what common file systems hold
FALLBACK_MEDIA_TYPE = "application/octet-stream"
# RFC 9110 §8.3.1: type "/" subtype, both tokens; parameters follow a ";".
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})\s*(?:;.*)?$")
_VISIBLE_ASCII = re.compile(r"^[\x20-\x7e\t]*$")


def has_unsafe_characters(value: str) -> bool:
    """Control characters or a lone surrogate: text the log and HTTP headers cannot carry."""
    return bool(CONTROL_CHARACTERS.search(value) or LONE_SURROGATE.search(value))


def upload_filename(raw: str | None, field: str = "file") -> str | None:
    """The file name to store: its last path component, in NFC. None when none was given.

    Refused (422 naming the field): control characters or lone surrogates, and names longer
    than MAX_FILENAME_CHARS. Browsers on some systems send the whole path; only the name is
    the user's business."""
    if raw is None:
        return None
    if has_unsafe_characters(raw):
        raise Invalid(f"{field}.filename", "must not contain control characters")
    name = unicodedata.normalize("NFC", re.split(r"[/\\]", raw)[-1]).strip()
    if len(name) > MAX_FILENAME_CHARS:
        raise Invalid(f"{field}.filename", f"is longer than {MAX_FILENAME_CHARS} characters")
    return name or None


def upload_media_type(raw: str | None, field: str = "file") -> str:
    """The media type to store: the part's `type/subtype`, lower case, without parameters;
    application/octet-stream when the part gives none or one that is not a media type.

    Refused (422 naming the field): a Content-Type with anything but visible ASCII (DEL, a
    bare line feed, NUL, bytes that are not ASCII): a client that sends those is broken, and
    storing what it meant would be a guess."""
    if raw is None or not raw.strip():
        return FALLBACK_MEDIA_TYPE
    if not _VISIBLE_ASCII.match(raw):
        raise Invalid(f"{field}.content_type",
                      "the part's Content-Type header has characters a header cannot carry")
    return safe_media_type(raw)


def safe_media_type(value: str | None) -> str:
    """`type/subtype` in lower case when `value` is a media type, else
    application/octet-stream. Used again on download, so a document stored before this check
    can still be sent."""
    found = _MEDIA_TYPE.match(value or "") if _VISIBLE_ASCII.match(value or "") else None
    if not found:
        return FALLBACK_MEDIA_TYPE
    return f"{found.group(1)}/{found.group(2)}".lower()
