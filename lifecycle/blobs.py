"""The document store: content-addressed by SHA-256, one owner for writing and reading.

The bytes live in the database itself, on SQLite as on PostgreSQL: `document_blobs` (one row
per content) and `document_chunks` (1 MiB slices), so any process on any machine serves any
document. The content moves one chunk at a time: an upload is read from its spooled file in
chunks, a download is sent chunk by chunk; a document is never whole in memory.

Writes happen inside the write transaction of the entry that attaches the document (the caller
passes it): the chunks commit or roll back with that entry — one fsync for both — so a crash
leaves no half-written document, no orphan chunk and no entry naming a document that is not
there. The price: the log-head lock is held while they are written (under a second for a 50 MB
document here).

Until wave 2 SQLite kept documents as files in the data folder (`documents/<2 hex>/<sha256>`).
Such a folder is still read: a document not in the database is looked for there. Files cost a
second and third sync (file and directory) that the entry's commit did not cover — and without
them a crash could keep the entry and lose the file — besides a fifth of an attach's time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from lifecycle.db import DocumentBlob, DocumentChunk, DriverTransaction, Prepared, insert_all
from lifecycle.errors import Conflict, Invalid

CHUNK_BYTES = 1 << 20
Content = bytes | IO[bytes]


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


@dataclass(frozen=True)
class BlobContent:
    """A stored document to send: its size, and either a file (the folder store, which the
    web server can send itself) or the database chunks to stream."""

    sha256: str
    size: int
    path: Path | None
    store: "BlobStore"

    def chunks(self) -> Iterator[bytes]:
        return self.store.chunks(self.sha256)


class BlobStore(Protocol):
    def put(self, conn: DriverTransaction, content: Content, *, limit: int) -> StoredBlob:
        """Store `content` (at most `limit` bytes, not empty) inside the caller's write
        transaction; returns its SHA-256 and size. Invalid("file", …) when too big or empty."""

    def open(self, sha256: str) -> BlobContent | None:
        """The stored content of `sha256`, or None when the store does not hold it."""

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The content, one chunk at a time."""


def blob_store(engine: Engine, data_dir: Path) -> BlobStore:
    """The database; and the data folder's documents of earlier versions, where there are."""
    folder = Path(data_dir) / "documents"
    return DatabaseBlobStore(engine, earlier=FolderBlobStore(folder) if folder.is_dir() else None)


def _pieces(content: Content) -> Iterator[bytes]:
    if isinstance(content, (bytes, bytearray, memoryview)):
        view = memoryview(content)
        for start in range(0, len(view), CHUNK_BYTES):
            yield bytes(view[start:start + CHUNK_BYTES])
        return
    while piece := _read_full(content, CHUNK_BYTES):
        yield piece


def _read_full(source: IO[bytes], n: int) -> bytes:
    """Exactly `n` bytes, fewer only at the end: a stream may answer a read with less, and the
    database store's chunks are all full but the last."""
    piece = source.read(n)
    if not piece or len(piece) == n:
        return piece
    parts = [piece]
    missing = n - len(piece)
    while missing and (more := source.read(missing)):
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _counted(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """The pieces, refusing the content as soon as it passes `limit` bytes."""
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > limit:
            raise Invalid("file", f"is larger than {limit} bytes")
        yield piece


def _chunk_count(size: int) -> int:
    return -(-size // CHUNK_BYTES)


def _refuse_empty(size: int) -> None:
    if size == 0:
        raise Invalid("file", "is empty")


# ----------------------------------------------------------------------------- the data folder
ABANDONED_UPLOAD_SECONDS = 3600


class FolderBlobStore:
    """Documents that earlier versions kept as files in the data folder: read only."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.sweep_abandoned_uploads()

    def sweep_abandoned_uploads(self, older_than: float = ABANDONED_UPLOAD_SECONDS) -> int:
        """Delete the temporary files of uploads whose process died mid-write (kill -9, a
        crash): an hour old, so never one another process is still writing. Returns how many."""
        try:
            names = [n for n in os.listdir(self.root) if n.startswith(".upload-")]
        except FileNotFoundError:
            return 0
        swept = 0
        cutoff = time.time() - older_than
        for name in names:
            path = self.root / name
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    swept += 1
            except FileNotFoundError:  # another process swept it first
                pass
        return swept

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def open(self, sha256: str) -> BlobContent | None:
        path = self.path(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return BlobContent(sha256, size, path, self)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        with open(self.path(sha256), "rb") as source:
            yield from iter(lambda: source.read(CHUNK_BYTES), b"")


# ----------------------------------------------------------------------------- PostgreSQL
_blobs = DocumentBlob.__table__
_chunks = DocumentChunk.__table__
_BLOB = Prepared(select(_blobs.c.size, _blobs.c.chunks)
                 .where(_blobs.c.sha256 == bindparam("sha256")))
_CHUNK = Prepared(select(_chunks.c.data).where(_chunks.c.sha256 == bindparam("sha256"),
                                               _chunks.c.idx == bindparam("idx")))
_INSERT_BLOB = insert_all(_blobs)
_INSERT_CHUNK = insert_all(_chunks)


class DatabaseBlobStore:
    def __init__(self, engine: Engine, earlier: FolderBlobStore | None = None):
        self.engine = engine
        self.earlier = earlier  # documents written as files by earlier versions (SQLite)

    def put(self, conn: DriverTransaction, content: Content, *, limit: int) -> StoredBlob:
        # The name is the hash of the whole content, and the chunks are keyed by it: a first
        # pass hashes (and finds a content already stored, which is then not written again),
        # a second writes the chunks. An upload that cannot be read twice is spooled to a
        # temporary file first.
        with _rereadable(content, limit) as source:
            start = source.tell()
            digest = hashlib.sha256()
            size = 0
            for piece in _counted(_pieces(source), limit):
                size += len(piece)
                digest.update(piece)
            _refuse_empty(size)
            sha = digest.hexdigest()
            if _BLOB.one(conn, {"sha256": sha}) is not None:
                return StoredBlob(sha, size)
            source.seek(start)
            again = hashlib.sha256()
            count = 0
            written = 0
            for count, piece in enumerate(_counted(_pieces(source), limit), start=1):
                if count == 1:  # the blob row first: the chunks refer to it
                    _INSERT_BLOB(conn, {"sha256": sha, "size": size,
                                        "chunks": _chunk_count(size)}).close()
                again.update(piece)
                written += len(piece)
                _INSERT_CHUNK(conn, {"sha256": sha, "idx": count - 1, "data": piece}).close()
            if again.hexdigest() != sha or written != size or count != _chunk_count(size):
                # The transaction rolls back with this error: nothing of it is kept.
                raise Conflict("the upload changed while it was being stored; send it again")
            return StoredBlob(sha, size)

    def open(self, sha256: str) -> BlobContent | None:
        with self.engine.connect() as read:
            row = _BLOB.one(read, {"sha256": sha256})
        if row is None:
            return self.earlier.open(sha256) if self.earlier is not None else None
        return BlobContent(sha256, row[0], None, self)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        # One short read per chunk, each on a pooled connection it gives back at once: a slow
        # client downloading a large document never holds a connection or a transaction.
        with self.engine.connect() as read:
            row = _BLOB.one(read, {"sha256": sha256})
        if row is None:
            if self.earlier is not None:
                yield from self.earlier.chunks(sha256)
            return
        for idx in range(row[1]):
            with self.engine.connect() as read:
                chunk = _CHUNK.one(read, {"sha256": sha256, "idx": idx})
            if chunk is None:
                raise LookupError(f"chunk {idx} of document {sha256} is missing")
            yield bytes(chunk[0])


class _rereadable:
    """`content` as a seekable file: bytes and seekable files as they are, anything else
    copied (at most `limit` + 1 bytes of it) to a temporary file on disk."""

    def __init__(self, content: Content, limit: int):
        self.content = content
        self.limit = limit
        self.spool: IO[bytes] | None = None

    def __enter__(self):
        content = self.content
        if isinstance(content, (bytes, bytearray, memoryview)):
            return _BytesSource(content)
        seekable = getattr(content, "seekable", None)
        if seekable is not None and seekable():
            return content
        self.spool = tempfile.TemporaryFile()
        shutil.copyfileobj(_Limited(content, self.limit + 1), self.spool, CHUNK_BYTES)
        self.spool.seek(0)
        return self.spool

    def __exit__(self, *exc) -> None:
        if self.spool is not None:
            self.spool.close()


class _BytesSource:
    """Bytes read as a file, without a copy."""

    def __init__(self, content):
        self.view = memoryview(content)
        self.at = 0

    def read(self, n: int) -> bytes:
        piece = bytes(self.view[self.at:self.at + n])
        self.at += len(piece)
        return piece

    def tell(self) -> int:
        return self.at

    def seek(self, at: int) -> None:
        self.at = at


class _Limited:
    def __init__(self, source: IO[bytes], remaining: int):
        self.source = source
        self.remaining = remaining

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        piece = self.source.read(min(n if n > 0 else self.remaining, self.remaining))
        self.remaining -= len(piece)
        return piece
