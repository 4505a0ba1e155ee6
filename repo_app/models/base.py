"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import mapped_column


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use (tests may move it)."""
    return datetime.now(UTC)


def created_at_column():
    """A ``created_at`` column filled on insert."""
    return mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
