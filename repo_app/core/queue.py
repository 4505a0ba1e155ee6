"""Send Celery tasks only after the transaction that created their rows has committed.

A fast worker would otherwise look for a page that is not there yet (docs/style.md, habit 5).
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from mura.app.extensions import db

log = logging.getLogger(__name__)
_KEY = "mura_after_commit"


def enqueue_after_commit(task_name: str, *args: int) -> None:
    """Queue ``task_name(*args)`` to be sent when the current session commits."""
    db.session.info.setdefault(_KEY, []).append((task_name, args))


def send_now(task_name: str, *args: int) -> None:
    """Send a task at once (the caller has nothing uncommitted that it depends on)."""
    from flask import current_app

    current_app.extensions["celery"].send_task(task_name, args=list(args))


def _flush(session: Session) -> None:
    pending = session.info.pop(_KEY, [])
    for task_name, args in pending:
        try:
            send_now(task_name, *args)
        except Exception:
            # The rows are committed and the sweeper re-sends what never reached the broker.
            log.exception("could not send %s%s; the sweeper will retry", task_name, args)


def _discard(session: Session) -> None:
    session.info.pop(_KEY, None)


def init_app(app: Flask) -> None:
    """Hook the flush into the app's session class (once per process)."""
    from flask_sqlalchemy.session import Session as session_class

    if not event.contains(session_class, "after_commit", _flush):
        event.listen(session_class, "after_commit", _flush)
        event.listen(session_class, "after_soft_rollback", lambda s, prev: _discard(s))
