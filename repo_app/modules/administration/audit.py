"""The audit log of staff and administrator actions.

Any service or view records what a person did with :func:`record`; the row joins the caller's
transaction, so an action that is rolled back leaves no trace and one that is committed always
does. Who and from where are taken from the request when there is one::

    audit.record("job.retry", "scan_job", job.id, pages=3)
    db.session.commit()

Details are stored as JSON: pass plain values (str, int, bool, lists, dicts), never a password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import has_request_context, request
from sqlalchemy import Select, select

from mura.app.extensions import db
from mura.app.models import AuditEvent, User

PER_PAGE = 50


def record(
    action: str,
    obj_type: str = "",
    obj_id: object = None,
    *,
    actor: User | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's transaction).

    Args:
        action: dotted verb, e.g. ``"auth.login"``, ``"user.update"``, ``"job.upload"``.
        obj_type: what was acted on (``"user"``, ``"branch"``, ``"scan_job"``...).
        obj_id: its id (stored as text, so usernames and codes fit too).
        actor: who did it; default: the logged-in user of the current request, if any.
        **details: JSON-ready facts worth keeping (changed fields, counts, the way it came).

    Returns:
        The new event, not yet committed.
    """
    if actor is None:
        actor = _current_user()
    if not has_request_context():
        details.setdefault("via", "cli")
    # Dates, paths and the like become text now, not a failed flush in the caller's commit.
    details = json.loads(json.dumps(details, default=str))
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        username=actor.username if actor is not None else "",
        action=action,
        object_type=obj_type,
        object_id="" if obj_id is None else str(obj_id)[:100],
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def _current_user() -> User | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user._get_current_object() if current_user.is_authenticated else None


@dataclass
class Filters:
    """What the audit screen searches by; empty fields do not filter."""

    username: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    #: Whole days in the display time zone, both included.
    date_from: date | None = None
    date_to: date | None = None


def query(filters: Filters, tz_name: str = "UTC") -> Select:
    """The events matching ``filters``, newest first.

    Args:
        filters: the search.
        tz_name: the IANA time zone the dates are meant in (the UI's), e.g. "Asia/Almaty".
    """
    tz = ZoneInfo(tz_name)
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if filters.username:
        stmt = stmt.where(AuditEvent.username == filters.username.strip().casefold())
    if filters.action:
        # "auth" finds every auth.* action; "auth.login" finds exactly that one.
        action = filters.action.strip()
        stmt = stmt.where(
            (AuditEvent.action == action) | AuditEvent.action.startswith(f"{action}.")
        )
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type.strip())
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id.strip())
    if filters.date_from:
        stmt = stmt.where(AuditEvent.created_at >= _start_of(filters.date_from, tz))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.created_at < _start_of(filters.date_to + timedelta(1), tz))
    return stmt


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    # In UTC: SQLite stores the UTC clock without its zone, so the bound must be UTC too.
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def object_types() -> list[str]:
    """The object types that occur in the log (for the search form)."""
    rows = db.session.scalars(select(AuditEvent.object_type).distinct())
    return sorted(t for t in rows if t)
