"""A reader's request for a digital copy of an item the library has not digitized yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow
from mura.app.models.document import Document
from mura.app.models.record import CatalogueRecord

#: new → accepted → scanning → published; or declined (with a note to the reader).
REQUEST_STATUSES = ("new", "accepted", "scanning", "published", "declined")


class CopyRequest(db.Model):
    """What a reader asked for, who they are, and where the request stands.

    The reader follows the request on a status page addressed by :attr:`token` (unguessable);
    with mail configured, the link is also mailed once the copy is online (modules/discovery/
    copy_requests.py). The reader's name and email are for staff only.
    """

    __tablename__ = "copy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The catalogue record asked for, when the reader came from one (or staff matched one).
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="SET NULL"), index=True
    )
    #: What the reader wrote: the item in their own words, or why they need it.
    description: Mapped[str] = mapped_column(Text, default="")
    reader_name: Mapped[str] = mapped_column(String(300))
    reader_email: Mapped[str] = mapped_column(String(300))
    #: The interface language the reader used, for whoever answers them.
    locale: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    #: Shown to the reader on the status page (why declined, when to expect the copy).
    note: Mapped[str] = mapped_column(Text, default="")
    #: The digitized document that answers the request.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    #: The key of the reader's status page: ``secrets.token_urlsafe(24)``.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    record: Mapped[CatalogueRecord | None] = relationship()
    document: Mapped[Document | None] = relationship()
