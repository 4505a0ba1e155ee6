"""``mura`` commands: The processes: the web server, workers, and the demo."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mura.app.cli.base import _cli_locale, cli
from mura.app.extensions import upgrade_database

# --- processes -----------------------------------------------------------------------------------


def _worker_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "mura.app.cli", "worker", *extra]


def _die_with_parent() -> None:
    """In the worker before it starts (Linux): SIGTERM when its parent dies without stopping it."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's stop applies
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def embedded_worker(needed: bool) -> Iterator[subprocess.Popen | None]:
    """Run a worker beside this process while the block runs (embedded broker only).

    The worker gets its own session, so a signal sent to this process's group (a service
    manager, a terminal) reaches it only through the ``finally`` below, as one SIGTERM to its
    main process, which then stops its pool in order. Sent straight to the pool processes too,
    it killed them mid-task and left the worker hanging forever in billiard's pool shutdown,
    waiting for a queue lock a dead child held.
    """
    if not needed:
        yield None
        return
    proc = subprocess.Popen(
        _worker_command("--loglevel", "WARNING"),
        # Celery prints its banner on stdout: sent to stderr, so `mura ingest --wait --json`
        # still prints exactly one JSON object (found by tests/test_packaging.py).
        stdout=sys.stderr,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


#: Threads per web process. Pages are CPU-bound under the GIL: with a process per core, more
#: threads only contend (bench/load_public, 10,000 pages, tantivy, 2 cores, 20 s: 2 threads
#: 276 requests/s p95 256 ms, 4: 261 / 278 ms, 8: 233 / 503 ms); a few keep a slow client
#: from holding a whole process. One process (waitress) needs more to overlap waiting.
PREFORK_THREADS = 4
SINGLE_THREADS = 8


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=int,
    help="Web processes (default: MURA_WEB_WORKERS, else one per core when rate limits are "
    "shared through Redis, one otherwise).",
)
@click.option(
    "--threads",
    type=int,
    help=f"Threads per process (default: {PREFORK_THREADS} with several processes, "
    f"{SINGLE_THREADS} with one).",
)
@click.option("--no-worker", is_flag=True, help="Do not start the embedded worker.")
@with_appcontext
def serve(host: str, port: int, workers: int | None, threads: int | None, no_worker: bool) -> None:
    """Serve the web app; on the embedded default, with a worker beside it.

    Several processes (gunicorn, pre-fork) on Linux; one (waitress) with --workers 1.
    """
    upgrade_database()
    _serve(host, port, threads, no_worker, workers)


def _serve(
    host: str, port: int, threads: int | None, no_worker: bool, workers: int | None = None
) -> None:
    from mura.app.cli import webserver as server

    app = current_app._get_current_object()
    want_worker = app.config["EMBEDDED_BROKER"] and app.config["EMBEDDED_WORKER"] and not no_worker
    shared_limits = not app.config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    # Rate limits (logins, search) count in each process's memory on the embedded default: one
    # process keeps them exact; with Redis they are shared, and every core serves.
    workers = (
        workers or app.config["WEB_WORKERS"] or (server.default_workers() if shared_limits else 1)
    )
    prefork = workers > 1 and server.can_prefork()
    threads = threads or (PREFORK_THREADS if prefork else SINGLE_THREADS)
    if prefork and not shared_limits:
        click.echo(
            f"warning: rate limits count per process ({workers} processes): "
            "set MURA_RATELIMIT_STORAGE_URI=redis://… to share them",
            err=True,
        )
    if not prefork:
        # SIGTERM (systemd, docker, kill) ends waitress's loop as Ctrl-C does, so the embedded
        # worker is stopped on the way out instead of being left behind. gunicorn's master
        # handles SIGTERM itself (a graceful stop) and then leaves this block the same way.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with embedded_worker(want_worker):
        how = f"{workers} processes" if prefork else "1 process"
        click.echo(f"Mura on http://{host}:{port}/  ({how}, MURA_HOME={app.config['HOME']})")
        if prefork:
            server.serve_prefork(app, host, port, workers, threads)
        else:
            import waitress

            waitress.serve(app, host=host, port=port, threads=threads, ident="Mura")


@cli.command()
@click.option("-c", "--concurrency", type=int, help="Worker processes (default: config).")
@click.option("-Q", "--queues", default="ocr,pdf,index,mura", show_default=True)
@click.option(
    "--beat/--no-beat",
    default=None,
    help="Accepted for old units; unused: every worker runs the periodic sweeper.",
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--name", help="Host name recorded on pages (default: MURA_WORKER_NAME).")
@with_appcontext
def worker(
    concurrency: int | None, queues: str, beat: bool | None, loglevel: str, name: str | None
) -> None:
    """Run a Celery worker (any number, on any machine sharing the store and database)."""
    from mura.workers.celery_app import connect_worker_signals

    app = current_app._get_current_object()
    if name:
        app.config["WORKER_NAME"] = name  # the pool's children are forked: they inherit it
    connect_worker_signals(app)
    host = app.config["WORKER_NAME"] or "%h"
    # `beat` is ignored: the sweeper, rights and fixity checks run in every worker, one worker
    # per round by a database lease (workers/periodic.py), so no worker is special. Celery beat
    # in a worker was also one more process to stop on SIGTERM.
    del beat
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency or app.config['WORKER_CONCURRENCY']}",
        f"--queues={queues}",
        f"--hostname=mura-{host}-{Path(app.config['HOME']).name}-{_pid()}",
    ]
    app.extensions["celery"].worker_main(argv)


def _pid() -> int:
    import os

    return os.getpid()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the sample collection.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Create a small sample collection (rendered here) and serve it."""
    from mura.app.modules.digitization.demo import create_demo_accounts, create_sample

    upgrade_database()
    with _cli_locale():
        accounts_made = create_demo_accounts()
        created = create_sample()
    click.echo(f"sample collection: {created} new document(s) queued for OCR")
    _print_demo_accounts(accounts_made)
    if not no_serve:
        _serve(host, port, None, no_worker=False)


def _print_demo_accounts(made: list[tuple[str, str | None, str]]) -> None:
    """The demo's logins, printed so a person can try the staff screens (demo only)."""
    click.echo("")
    click.echo("Demo accounts (for trying Mura only; never on a public server):")
    for username, password, role in made:
        shown = password if password else "(unchanged: it existed before)"
        click.echo(f"  {role:<6} user: {username:<8} password: {shown}")
    click.echo("  log in at /login")
    click.echo("")
