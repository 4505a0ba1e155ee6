"""A full disk under the store: a clear error, no half-written file ever visible, work resumable.

The store is put on a real 8 MB tmpfs (mounting needs root; the tests skip with a message
otherwise), then filled: first during one large write, then under a running job.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from mura.storage import FilesystemStore, StoreError
from tests.conftest import make_app
from tests.fault_helpers import fresh_stack, job_status, start_worker, wait_until, worker_log
from tests.synthetic import render_pages

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs mounted at tmp_path/disk, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` until at most ``leave`` bytes are free."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
                if free <= leave:
                    break
                out.write(b"\0" * min(1024 * 1024, max(4096, free - leave)))
                out.flush()
        except OSError:
            pass  # ENOSPC: full
    return filler


def assert_store_intact(root: Path) -> None:
    """Every object in the store hashes to its name; nothing is left in the store's tmp/."""
    for path in (root / "objects").glob("*/*/*"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"half-written {path}"
    assert list((root / "tmp").iterdir()) == []


def test_a_write_that_fills_the_disk_leaves_nothing(small_disk: Path) -> None:
    store = FilesystemStore(small_disk / "store")
    data = os.urandom(12 * 1024 * 1024)  # more than the disk holds
    with pytest.raises(StoreError, match="No space left on device"):
        store.put_stream(io.BytesIO(data))
    assert_store_intact(small_disk / "store")
    assert not store.exists(hashlib.sha256(data).hexdigest())
    # The space of the failed write is given back: the store goes on working.
    small = store.put_stream(io.BytesIO(b"a page"))
    assert store.verify(small.sha256)


def test_an_upload_to_a_full_store_is_refused_with_a_reason(
    small_disk: Path, tmp_path: Path
) -> None:
    from mura.app.extensions import db
    from mura.app.models import Document, StoredFile
    from mura.app.modules.digitization.ingest import DocumentFields, IngestError, Upload, ingest

    app: Flask = make_app(tmp_path / "home", STORE_DIR=str(small_disk / "store"))
    with app.test_request_context():  # as the upload form calls it (messages are translated)
        fill(small_disk)
        [page] = render_pages(tmp_path / "pages", 1)
        with pytest.raises(IngestError, match="No space left on device") as refused:
            ingest([Upload(page.name, io.BytesIO(page.read_bytes()))],
                   DocumentFields("Full", "book", [], "eng"))  # fmt: skip
        assert refused.value.field == "files"
        assert db.session.scalar(db.select(db.func.count()).select_from(Document)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(StoredFile)) == 0
        assert_store_intact(small_disk / "store")
        db.session.remove()
        db.engine.dispose()


def test_disk_full_under_a_running_job_then_resumed(small_disk: Path, tmp_path: Path) -> None:
    store_dir = small_disk / "store"
    pages = render_pages(tmp_path / "pages", 4)
    config = {"STORE_DIR": str(store_dir), "PAGE_MAX_ATTEMPTS": 2}
    with fresh_stack("embedded", tmp_path / "home", **config) as stack:
        [job] = stack.mura_json(
            "ingest", *map(str, pages), "--title", "Full disk", "--type", "book", "--lang", "eng"
        )
        filler = fill(small_disk, leave=4096)  # each page's outputs are larger than that
        start_worker(stack, "-c", "2")
        wait_until(lambda: job_status(stack, job["job_id"]) == "failed", 180, "the job to fail")
        [failed] = stack.mura_json("jobs", str(job["job_id"]))
        assert failed["pages_failed"] == 4
        reasons = {f["reason"] for f in failed["failures"]}
        assert all("No space left on device" in r for r in reasons), (reasons, worker_log(stack))
        assert_store_intact(store_dir)

        filler.unlink()  # an administrator frees space; the job is resumed from where it was
        [resumed] = stack.mura_json("reocr", str(job["job_id"]), "--failed", "--wait")
        assert resumed["status"] == "done", resumed
        assert (resumed["pages_done"], resumed["pages_failed"]) == (4, 0)
        assert_store_intact(store_dir)
