"""Keeping files: the store for this app, and StoredFile rows for what is put in it."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from flask import current_app

from mura.app.extensions import db
from mura.app.models import StoredFile
from mura.storage import FilesystemStore, Store


def get_store() -> Store:
    """The app's store (one per process)."""
    store = current_app.extensions.get("mura_store")
    if store is None:
        store = FilesystemStore(current_app.config["STORE_DIR"])
        current_app.extensions["mura_store"] = store
    return store


def keep_stream(stream: BinaryIO, kind: str, name: str = "", mime: str = "") -> StoredFile:
    """Store ``stream`` and add its row to the session (not committed)."""
    obj = get_store().put_stream(stream)
    row = StoredFile(
        sha256=obj.sha256,
        size=obj.size,
        kind=kind,
        original_name=name[:500],
        mime=mime or "application/octet-stream",
    )
    db.session.add(row)
    return row


def keep_file(path: Path, kind: str, name: str = "", mime: str = "") -> StoredFile:
    """Store the file at ``path`` and add its row to the session (not committed)."""
    with open(path, "rb") as stream:
        return keep_stream(stream, kind, name or path.name, mime)


def local_path(row: StoredFile) -> Path:
    """Where the stored file can be read on this machine."""
    return get_store().local_path(row.sha256)
