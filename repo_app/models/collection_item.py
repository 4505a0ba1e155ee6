"""A document's place in a collection: a document may be in several collections at once.

Thematic folders overlap in real libraries (a report on the Karlag camp belongs in "Карлаг" and
in "Қарағанды тарихы"), so membership is a row of its own, with the document's position in
that collection's order (each collection orders its items independently).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import utcnow
from mura.app.models.collection import Collection


class CollectionItem(db.Model):
    """One document in one collection, at a position of that collection's order."""

    __tablename__ = "collection_items"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: Place in the collection's order (lowest first; unordered items come last, by document id).
    position: Mapped[int | None] = mapped_column(Integer)
    #: When it was added: a document's collections are listed in the order they were given.
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collection: Mapped[Collection] = relationship(lazy="joined")
