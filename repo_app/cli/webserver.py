"""The production web server: several pre-forked processes (gunicorn), or one (waitress).

One Python process serves one request at a time per core at best (the GIL): a search page costs
tens of milliseconds of CPU, so a crowd of readers queues behind it. ``mura serve --workers N``
(default: one process per core) runs gunicorn's pre-fork server: the app is built once in the
master, forked into N processes, and each process opens its own database connections and its
own search-index reader (both are opened lazily, after the fork). Rate limits are counted per
process on the embedded default (``memory://``) and shared through Redis in production. With one
process, or where gunicorn cannot run (not a POSIX system), waitress serves as before.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

#: gunicorn's worker class: threads in each process, so a slow client holds a thread, not a core.
WORKER_CLASS = "gthread"


def default_workers() -> int:
    """One process per core: the search and the templates are CPU-bound."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def can_prefork() -> bool:
    """Whether gunicorn can run here (POSIX and installed)."""
    if os.name != "posix":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def serve_prefork(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``app`` from ``workers`` forked processes of ``threads`` threads each (blocks).

    Returns when the master stops (SIGTERM or SIGINT: a graceful stop of every process).
    """
    from gunicorn.app.base import BaseApplication

    def post_fork(server: Any, worker: Any) -> None:
        # Connections opened by the master (migrations at start) must not be shared with the
        # children: each process opens its own.
        from mura.app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)

    class _Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": WORKER_CLASS,
                "proc_name": "mura-web",
                "post_fork": post_fork,
                "graceful_timeout": 20,
                "timeout": 120,  # a PDF of a 600-page book to a slow reader
                # A kept-alive connection waits in the process's queue while every thread is
                # busy; gunicorn's default (2 s) closed some of them under load, which a client
                # sees as a dropped answer (bench/load_public: 44 read errors in 12,685 requests).
                "keepalive": 15,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "forwarded_allow_ips": "127.0.0.1,::1",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    _Server().run()
