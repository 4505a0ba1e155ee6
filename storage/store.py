"""Content-addressed file store.

Every object is addressed by the SHA-256 of its bytes, computed while it is copied in. An object
is written to a temporary file in the store's own folder, flushed, fsynced and renamed into place,
so a reader never sees a half-written file and a full disk leaves nothing behind. An existing object
is never overwritten: the same bytes stored twice are stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_CHUNK = 1024 * 1024


class StoreError(Exception):
    """The store could not keep or find an object."""


@dataclass(frozen=True)
class StoredObject:
    """What the store knows of an object: its address and size."""

    sha256: str
    size: int


class Store(Protocol):
    """The interface every backend implements (a filesystem now; S3-compatible later)."""

    def put_stream(self, stream: BinaryIO) -> StoredObject:
        """Store the bytes read from ``stream``."""

    def open(self, sha256: str) -> BinaryIO:
        """Open an object for reading."""

    def local_path(self, sha256: str) -> Path:
        """A path on this machine where the object can be read."""

    def exists(self, sha256: str) -> bool:
        """Whether the object is present."""

    def verify(self, sha256: str) -> bool:
        """Re-hash the object and compare with its address (fixity check)."""

    def iter_addresses(self) -> Iterator[str]:
        """Every object address present (backup, export; an S3 backend lists its bucket)."""

    def delete(self, sha256: str) -> bool:
        """Remove an object no row refers to any more; False if it was not there."""


def _check_address(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise StoreError(f"not a SHA-256 address: {sha256!r}")
    return sha256


class FilesystemStore:
    """Objects live at ``ROOT/objects/ab/cd/abcd…`` (no user-given name reaches the file system)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def local_path(self, sha256: str) -> Path:
        """The object's path (whether or not it exists)."""
        sha256 = _check_address(sha256)
        return self._objects / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the object is present."""
        return self.local_path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open an object for reading; :class:`StoreError` if missing."""
        try:
            return open(self.local_path(sha256), "rb")
        except FileNotFoundError as exc:
            raise StoreError(f"object {sha256} is missing from the store") from exc

    def put_stream(self, stream: BinaryIO) -> StoredObject:
        """Copy ``stream`` into the store, hashing on the way; return its address."""
        with self._temp_file() as (tmp, handle):
            digest = hashlib.sha256()
            size = 0
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            obj = StoredObject(digest.hexdigest(), size)
            self._commit(tmp, obj)
        return obj

    def verify(self, sha256: str) -> bool:
        """Re-hash the object; False if it changed or is missing."""
        try:
            with self.open(sha256) as stream:
                return _sha256_of(stream) == sha256
        except StoreError:
            return False

    def iter_addresses(self) -> Iterator[str]:
        """Every object address present (for fixity and export)."""
        for path in self._objects.glob("*/*/*"):
            if path.is_file():
                yield path.name

    def delete(self, sha256: str) -> bool:
        """Remove an object; False if it was not there.

        The caller decides that nothing refers to it any more (objects are shared by content:
        two uploads of one scan are one object), the store only removes the file.
        """
        try:
            self.local_path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    @contextmanager
    def _temp_file(self) -> Iterator[tuple[Path, BinaryIO]]:
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="in-")
        tmp = Path(name)
        handle = os.fdopen(fd, "wb")
        try:
            yield tmp, handle
        except OSError as exc:
            raise StoreError(f"could not write to the store: {exc.strerror or exc}") from exc
        finally:
            # After a failed write (disk full) close() tries to flush the rest of the buffer and
            # fails again; that must neither hide the StoreError nor keep the temp file.
            with suppress(OSError):
                handle.close()
            tmp.unlink(missing_ok=True)

    def _commit(self, tmp: Path, obj: StoredObject) -> None:
        final = self.local_path(obj.sha256)
        if final.exists():
            return  # same bytes already kept: never overwrite
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o444 & ~current_umask())  # read-only; 0400 under Mura's umask 077
        try:
            os.link(tmp, final)  # atomic, and fails rather than replacing
        except FileExistsError:
            return
        except OSError:
            # Filesystems without hard links: rename is atomic too (same folder tree).
            shutil.move(tmp, final)


def current_umask() -> int:
    """The process's umask, read without changing it.

    Reading it with ``os.umask`` means setting it for a moment, in which another thread's new
    file would be created world-writable.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o077  # not Linux: assume the strict default of repo_app/config.py


def _sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
