"""Fresh stacks for fault tests: each test gets its own installation, worker and database.

The session-wide ``stack`` fixture cannot be used for these: the tests kill its worker, restart
its servers and fill its disk. Helpers here start ``mura worker`` with the options a test needs
(``--name`` for a host name; ``--beat`` is accepted and unused: every worker sweeps) and poll
the database, never the broker, for progress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import (
    ROOT,
    Stack,
    _drop_database,
    _embedded,
    _production,
    _stack_env,
    release_redis_db,
)

#: The sweeper every 2 s and lost messages resent after 3 s: recovery in seconds, not minutes.
FAST_RECOVERY = {"SWEEP_INTERVAL_S": 2, "QUEUED_RESEND_S": 3}


@contextmanager
def fresh_stack(kind: str, home: Path, **config: object) -> Iterator[Stack]:
    """A new installation of ``kind`` (embedded | production) with no worker running yet."""
    settings = {"embedded": _embedded, "production": _production}[kind](home)
    pg_db = settings.pop("_PG_DB", None)
    settings.update({**FAST_RECOVERY, **config})
    stack = Stack(kind, home, _stack_env(home, settings), settings)
    try:
        stack.mura("db", "upgrade")
        yield stack
    finally:
        stack.stop_worker(signal.SIGKILL)
        if stack._app is not None:
            from mura.app.extensions import db

            with stack._app.app_context():
                db.session.remove()
                db.engine.dispose()
        if pg_db:
            _drop_database(pg_db)
        if kind == "production":
            release_redis_db(settings["BROKER_URL"])


def start_worker(
    stack: Stack, *args: str, env: dict[str, str] | None = None, wait: bool = True
) -> subprocess.Popen:
    """Start ``mura worker ARGS`` in its own process group; wait until it is ready."""
    log_path = stack.home / f"worker-{time.time_ns()}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mura.app.cli", "worker", *args],
            env=env or stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    stack.worker, stack.worker_log = proc, log_path
    deadline = time.monotonic() + 60
    while wait and "ready" not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    return proc


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a worker and its pool children at once (a power cut, the OOM killer)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def page_states(stack: Stack, job_id: int) -> dict[str, int]:
    """The job's pages by state, read from the database."""
    from mura.app.extensions import db
    from mura.app.modules.digitization.jobs import page_counts

    with stack.app.app_context():
        counts = page_counts(job_id)
        db.session.remove()
    return counts


def job_status(stack: Stack, job_id: int) -> str:
    """The job's status column."""
    from mura.app.extensions import db
    from mura.app.models import ScanJob

    with stack.app.app_context():
        status = db.session.get(ScanJob, job_id).status
        db.session.remove()
    return status


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``condition()`` until it is true; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def worker_log(stack: Stack) -> str:
    """The current worker's log, for assertion messages."""
    path = getattr(stack, "worker_log", None)
    return path.read_text()[-5000:] if path and path.exists() else ""
