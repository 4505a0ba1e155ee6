"""Faults done for real: a worker SIGKILLed in the middle of a 100-page job, Redis and PostgreSQL
restarted under a running job. After the fault the job finishes with every page exactly once.

Each test has its own installation (``fresh_stack``) with a fast sweeper (every 2 s): the
broker is not trusted to keep anything (see README, "How a job runs, and why nothing is lost").
Pages are tiny synthetic ones (``tests/synthetic.py``) so that 100 of them take seconds.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from mura.app.modules.discovery import discovery
from tests.conftest import Stack
from tests.fault_helpers import (
    fresh_stack,
    job_status,
    kill_group,
    page_states,
    start_worker,
    wait_until,
    worker_log,
)
from tests.synthetic import render_pages

pytestmark = pytest.mark.timeout(900)

PAGE_NUMBER = re.compile(r"page\s*(\d+)", re.IGNORECASE)


def _ingest(stack: Stack, pages: list[Path]) -> dict:
    """Ingest in-process (tasks go to the stack's real broker); no rotation or deskew to judge
    on three-word pages, which saves a third of each page's time."""
    from mura.app.extensions import db
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    with stack.app.app_context():
        uploads = [Upload(p.name, open(p, "rb")) for p in pages]  # noqa: SIM115
        try:
            fields = DocumentFields("Fault test", "book", [], "eng")
            job = ingest(uploads, fields, options={"rotate": False, "deskew": False})
        finally:
            for upload in uploads:
                upload.stream.close()
        summary = {"job_id": job.id, "document_id": job.document_id, "pages": len(job.pages)}
        db.session.remove()
    assert summary["pages"] == len(pages)
    return summary


def check_every_page_once(stack: Stack, job: dict, count: int) -> None:
    """The job is done and each page is in the database, the PDF and the index exactly once."""
    from mura.app.core.files import local_path
    from mura.app.extensions import db
    from mura.app.models import ScanJob, StoredFile

    with stack.app.app_context():
        row = db.session.get(ScanJob, job["job_id"])
        assert row.status == "done", (row.status, row.error, worker_log(stack))
        pages = row.pages
        assert [p.seq for p in pages] == list(range(1, count + 1))
        assert [p.state for p in pages] == ["done"] * count
        read = [int(m.group(1)) if (m := PAGE_NUMBER.search(p.text or "")) else None for p in pages]
        assert read == list(range(1, count + 1)), "a page holds another page's text"
        # One result per page: a result computed twice (lease lost) is dropped, never kept.
        assert len({p.pdf_file_id for p in pages}) == count
        kept = db.session.scalar(
            db.select(db.func.count()).select_from(StoredFile).where(StoredFile.kind == "page_pdf")
        )
        assert kept == count
        pdf = local_path(row.document.pdf_file)
        hits = discovery.search("mura", per_page=5).hits
        assert [h.page_count for h in hits if h.document_id == row.document_id] == [count]
        db.session.remove()
    layer = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    in_pdf = [int(n) for n in PAGE_NUMBER.findall(layer)]
    assert in_pdf == list(range(1, count + 1)), "the PDF lost, doubled or reordered pages"


@pytest.mark.parametrize(
    "kind", ["embedded", pytest.param("production", marks=pytest.mark.production)]
)
def test_worker_killed_mid_job_every_page_exactly_once(kind: str, tmp_path: Path) -> None:
    count = 100
    pages = render_pages(tmp_path / "pages", count)
    with fresh_stack(kind, tmp_path / "home", DEFAULT_ACCESS="public_domain") as stack:
        job = _ingest(stack, pages)
        started = time.monotonic()
        first = start_worker(stack, "-c", "2", "--beat")
        # The "middle": a third of the pages done, some running, the rest waiting.
        wait_until(lambda: page_states(stack, job["job_id"])["done"] >= count // 3, 300, "pages")
        kill_group(first)
        killed_at = time.monotonic() - started
        at_kill = page_states(stack, job["job_id"])
        assert at_kill["done"] < count, "too late: the job finished before the kill"

        start_worker(stack, "-c", "2", "--beat")
        wait_until(lambda: job_status(stack, job["job_id"]) in ("done", "failed"), 600, "the job")
        total = time.monotonic() - started
        print(f"\n[{kind}] killed at {killed_at:.1f} s with {at_kill}; job done at {total:.1f} s")
        check_every_page_once(stack, job, count)
        from mura.app.extensions import db
        from mura.app.models import Page

        with stack.app.app_context():
            again = db.session.scalar(
                db.select(db.func.count()).where(Page.job_id == job["job_id"], Page.attempts > 1)
            )
            db.session.remove()
        # The pages that were running when the worker died were taken again, not lost.
        assert again >= at_kill["running"]


# --- Redis and PostgreSQL restarted under a running job ------------------------------------------

REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/tmp", "--logfile", "/tmp/mura-redis.log",
]  # fmt: skip


def _redis_up() -> bool:
    return subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode == 0


def _pg_up() -> bool:
    probe = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def restart_redis(down_s: float = 2.0) -> None:
    """Stop Redis losing every message it held, then start it again."""
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
    try:
        wait_until(lambda: not _redis_up(), 15, "Redis to stop")
        time.sleep(down_s)
    finally:
        ensure_redis()


def ensure_redis() -> None:
    """Start Redis if it is not running (always called, whatever happened)."""
    if not _redis_up():
        subprocess.run(REDIS_START, check=True, capture_output=True)
        wait_until(_redis_up, 30, "Redis to start", 0.2)


def restart_postgresql(down_s: float = 3.0) -> None:
    """Stop PostgreSQL (every open connection is cut), keep it down a moment, start it again.

    Down long enough that pages finishing meanwhile find no database for their bookkeeping.
    """
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    try:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        time.sleep(down_s)
    finally:
        ensure_postgresql(version)


def ensure_postgresql(version: str | None = None) -> None:
    """Start PostgreSQL if it is not running (always called, whatever happened)."""
    if _pg_up():
        return
    version = version or sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    wait_until(_pg_up, 60, "PostgreSQL to start", 0.5)


@pytest.mark.production
def test_redis_and_postgresql_restarted_during_a_job(tmp_path: Path) -> None:
    if not (Path("/etc/postgresql").is_dir() and _redis_up() and _pg_up()):
        pytest.skip("needs this machine's PostgreSQL cluster and Redis on 6379")
    count = 40
    pages = render_pages(tmp_path / "pages", count)
    try:
        with fresh_stack("production", tmp_path / "home", DEFAULT_ACCESS="public_domain") as stack:
            job = _ingest(stack, pages)
            started = time.monotonic()
            start_worker(stack, "-c", "2", "--beat")
            wait_until(lambda: page_states(stack, job["job_id"])["done"] >= 8, 300, "pages")
            restart_redis()  # every queued message is gone: the sweeper must resend them
            at_redis = time.monotonic() - started
            wait_until(lambda: page_states(stack, job["job_id"])["done"] >= 20, 300, "pages")
            restart_postgresql()  # running pages lose their connection mid-write
            at_pg = time.monotonic() - started
            wait_until(
                lambda: job_status(stack, job["job_id"]) in ("done", "failed"), 600, "the job"
            )
            waited = stack.worker_log.read_text().count("database unavailable")
            print(
                f"\nRedis restarted at {at_redis:.1f} s, PostgreSQL at {at_pg:.1f} s, job done at "
                f"{time.monotonic() - started:.1f} s; {waited} bookkeeping wait(s) for the database"
            )
            check_every_page_once(stack, job, count)
            assert waited >= 1, "no task met the database outage: the test proved nothing"
    finally:
        ensure_redis()
        ensure_postgresql()


# --- the embedded broker: a message is never seen half-written ----------------------------------


def test_embedded_broker_publishes_atomically_and_survives_a_bad_file(app) -> None:
    """kombu's filesystem transport could hand a consumer an empty file and die (fs_broker.py)."""
    celery = app.extensions["celery"]
    folder = Path(app.config["HOME"]) / "broker" / "queue"
    with celery.connection_for_write() as conn:
        channel = conn.default_channel
        assert type(channel).__module__ == "mura.workers.fs_broker"
        # A file caught between create and write (as kombu's own _put leaves it for a moment).
        # Named as _put names files, with an older timestamp, so a consumer meets it first.
        torn = folder / f"{0:015d}_torn.ocr.msg"
        torn.write_bytes(b"")
        channel._put("ocr", {"body": "whole"})
        assert not list(folder.glob(".*.part"))  # nothing half-written is left behind
        assert channel._get("ocr") == {"body": "whole"}
        assert not torn.exists()
