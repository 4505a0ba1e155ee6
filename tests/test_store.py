"""The content-addressed store: checksums, no overwrite, nothing half-written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from mura.storage import FilesystemStore, StoreError


def test_put_returns_sha256_and_keeps_bytes(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    data = b"page image bytes" * 1000
    obj = store.put_stream(io.BytesIO(data))
    assert obj.sha256 == hashlib.sha256(data).hexdigest()
    assert obj.size == len(data)
    with store.open(obj.sha256) as stream:
        assert stream.read() == data
    assert store.verify(obj.sha256)


def test_same_bytes_are_stored_once_and_never_overwritten(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    first = store.put_stream(io.BytesIO(b"abc"))
    path = store.local_path(first.sha256)
    inode = path.stat().st_ino
    second = store.put_stream(io.BytesIO(b"abc"))
    assert first == second
    assert path.stat().st_ino == inode
    assert list(store.iter_addresses()) == [first.sha256]
    assert not any((tmp_path / "tmp").iterdir()), "temporary files left behind"


def test_objects_are_read_only(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    obj = store.put_stream(io.BytesIO(b"scan"))
    assert store.local_path(obj.sha256).stat().st_mode & 0o222 == 0


def test_verify_detects_a_changed_or_missing_file(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    obj = store.put_stream(io.BytesIO(b"original"))
    path = store.local_path(obj.sha256)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    assert not store.verify(obj.sha256)
    path.unlink()
    assert not store.verify(obj.sha256)
    with pytest.raises(StoreError):
        store.open(obj.sha256)


@pytest.mark.parametrize("address", ["../../etc/passwd", "ab", "G" * 64, "a" * 63 + "/"])
def test_only_sha256_addresses_reach_the_file_system(tmp_path: Path, address: str) -> None:
    with pytest.raises(StoreError):
        FilesystemStore(tmp_path).local_path(address)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(28, "No space left on device")
            return b"x" * 1024

    store = FilesystemStore(tmp_path)
    with pytest.raises(StoreError, match="No space left"):
        store.put_stream(Broken())
    assert list(store.iter_addresses()) == []
    assert not any((tmp_path / "tmp").iterdir())
