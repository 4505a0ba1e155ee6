"""Leases on periodic duties (the sweeper, the rights check, the fixity check).

Every worker runs the duties' timer; a row per duty, taken with one conditional UPDATE, decides
which worker runs each round (``repo_app/core/leases.py``). So no worker is special: any one
of them dying leaves the others to do its rounds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from mura.app.extensions import db


class WorkerLease(db.Model):
    """Who took the current round of a duty, and when the round ends (the next one is free)."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), nullable=False)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
