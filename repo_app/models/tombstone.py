"""What OAI-PMH harvesters are told about documents that were public and are no longer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mura.app.extensions import db
from mura.app.models.base import utcnow


class OaiTombstone(db.Model):
    """A withdrawn document: kept after the document row itself may be gone (no foreign key)."""

    __tablename__ = "oai_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(Integer, unique=True)
    #: The OAI setSpecs of the document's collections when it was withdrawn, for selective
    #: harvests: " a b " (space-separated, padded), or one bare setSpec (before many-to-many).
    set_spec: Mapped[str | None] = mapped_column(String(2000), index=True)
    #: The datestamp harvesters see on the deleted record.
    withdrawn_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
