"""Issue 18, findings 6 and 7: recovery has no single point of failure, workers stop when told.

- Every worker sweeps: a lease row in the database decides which one does it each round, so a
  job finishes whichever worker dies, with or without a ``--beat`` worker.
- A worker that has just finished a job stops within 10 s of SIGTERM, sent to its process group
  (systemd's ``KillMode=control-group``) or to its main process only.
- A worker started before ``mura db upgrade`` keeps its heartbeat and sweeps once the schema is
  there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import Stack, _embedded, _stack_env
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
from tests.test_faults import _ingest, check_every_page_once

pytestmark = pytest.mark.timeout(600)


# --- the lease that decides who runs a periodic duty ---------------------------------------------


def test_a_lease_is_taken_by_one_worker_per_round(app) -> None:
    from mura.app.core import leases
    from mura.app.models.base import utcnow

    with app.app_context():
        now = utcnow()
        assert leases.take("sweep", "a:1", 30, now=now)
        assert not leases.take("sweep", "b:2", 30, now=now + timedelta(seconds=29))
        assert not leases.take("sweep", "a:1", 30, now=now + timedelta(seconds=29))
        # The round is over (or its holder died): whoever asks first takes the next one.
        assert leases.take("sweep", "b:2", 30, now=now + timedelta(seconds=31))
        assert not leases.take("sweep", "a:1", 30, now=now + timedelta(seconds=32))
        # Another duty has a lease of its own; the hourly checks start an hour after the first
        # look, as Celery beat started them.
        assert not leases.take("rights", "a:1", 3600, now=now, first_now=False)
        assert not leases.take("rights", "b:2", 3600, now=now + timedelta(minutes=59))
        assert leases.take("rights", "b:2", 3600, now=now + timedelta(minutes=61))


def test_two_workers_sweep_once_per_round_and_survive_a_missing_schema(
    app,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mura.app.extensions import db
    from mura.app.modules.digitization import jobs
    from mura.workers.periodic import PeriodicDuties

    swept: list[int] = []
    monkeypatch.setattr(jobs, "sweep", lambda: swept.append(1) or {"pages_resent": 0})
    first, second = PeriodicDuties(app), PeriodicDuties(app)
    first.run_once()  # the start-up sweep of each worker: not leased
    second.run_once()
    assert len(swept) == 2
    first.run_once()
    second.run_once()
    assert len(swept) == 3, "both workers swept in the same round"
    # The schema gone (a worker started before `mura db upgrade`): logged once, no exception.
    with app.app_context():
        db.session.execute(db.text("DROP TABLE worker_leases"))
        db.session.commit()
    with caplog.at_level("DEBUG", logger="workers.periodic"):
        first.run_once()
        first.run_once()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "worker_leases" in warnings[0].getMessage()


@pytest.mark.production
def test_a_lease_is_taken_once_when_workers_race_on_postgresql(tmp_path: Path) -> None:
    """Eight threads ask for the same round at once: exactly one gets it (an atomic UPDATE)."""
    from concurrent.futures import ThreadPoolExecutor

    from mura.app.core import leases
    from mura.app.extensions import db
    from mura.app.models.base import utcnow

    with fresh_stack("production", tmp_path / "home") as stack:
        app = stack.app
        now = utcnow()

        def ask(n: int) -> bool:
            with app.app_context():
                try:
                    return leases.take("sweep", f"w:{n}", 30, now=now)
                finally:
                    db.session.remove()

        for _ in range(3):
            with ThreadPoolExecutor(8) as pool:
                got = list(pool.map(ask, range(8)))
            assert sum(got) == 1, got
            now += timedelta(seconds=31)


# --- every worker sweeps: a SIGKILLed worker's pages come back without any --beat worker ---------


@pytest.mark.production
def test_worker_killed_without_a_beat_worker_every_page_exactly_once(tmp_path: Path) -> None:
    """Redis keeps a dead worker's prefetched pages invisible for its visibility timeout (15
    min): only a sweep after the restart sends them again, and no worker here runs ``--beat``."""
    count = 16
    pages = render_pages(tmp_path / "pages", count)
    with fresh_stack("production", tmp_path / "home", DEFAULT_ACCESS="public_domain") as stack:
        # The worker first, then the job: each page is sent once (a start-up sweep would send
        # the waiting pages of a job ingested before it a second time, hiding the loss).
        first = start_worker(stack, "-c", "2", "--no-beat")
        job = _ingest(stack, pages)
        # Some done, some running, up to four prefetched by the worker and unacknowledged. With
        # no page running at the kill, the new worker's start-up sweep alone would resend the
        # rest: the periodic one is what this test is about.
        wait_until(
            lambda: (c := page_states(stack, job["job_id"]))["done"] >= 4 and c["running"] >= 1,
            300,
            "pages",
            interval=0.02,
        )
        kill_group(first)
        at_kill = page_states(stack, job["job_id"])
        assert at_kill["done"] < count, "too late: the job finished before the kill"
        started = time.monotonic()
        start_worker(stack, "-c", "2", "--no-beat")
        took = wait_until(
            lambda: job_status(stack, job["job_id"]) in ("done", "failed"), 180, "the job"
        )
        print(f"\nkilled with {at_kill}; the job was done {time.monotonic() - started:.1f} s later")
        assert took < 180
        check_every_page_once(stack, job, count)


# --- workers stop when told ----------------------------------------------------------------------


def _ignores_sigterm(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGTERM (its ``SigIgn`` mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(
        next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn")), 16
    )
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def _group(pgid: int) -> list[str]:
    """The processes left in process group ``pgid``."""
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return found.stdout.split()


def _stopped_within(proc: subprocess.Popen, limit: float) -> float:
    start = time.monotonic()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("embedded", "group"),
        ("embedded", "main"),
        pytest.param("production", "group", marks=pytest.mark.production),
    ],
)
def test_worker_stops_within_10_s_of_sigterm_after_a_job(
    kind: str, target: str, tmp_path: Path
) -> None:
    """systemd's default KillMode=control-group sends SIGTERM to every process of the unit."""
    pages = render_pages(tmp_path / "pages", 6)
    with fresh_stack(kind, tmp_path / "home", DEFAULT_ACCESS="public_domain") as stack:
        proc = start_worker(stack, "-c", "2")

        # The cause: a pool process killed by the group's SIGTERM could die holding the pool's
        # queue lock, and the main process waited for it at exit. They must leave SIGTERM to it.
        def pool_ignores_sigterm() -> bool:
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            )
            pids = [int(pid) for pid in children.stdout.split()]
            return bool(pids) and all(_ignores_sigterm(pid) for pid in pids)

        wait_until(pool_ignores_sigterm, 15, "pool processes that leave SIGTERM to the worker")
        job = _ingest(stack, pages)
        wait_until(lambda: job_status(stack, job["job_id"]) == "done", 300, "the job")
        time.sleep(1)  # the job's last task acknowledged, the worker idle again
        if target == "group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        took = _stopped_within(proc, 30)
        print(f"\n[{kind}] SIGTERM to the {target}: stopped in {took:.1f} s")
        assert took < 10, f"still running {took} s after SIGTERM\n{worker_log(stack)}"
        # Nothing of it is left behind: no pool child, no beat process.
        wait_until(
            lambda: not _group(proc.pid), 3, f"the worker's group to end: {_group(proc.pid)}"
        )


# --- a worker started before the schema ----------------------------------------------------------


def test_worker_started_before_the_schema_keeps_its_heartbeat_and_sweeps(tmp_path: Path) -> None:
    """Before, its ready handler died on "no such table: pages" and never started the heartbeat:
    ``mura ingest --wait`` then started a second worker beside it."""
    from mura.workers import heartbeat

    home = tmp_path / "home"
    settings = {**_embedded(home), "SWEEP_INTERVAL_S": 1, "QUEUED_RESEND_S": 2}
    home.mkdir(parents=True)
    stack = Stack("embedded", home, _stack_env(home, settings), settings)
    proc = start_worker(stack, "-c", "1")
    try:
        wait_until(lambda: heartbeat.alive(home), 15, "the worker's heartbeat")
        stack.mura("db", "upgrade")
        pages = render_pages(tmp_path / "pages", 2)
        job = _ingest(stack, pages)
        wait_until(lambda: job_status(stack, job["job_id"]) == "done", 120, "the job")
        # `mura ingest --wait` finds this worker and starts none of its own.
        out = stack.mura("jobs", "--json").stdout
        assert '"done"' in out
        assert len(heartbeat.alive(home)) == 1
        log = stack.worker_log.read_text()
        assert "Traceback" not in log, log[-3000:]
        assert proc.poll() is None
    finally:
        stack.stop_worker(signal.SIGKILL)
        if stack._app is not None:
            from mura.app.extensions import db

            with stack._app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_a_message_lost_after_start_is_sent_again_without_beat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the embedded broker too: the job's messages never reach the broker (lost after the
    worker's start-up sweep), and the worker, started with ``--no-beat``, sends them again."""
    from mura.app.core import queue

    pages = render_pages(tmp_path / "pages", 2)
    with fresh_stack("embedded", tmp_path / "home", DEFAULT_ACCESS="public_domain") as stack:
        start_worker(stack, "-c", "1", "--no-beat")
        time.sleep(1)  # past the start-up sweep
        monkeypatch.setattr(queue, "send_now", lambda *args: None)
        job = _ingest(stack, pages)
        monkeypatch.undo()
        took = wait_until(lambda: job_status(stack, job["job_id"]) == "done", 60, "the job")
        print(f"\nlost messages sent again; the job was done in {took:.1f} s")
