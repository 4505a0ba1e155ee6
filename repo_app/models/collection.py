"""Thematic collections ("Karlag", "Karaganda coal basin", ...)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column
from mura.app.models.stored_file import StoredFile


class Collection(db.Model):
    """A named set of documents, addressed in URLs and the CLI by its slug."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The title in each interface language; ``title`` is shown where one is missing.
    title_kk: Mapped[str] = mapped_column(String(500), default="", server_default="")
    title_ru: Mapped[str] = mapped_column(String(500), default="", server_default="")
    title_en: Mapped[str] = mapped_column(String(500), default="", server_default="")
    cover_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    #: Without a cover image: a page of one of its documents (a plain id: a document deleted
    #: later leaves the first document's first page, discovery/thumbnails.collection_cover).
    cover_document_id: Mapped[int | None] = mapped_column(Integer)
    cover_seq: Mapped[int | None] = mapped_column(Integer)
    #: The branch library that keeps the collection (its name or code).
    branch: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = created_at_column()

    cover_file: Mapped[StoredFile | None] = relationship()

    def title_in(self, locale: str) -> str:
        """The title in ``locale`` ("kk", "ru", "en"), else the main title."""
        return getattr(self, f"title_{locale}", "") or self.title
