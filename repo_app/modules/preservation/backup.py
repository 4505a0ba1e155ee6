"""Backup and restore of a whole installation: the database, the store, the secret key.

A backup folder holds::

    manifest.json        when, which database kind and schema revision, objects and bytes
    mura.sqlite3         the embedded database (SQLite's online backup: consistent while in use)
    mura.pgdump          or PostgreSQL's (``pg_dump --format=custom``)
    store/objects/…      every stored object, re-hashed on the way (same layout as the store)
    secret_key, mura.cfg the instance's secret and settings file, when present

The database is copied first, then the store: every object a row of the copied database names
was written before that row was committed, so it is in the store by the time it is copied.
Objects are immutable and named by their SHA-256, so a later backup into the same parent can
hard-link unchanged objects from the previous one (``previous``) and costs only the new ones.
The search index is not backed up: ``restore`` rebuilds it from the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text

from mura.app.core.files import get_store
from mura.app.extensions import db
from mura.app.models import Document

_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done; ``str()`` says why."""


@dataclass
class BackupReport:
    """What a backup wrote or a restore read."""

    path: str
    database: str
    objects: int = 0
    bytes: int = 0
    linked: int = 0
    seconds: float = 0.0
    damaged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def _db_kind() -> str:
    return db.engine.dialect.name  # "sqlite" or "postgresql"


def _libpq_url() -> str:
    """The database URL as pg_dump/pg_restore take it (without SQLAlchemy's driver name)."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup(target: Path, previous: Path | None = None) -> BackupReport:
    """Write a backup of this installation into ``target`` (a new folder).

    Args:
        target: Where; must not exist yet.
        previous: An earlier backup on the same file system: unchanged objects are hard-linked.

    Raises:
        BackupError: The target exists, or the database could not be dumped.
    """
    started = time.monotonic()
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists; a backup goes into a new folder")
    partial = target.parent / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    report = BackupReport(str(target), _db_kind())
    try:
        _dump_database(partial)
        _copy_objects(partial / "store", previous, report)
        home = Path(current_app.config["HOME"])
        for name in ("secret_key", "mura.cfg"):
            if (home / name).is_file():
                shutil.copy2(home / name, partial / name)
        report.seconds = round(time.monotonic() - started, 2)
        manifest = {
            "format": "mura-backup/1",
            "created_at": datetime.now(UTC).isoformat(),
            "schema_revision": _schema_revision(),
            **report.as_dict(),
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=1))
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _dump_database(folder: Path) -> None:
    if _db_kind() == "sqlite":
        source = sqlite3.connect(db.engine.url.database)
        dest = sqlite3.connect(folder / "mura.sqlite3")
        try:
            source.backup(dest)  # consistent even while workers write
        finally:
            dest.close()
            source.close()
        return
    proc = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={folder / 'mura.pgdump'}",
         f"--dbname={_libpq_url()}"],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")


def _copy_objects(dest: Path, previous: Path | None, report: BackupReport) -> None:
    """Copy (or hard-link from ``previous``) every object, checking each one's hash."""
    store = get_store()
    for sha in sorted(store.iter_addresses()):
        final = dest / "objects" / sha[:2] / sha[2:4] / sha
        final.parent.mkdir(parents=True, exist_ok=True)
        earlier = previous / "store" / "objects" / sha[:2] / sha[2:4] / sha if previous else None
        if earlier is not None and earlier.is_file():
            os.link(earlier, final)
            report.linked += 1
            report.objects += 1
            report.bytes += final.stat().st_size
            continue
        digest = hashlib.sha256()
        with store.open(sha) as src, open(final, "wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha:
            # Kept so nothing is lost, but named: it must be restored from an older backup.
            report.damaged.append(sha)
        report.objects += 1
        report.bytes += final.stat().st_size


def _schema_revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:
        db.session.rollback()
        return None


def restore(source: Path) -> BackupReport:
    """Restore a backup into this installation, which must be empty (no documents).

    The database is loaded, the objects copied into the store (each re-hashed), the schema
    brought to the newest migration, and the search index rebuilt.

    Raises:
        BackupError: Not a backup, another database kind, or this installation is not empty.
    """
    from mura.app.extensions import upgrade_database
    from mura.app.modules.discovery.search import rebuild_index

    started = time.monotonic()
    source = Path(source)
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a Mura backup (no manifest.json)") from exc
    kind = _db_kind()
    if manifest.get("database") != kind:
        raise BackupError(
            f"the backup holds a {manifest.get('database')} database; this installation uses {kind}"
        )
    if _has_documents():
        raise BackupError("this installation is not empty: restore into a new one")
    _load_database(source)
    report = BackupReport(str(source), kind)
    store = get_store()
    for path in sorted((source / "store" / "objects").glob("*/*/*")):
        with open(path, "rb") as stream:
            obj = store.put_stream(stream)
        if obj.sha256 != path.name:
            report.damaged.append(path.name)
        report.objects += 1
        report.bytes += obj.size
    home = Path(current_app.config["HOME"])
    if (source / "secret_key").is_file():  # sessions and tokens stay valid after a restore
        shutil.copy2(source / "secret_key", home / "secret_key")
    if (source / "mura.cfg").is_file() and not (home / "mura.cfg").exists():
        shutil.copy2(source / "mura.cfg", home / "mura.cfg")
    upgrade_database()
    rebuild_index()
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _has_documents() -> bool:
    try:
        return bool(db.session.scalar(select(func.count()).select_from(Document)))
    except Exception:
        db.session.rollback()
        return False


def _load_database(source: Path) -> None:
    db.session.remove()
    if _db_kind() == "sqlite":
        db.engine.dispose()
        src = sqlite3.connect(source / "mura.sqlite3")
        dest = sqlite3.connect(db.engine.url.database)
        try:
            src.backup(dest)
        finally:
            dest.close()
            src.close()
        return
    db.engine.dispose()
    proc = subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
         f"--dbname={_libpq_url()}", str(source / "mura.pgdump")],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")
