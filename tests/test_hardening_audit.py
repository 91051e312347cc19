"""The anonymous bundle-verify form on /audit (issue 14): whatever is uploaded, the upload, the
unpacked bytes, the archive's entries and the time are bounded, and a corrupt archive (bad CRC,
unknown compression method, encrypted, truncated, a zip bomb) gets a clear Spanish message —
never a 500, never a disk filled with what the archive claims."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile

import pytest

from api.main import create_app
from api.web import audit
from tests.test_hardening_web import Visitor

DAMAGED = "el archivo comprimido está dañado"


@pytest.fixture
def visitor(world):
    return Visitor(create_app(world.lc))


@pytest.fixture
def bundle_files(visitor) -> dict[str, bytes]:
    """The log's own export bundle, as {name inside the archive: bytes}."""
    response = visitor.get("/audit/bundle.tar.gz")
    assert response.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def as_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def as_tar_gz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def verify(visitor: Visitor, name: str, content: bytes):
    return visitor.post("/audit/verify", page="/audit",
                        files={"bundle": (name, io.BytesIO(content), "application/zip")})


def test_a_zip_of_the_bundle_verifies_from_its_members(visitor, bundle_files):
    response = verify(visitor, "bundle.zip", as_zip(bundle_files))
    assert response.status_code == 200 and "El paquete se verifica." in response.text


def test_a_zip_with_a_bad_crc_is_a_damaged_archive(visitor, bundle_files):
    data = bytearray(as_zip(bundle_files, zipfile.ZIP_STORED))
    entries = bundle_files["lifecycle-log/entries.jsonl"]
    at = bytes(data).index(entries[:64])
    data[at + 10] ^= 0x01  # one bit of the stored entries flipped: the CRC-32 no longer matches
    response = verify(visitor, "bundle.zip", bytes(data))
    assert response.status_code == 422 and DAMAGED in response.text


def _patch_zip_headers(data: bytes, *, method: int | None = None, flags: int | None = None
                       ) -> bytes:
    """Rewrite the compression method or flags of every member, in the local headers and the
    central directory alike, as a foreign or hostile zip tool might have written them."""
    out = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            if flags is not None:
                out[start + flag_at:start + flag_at + 2] = struct.pack("<H", flags)
            if method is not None:
                out[start + flag_at + 2:start + flag_at + 4] = struct.pack("<H", method)
            start += 4
    return bytes(out)


def test_a_zip_with_an_unknown_compression_method_is_a_damaged_archive(visitor, bundle_files):
    response = verify(visitor, "bundle.zip", _patch_zip_headers(as_zip(bundle_files), method=99))
    assert response.status_code == 422 and DAMAGED in response.text


def test_an_encrypted_zip_is_a_damaged_archive(visitor, bundle_files):
    response = verify(visitor, "bundle.zip", _patch_zip_headers(as_zip(bundle_files), flags=1))
    assert response.status_code == 422 and DAMAGED in response.text


@pytest.mark.parametrize("pack", [as_zip, as_tar_gz])
def test_a_truncated_archive_is_refused(visitor, bundle_files, pack):
    whole = pack(bundle_files)
    response = verify(visitor, "bundle", whole[: len(whole) * 2 // 3])
    assert response.status_code == 422 and "bundle: " in response.text
    assert "El paquete se verifica." not in response.text


@pytest.mark.parametrize("pack", [as_zip, as_tar_gz])
def test_a_zip_bomb_stops_at_the_unpacked_bound(visitor, bundle_files, monkeypatch, pack):
    monkeypatch.setattr(audit, "MAX_UNPACKED_BYTES", 2 * 10**6)
    written = []
    copy = audit.Unpacking.copy

    def spy(self, source, target):
        try:
            copy(self, source, target)
        finally:
            written.append(self.written)

    monkeypatch.setattr(audit.Unpacking, "copy", spy)
    bomb = dict(bundle_files)
    bomb["lifecycle-log/entries.jsonl"] = b"\0" * (40 * 10**6)  # 40 MB of zeros: ~40 KB packed
    response = verify(visitor, "bomb", pack(bomb))
    assert response.status_code == 422 and "más de 2 MB" in response.text
    assert max(written) <= audit.MAX_UNPACKED_BYTES + audit.COPY_CHUNK


def test_an_archive_with_too_many_entries_is_refused(visitor, bundle_files):
    crowd = {**bundle_files, **{f"lifecycle-log/extra-{n}.txt": b"x" for n in range(100)}}
    response = verify(visitor, "crowd.zip", as_zip(crowd))
    assert response.status_code == 422 and "más de 32 elementos" in response.text


def test_an_upload_over_the_bound_is_a_413_page(visitor, monkeypatch):
    monkeypatch.setattr(audit, "MAX_BUNDLE_UPLOAD_BYTES", 100_000)
    response = verify(visitor, "big.zip", b"PK" + b"\0" * 300_000)
    assert response.status_code == 413
    assert "El archivo es más grande de lo que este servidor acepta." in response.text


def test_unpacking_past_the_time_bound_is_refused(visitor, bundle_files, monkeypatch):
    monkeypatch.setattr(audit, "MAX_UNPACK_SECONDS", -1.0)  # every chunk is past the bound
    response = verify(visitor, "bundle.zip", as_zip(bundle_files))
    assert response.status_code == 422 and "tomó demasiado tiempo" in response.text


def test_a_link_in_place_of_a_bundle_file_is_refused(visitor, bundle_files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in bundle_files.items():
            if name.endswith("entries.jsonl"):
                link = tarfile.TarInfo(name)
                link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(link)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    response = verify(visitor, "bundle.tar.gz", out.getvalue())
    assert response.status_code == 422 and "es un enlace o un dispositivo" in response.text


def test_names_inside_the_archive_never_become_paths(visitor, bundle_files, tmp_path,
                                                     monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    escaping = {"../../outside/" + name.rpartition("/")[2]: data
                for name, data in bundle_files.items()}
    response = verify(visitor, "bundle.tar.gz", as_tar_gz(escaping))
    assert response.status_code == 200 and "El paquete se verifica." in response.text
    assert not (tmp_path / "outside").exists() and not (scratch.parent / "outside").exists()
    assert list(scratch.iterdir()) == []  # and nothing is left behind


def test_two_bundles_in_one_archive_are_refused(visitor, bundle_files):
    twice = {**bundle_files, **{n.replace("lifecycle-log/", "copy/"): d
                                for n, d in bundle_files.items()}}
    response = verify(visitor, "twice.zip", as_zip(twice))
    assert response.status_code == 422 and "una sola carpeta" in response.text
