"""Documents in the database (PostgreSQL and SQLite): chunked both ways, content-addressed,
atomic with the entry that attaches them; a data folder of an earlier version still read."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from lifecycle.blobs import CHUNK_BYTES, DatabaseBlobStore, FolderBlobStore
from lifecycle.db import DocumentBlob, DocumentChunk
from lifecycle.errors import Invalid
from tests.conftest import build_world

def _big(size: int) -> bytes:
    """Bytes that differ chunk to chunk, so a chunk stored out of place changes the hash."""
    return b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32 + 1))[:size]


def _stored(lc) -> tuple[int, int]:
    with lc.engine.connect() as conn:
        blobs = conn.execute(select(func.count()).select_from(DocumentBlob)).scalar_one()
        chunks = conn.execute(select(func.count()).select_from(DocumentChunk)).scalar_one()
    return blobs, chunks


class OneWayStream(io.RawIOBase):
    """An upload that can be read only once, front to back (a pipe, not a spooled file)."""

    def __init__(self, data: bytes):
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        return self._inner.readinto(buffer)


@pytest.mark.postgres
def test_postgresql_keeps_documents_in_chunks_in_the_database(pg_lc, clock):
    world = build_world(pg_lc, clock)
    assert isinstance(pg_lc.blobs, DatabaseBlobStore)
    content = _big(2 * CHUNK_BYTES + 12345)
    work = world.attach("feasibilityStudy", content=io.BytesIO(content))
    document = work.documents[-1]
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert not (pg_lc.data_dir / "documents").exists()
    assert _stored(pg_lc) == (1, 3)

    stored = pg_lc.blobs.open(document.sha256)
    assert stored.path is None and stored.size == len(content)
    pieces = list(stored.chunks())
    assert [len(p) for p in pieces] == [CHUNK_BYTES, CHUNK_BYTES, 12345]
    assert b"".join(pieces) == content


@pytest.mark.postgres
def test_the_same_content_is_stored_once_and_a_pipe_is_accepted(pg_lc, clock):
    world = build_world(pg_lc, clock)
    content = _big(CHUNK_BYTES + 1)
    first = world.attach("feasibilityStudy", content=content).documents[-1]
    again = world.attach("technicalSpecifications",
                         content=io.BufferedReader(OneWayStream(content))).documents[-1]
    assert first.sha256 == again.sha256
    assert _stored(pg_lc) == (1, 2)


class TrickleStream(io.BytesIO):
    """A seekable upload that answers every read with at most 1000 bytes."""

    def read(self, n: int = -1) -> bytes:
        return super().read(min(n, 1000) if n and n > 0 else 1000)


@pytest.mark.postgres
def test_short_reads_still_make_full_chunks(pg_lc, clock):
    world = build_world(pg_lc, clock)
    content = _big(2 * CHUNK_BYTES + 5)
    document = world.attach("feasibilityStudy", content=TrickleStream(content)).documents[-1]
    assert document.size == len(content)
    pieces = list(pg_lc.blobs.open(document.sha256).chunks())
    assert [len(p) for p in pieces] == [CHUNK_BYTES, CHUNK_BYTES, 5]
    assert b"".join(pieces) == content


@pytest.mark.postgres
def test_a_refused_or_failed_upload_leaves_nothing(pg_lc, clock):
    world = build_world(pg_lc, clock)
    before = pg_lc.log_size()
    pg_lc.max_upload_bytes = CHUNK_BYTES
    with pytest.raises(Invalid) as too_big:
        world.attach("feasibilityStudy", content=io.BufferedReader(
            OneWayStream(_big(CHUNK_BYTES + 1))))
    assert too_big.value.field == "file"
    pg_lc.max_upload_bytes = 10 * CHUNK_BYTES

    def crash(tx):
        raise RuntimeError("the process dies before the commit")

    pg_lc.before_commit = crash
    with pytest.raises(RuntimeError):
        world.attach("feasibilityStudy", content=_big(3 * CHUNK_BYTES))
    pg_lc.before_commit = None
    assert _stored(pg_lc) == (0, 0)
    assert pg_lc.log_size() == before
    assert world.work.documents == []


@pytest.mark.postgres
def test_a_large_document_downloads_whole_from_the_database(pg_lc, clock):
    world = build_world(pg_lc, clock)
    content = _big(3 * CHUNK_BYTES + 7)
    name = "estudio de factibilidad ñ.pdf"
    document = pg_lc.attach_document(actor=world.official, work_id=world.work_id,
                                     kind="feasibilityStudy", title="Estudio", filename=name,
                                     content=content, media_type="application/pdf"
                                     ).documents[-1]
    client = TestClient(create_app(pg_lc))
    response = client.get(f"/api/v1/works/{world.work_id}/documents/{document.id}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["etag"] == f'"{document.sha256}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "filename*=utf-8''estudio%20de%20factibilidad%20%C3%B1.pdf" in \
        response.headers["content-disposition"]
    web = client.get(f"/works/{world.work_id}/documents/{document.id}/download")
    assert web.status_code == 200 and web.content == content


def test_sqlite_keeps_documents_in_the_database_with_the_entry(tmp_path, clock):
    from tests.conftest import make_lifecycle

    lc = make_lifecycle(tmp_path, "sqlite", clock)
    world = build_world(lc, clock)
    content = _big(CHUNK_BYTES + 3)
    document = world.attach("feasibilityStudy", content=content).documents[-1]
    assert isinstance(lc.blobs, DatabaseBlobStore)
    assert _stored(lc) == (1, 2)
    assert not (lc.data_dir / "documents").exists()
    stored = lc.blobs.open(document.sha256)
    assert stored.path is None and stored.size == len(content)
    assert b"".join(stored.chunks()) == content

    # A refused attach leaves neither the document nor its chunks behind.
    lc.before_commit = lambda tx: (_ for _ in ()).throw(RuntimeError("crash before commit"))
    with pytest.raises(RuntimeError):
        world.attach("feasibilityStudy", content=_big(50_000))
    lc.before_commit = None
    assert _stored(lc) == (1, 2)
    lc.engine.dispose()


def test_documents_an_earlier_version_kept_in_the_data_folder_are_still_served(tmp_path, clock):
    from tests.conftest import make_lifecycle

    lc = make_lifecycle(tmp_path, "sqlite", clock)
    world = build_world(lc, clock)
    document = world.attach("feasibilityStudy", content=b"%PDF-1.4 antes").documents[-1]
    lc.engine.dispose()
    # The data folder as wave 1 left it: the bytes in documents/<2 hex>/<sha256>, not in the
    # database.
    legacy = lc.data_dir / "documents" / document.sha256[:2] / document.sha256
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"%PDF-1.4 antes")
    with lc.engine.begin() as conn:
        conn.execute(DocumentChunk.__table__.delete())
        conn.execute(DocumentBlob.__table__.delete())
    reopened = make_lifecycle(tmp_path, "sqlite", clock)
    stored = reopened.blobs.open(document.sha256)
    assert stored is not None and stored.path == legacy and stored.size == len(b"%PDF-1.4 antes")
    assert b"".join(reopened.blobs.chunks(document.sha256)) == b"%PDF-1.4 antes"
    assert reopened.blobs.open("0" * 64) is None
    reopened.engine.dispose()


def test_an_upload_abandoned_by_a_dead_process_is_swept_from_the_folder(tmp_path):
    root = tmp_path / "documents"
    root.mkdir()
    abandoned, in_flight = root / ".upload-dead", root / ".upload-live"
    abandoned.write_bytes(b"half a document")
    in_flight.write_bytes(b"being written")
    an_hour_ago = abandoned.stat().st_mtime - 3700
    os.utime(abandoned, (an_hour_ago, an_hour_ago))
    FolderBlobStore(root)
    assert not abandoned.exists() and in_flight.exists()
