"""Leases on periodic duties: each round of a duty is run by one worker, whichever asks first.

Every worker asks every few seconds (``workers/periodic.py``). A round is a row of
``worker_leases`` whose ``until`` has passed; the worker whose conditional UPDATE moves it on
runs the round. PostgreSQL re-checks the condition of a concurrent UPDATE on the row it waited
for, and SQLite runs one writer at a time, so two workers never both get a round. A worker that
dies simply stops asking: the next round goes to another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mura.app.extensions import db
from mura.app.models.base import utcnow
from mura.app.models.lease import WorkerLease


def take(
    name: str,
    holder: str,
    seconds: float,
    now: datetime | None = None,
    first_now: bool = True,
) -> bool:
    """Take the current round of duty ``name`` for ``seconds`` if it is free; commits.

    Args:
        name: The duty (``sweep``, ``rights``, ``fixity``).
        holder: Who takes it (``host:pid``), for the record.
        seconds: The round's length: nobody else gets the duty before it ends.
        now: The clock (tests move it).
        first_now: Whether the first round ever is run at once; if not, it starts after
            ``seconds`` (as Celery beat did for the hourly checks of a new installation).

    Returns:
        True when this caller runs the round.
    """
    now = now or utcnow()
    until = now + timedelta(seconds=seconds)
    # A read first: most looks find the round taken, and an UPDATE would take SQLite's write
    # lock each time even when it changes nothing.
    busy = select(WorkerLease.name).where(WorkerLease.name == name, WorkerLease.until > now)
    if db.session.scalar(busy) is not None:
        db.session.rollback()
        return False
    moved = db.session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.until <= now)
        .values(holder=holder, until=until)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if moved:
        return True
    if db.session.get(WorkerLease, name) is not None:
        db.session.rollback()
        return False
    # The duty's first round ever: one INSERT wins, the others meet its primary key.
    db.session.add(WorkerLease(name=name, holder=holder, until=until))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return first_now
