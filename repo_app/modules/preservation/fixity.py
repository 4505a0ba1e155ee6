"""Fixity: re-hash the stored files and report any whose bytes changed or that went missing.

Every stored file's SHA-256 is computed while it is copied into the store and kept on its
``StoredFile`` row (it is also the object's address). A check reads each object again, hashes it
and records the result and time on every row of that object (``checked_at``, ``check_result``).

Two ways in: ``mura fixity`` checks everything (or ``--due``), and the Celery beat task
``mura.workers.tasks.fixity_check`` checks, every ``FIXITY_INTERVAL_S``, at most
``FIXITY_BATCH_FILES``
objects not checked for ``FIXITY_CYCLE_DAYS`` days, oldest check first, so a large store is
covered in a rolling cycle. A lock keeps two runs on one machine from overlapping.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, or_, select, update

from mura.app.core.files import get_store
from mura.app.extensions import db
from mura.app.models import Document, Page, StoredFile
from mura.app.models.base import utcnow
from mura.storage import StoreError

log = logging.getLogger(__name__)

OK, CHANGED, MISSING = "ok", "changed", "missing"
#: Rows updated per commit: a long check must not hold one huge transaction.
_BATCH = 500
_CHUNK = 1024 * 1024


class FixityRunning(RuntimeError):
    """Another fixity check is running on this machine."""


@dataclass
class Problem:
    """A stored file whose object changed or is missing.

    Attributes:
        file_id: The ``StoredFile`` row.
        sha256: The checksum recorded at ingest (the object's address).
        result: ``changed`` or ``missing``.
        kind: What the file is (``scan``, ``page_pdf``, ...).
        name: The uploaded file's name (display only).
        used_by: Where it is used, e.g. ``document 3 page 2 (scan)``.
        checked_at: When this was found.
    """

    file_id: int
    sha256: str
    result: str
    kind: str
    name: str
    used_by: list[str]
    checked_at: datetime | None


@dataclass
class FixityReport:
    """The outcome of one check run."""

    objects: int = 0
    files: int = 0
    ok: int = 0
    changed: int = 0
    missing: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-ready dictionary (``problems`` as a list of dicts)."""
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out


# --- checking ------------------------------------------------------------------------------------


def check(
    due_only: bool = False,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> FixityReport:
    """Re-hash stored objects and record the results.

    Args:
        due_only: Only objects never checked or not checked for ``FIXITY_CYCLE_DAYS``.
        limit: At most this many objects (oldest check first).
        progress: Called with the number of objects done since the last call.

    Returns:
        What was found; ``problems`` lists every changed or missing file.

    Raises:
        FixityRunning: Another check runs on this machine.
    """
    started = time.monotonic()
    report = FixityReport()
    with _run_lock():
        shas = _objects_to_check(due_only, limit)
        for batch in _chunks(shas, _BATCH):
            results = {sha: _check_object(sha, size) for sha, size in batch}
            report.bytes += sum(size for sha, size in batch if results[sha] == OK)
            report.files += _record(results)
            for result in results.values():
                setattr(report, result, getattr(report, result) + 1)
            report.objects += len(batch)
            if progress:
                progress(len(batch))
        report.problems = problems()
    report.seconds = time.monotonic() - started
    if report.changed or report.missing:
        log.error(
            "fixity: %d changed, %d missing of %d objects",
            report.changed,
            report.missing,
            report.objects,
        )
    return report


def _objects_to_check(due_only: bool, limit: int | None) -> list[tuple[str, int]]:
    """Distinct objects (sha256, size), the least recently checked first."""
    # Negative while some row of the object was never checked: those sort first.
    unchecked_first = func.count(StoredFile.checked_at) - func.count()
    oldest = func.min(StoredFile.checked_at)
    stmt = select(StoredFile.sha256, func.max(StoredFile.size)).group_by(StoredFile.sha256)
    if due_only:
        cutoff = utcnow() - timedelta(days=current_app.config["FIXITY_CYCLE_DAYS"])
        stmt = stmt.having(or_(unchecked_first < 0, oldest < cutoff))
    stmt = stmt.order_by(unchecked_first, oldest, StoredFile.sha256)
    if limit:
        stmt = stmt.limit(limit)
    return [(sha, size) for sha, size in db.session.execute(stmt)]


def _check_object(sha256: str, size: int) -> str:
    """``ok``, ``changed`` or ``missing`` for one object of the store."""
    store = get_store()
    try:
        stream = store.open(sha256)
    except StoreError:
        return MISSING
    except OSError as exc:  # unreadable (permissions, I/O error): its bytes cannot be vouched for
        log.warning("fixity: %s cannot be read: %s", sha256, exc)
        return CHANGED
    digest = hashlib.sha256()
    read = 0
    try:
        with stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                read += len(chunk)
    except OSError as exc:
        log.warning("fixity: %s cannot be read: %s", sha256, exc)
        return CHANGED
    return OK if digest.hexdigest() == sha256 and read == size else CHANGED


def _record(results: dict[str, str]) -> int:
    """Write the results on every row of each object; returns the rows updated."""
    now = utcnow()
    rows = 0
    for result in (OK, CHANGED, MISSING):
        shas = [sha for sha, found in results.items() if found == result]
        if shas:
            rows += db.session.execute(
                update(StoredFile)
                .where(StoredFile.sha256.in_(shas))
                .values(checked_at=now, check_result=result)
                .execution_options(synchronize_session=False)
            ).rowcount
    db.session.commit()
    return rows


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _run_lock() -> Iterator[None]:
    """An exclusive lock file in MURA_HOME/run: Celery beat may fire while a long run goes on."""
    folder = Path(current_app.config["HOME"]) / "run"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "fixity.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise FixityRunning("a fixity check is already running on this machine") from exc
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- what the dashboard and the CLI show ---------------------------------------------------------


def problems(limit: int = 200) -> list[Problem]:
    """Files whose last check found them changed or missing, newest finding first."""
    rows = db.session.scalars(
        select(StoredFile)
        .where(StoredFile.check_result.in_((CHANGED, MISSING)))
        .order_by(StoredFile.checked_at.desc(), StoredFile.id)
        .limit(limit)
    ).all()
    return [
        Problem(
            row.id,
            row.sha256,
            row.check_result or "",
            row.kind,
            row.original_name,
            used_by(row.id),
            row.checked_at,
        )
        for row in rows
    ]


def status() -> dict:
    """Last check time, how many files were never checked, and the problems (for the dashboard)."""
    last = db.session.scalar(select(func.max(StoredFile.checked_at)))
    never = db.session.scalar(
        select(func.count()).select_from(StoredFile).where(StoredFile.checked_at.is_(None))
    )
    found = problems(50)
    return {"last_checked": last, "never_checked": never or 0, "problems": found}


def used_by(file_id: int) -> list[str]:
    """Where a stored file is used, in words staff read: ``document 3 page 2 (scan)``."""
    places: list[str] = []
    roles = (
        (Page.source_file_id, "scan"),
        (Page.pdf_file_id, "page PDF"),
        (Page.hocr_file_id, "word boxes"),
        (Page.text_file_id, "text"),
    )
    for column, role in roles:
        for doc_id, seq in db.session.execute(
            select(Page.document_id, Page.seq).where(column == file_id).limit(20)
        ):
            places.append(f"document {doc_id} page {seq} ({role})")
    for doc_id in db.session.scalars(select(Document.id).where(Document.pdf_file_id == file_id)):
        places.append(f"document {doc_id} (PDF)")
    return places
