"""Periodic duties run by every worker: the sweeper, the rights check, the fixity check.

Before, only the worker started with ``--beat`` ran them (Celery beat), so while it was down
nobody sent again what a dead worker had left (with Redis, a dead worker's prefetched pages
waited out the 15-minute visibility timeout). Now a thread in every worker's main process asks
each few seconds for the current round of each duty; a lease in the database
(``repo_app/core/leases.py``) gives every round to exactly one worker.

The duties and their intervals are Celery's ``beat_schedule`` (``workers/celery_app.py``). The
sweep runs here, in the thread: it must not wait in a queue this worker may not consume. The
others are sent as tasks to their queue (``mura``), as beat sent them, and, as with beat, a new
installation has their first round after one interval.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask
from sqlalchemy.exc import OperationalError, ProgrammingError

log = logging.getLogger(__name__)

SWEEP = "sweep"
#: The longest wait between two looks at the leases (a duty's round may start this much late).
MAX_TICK_S = 10.0


class PeriodicDuties:
    """The daemon thread of one worker that runs the duties' rounds it gets."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.schedule = {
            name: (entry["task"], entry["schedule"].total_seconds())
            for name, entry in app.extensions["celery"].conf.beat_schedule.items()
        }
        self.tick_s = max(0.5, min([MAX_TICK_S, *(s for _, s in self.schedule.values())]))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mura-periodic", daemon=True)
        self.started_up = False
        self._last_problem: str | None = None

    def start(self) -> PeriodicDuties:
        """Start the thread (a daemon: it never keeps a stopping worker alive)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for the round it may be in (bounded: it is a daemon)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.tick_s)

    def run_once(self) -> None:
        """One look: the start-up sweep until it has run, then every round this worker gets.

        A database that is not there yet (a worker started before ``mura db upgrade``) or away
        for a moment is logged and tried again next tick; nothing else stops the thread.
        """
        from mura.app.core import leases
        from mura.app.extensions import db
        from mura.app.modules.digitization import jobs

        with self.app.app_context():
            try:
                swept = False
                if not self.started_up:
                    # This worker's own dead processes (same host) are known only here.
                    log.info("worker ready; start-up sweep: %s", jobs.sweep())
                    self.started_up = swept = True
                holder = f"{jobs.worker_host()}:{os.getpid()}"
                for name, (task, seconds) in self.schedule.items():
                    if name == SWEEP and swept:
                        continue  # just done; the next round is the others' or ours later
                    if leases.take(name, holder, seconds, first_now=name == SWEEP):
                        self._run_duty(name, task)
                self._last_problem = None
            except (OperationalError, ProgrammingError) as exc:
                problem = str(exc.orig).strip().splitlines()[0]
                # Once per kind of problem, not every tick while the schema is missing.
                report = log.warning if problem != self._last_problem else log.debug
                report(
                    "periodic duties: database unavailable or not upgraded (%s); "
                    "trying again every %.0f s",
                    problem,
                    self.tick_s,
                )
                self._last_problem = problem
            except Exception:
                log.exception("periodic duties: round failed; trying again next tick")
            finally:
                try:
                    db.session.remove()
                except Exception:
                    log.debug("session not removed cleanly", exc_info=True)

    def _run_duty(self, name: str, task: str) -> None:
        from mura.app.core.queue import send_now
        from mura.app.modules.digitization import jobs

        if name == SWEEP:
            report = jobs.sweep()
            if any(report.values()):
                log.info("sweep: %s", report)
        else:
            send_now(task)
