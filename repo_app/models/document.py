"""A digitized document: a book, or an article from a newspaper, journal or book."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow
from mura.app.models.collection import Collection
from mura.app.models.collection_item import CollectionItem
from mura.app.models.record import CatalogueRecord
from mura.app.models.stored_file import StoredFile
from mura.app.models.user import User

DOC_TYPES = (
    "book",
    "newspaper_article",
    "journal_article",
    "book_article",
    "newspaper_issue",
    "journal_issue",
)
#: Whole issues of a newspaper or journal: sources that articles are clipped from. They are
#: OCRed like any document but not counted in the annual report (their articles are) and not
#: public unless decided so (a mark or a contract; modules/rights/rights.py ``decide``).
SOURCE_TYPES = ("newspaper_issue", "journal_issue")
#: Articles: documents whose pages are clippings of regions of a source's pages
#: (models/article.py, modules/digitization/articles.py).
ARTICLE_TYPES = ("newspaper_article", "journal_article", "book_article")
#: The document workflow (repo_app/modules/digitization/workflow.py): an upload starts ``scanned``;
#: its OCR
#: done, ``ocr_done``; staff checked the text and send it for approval, ``reviewed``; a reviewer
#: approves, ``published``, or returns it to staff with a comment, ``returned``. Only
#: ``published`` documents are shown to the public (repo_app/modules/rights/visibility.py).
#: ``withdrawn``: an administrator took it off the public site; kept, and can be restored
#: (repo_app/modules/digitization/lifecycle.py).
WORKFLOW_STATES = ("scanned", "ocr_done", "reviewed", "published", "returned", "withdrawn")


class Document(db.Model):
    """What the public finds and reads; its pages come from its scan jobs."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(1000))
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    doc_type: Mapped[str] = mapped_column(String(30))
    #: Tesseract language codes joined by '+', e.g. "kaz+rus".
    langs: Mapped[str] = mapped_column(String(100))
    year: Mapped[int | None] = mapped_column(Integer)
    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The catalogue record; when set, title, authors, type, languages and year derive from it.
    record_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_records.id"), index=True)
    #: Which volume or issue of the record this is ("Т. 2", "№ 45"), added to the derived title.
    part_label: Mapped[str | None] = mapped_column(String(200))
    # --- rights, computed by services.rights.refresh_rights (never typed by hand) ---
    #: "online", "reading_room", "record_only" or "not_public" (models.rights.ACCESS_LEVELS).
    access: Mapped[str] = mapped_column(
        String(20), default="not_public", server_default="not_public", index=True
    )
    #: Why, in words staff read ("contract 12/2024 (2024-01-01 – 2026-12-31): ...").
    access_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    access_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    access_download: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    access_print: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The rights statement URI shown on public pages and in dc:rights.
    rights_uri: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # --- workflow, moved only by services.workflow ---
    #: One of WORKFLOW_STATES. A row made outside the upload workflow (a restored bag, a bulk
    #: load, documents from before the workflow existed) is ``published`` as it always was:
    #: rights still decide what the public sees; an upload starts ``scanned`` (services.ingest).
    status: Mapped[str] = mapped_column(
        String(20), default="published", server_default="published", index=True
    )
    #: Published as soon as its OCR is done whatever ``REVIEW_REQUIRED`` says (the demo's
    #: sample texts, written for it).
    skip_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Why a reviewer returned it to staff (kept after a resubmission, for the record).
    review_comment: Mapped[str | None] = mapped_column(Text)
    #: Who last sent it for approval (state ``reviewed``: "checked the OCR") and when.
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Who last returned it to staff, and when.
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When it was last published, and by whom (None: automatically, REVIEW_REQUIRED off).
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    #: Its collections (models.collection_item), in the order they were given; one row each.
    memberships: Mapped[list[CollectionItem]] = relationship(
        cascade="all, delete-orphan",
        order_by=lambda: (CollectionItem.added_at, CollectionItem.collection_id),
        passive_deletes=True,
    )
    pdf_file: Mapped[StoredFile | None] = relationship()
    record: Mapped[CatalogueRecord | None] = relationship(back_populates="documents")
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def collections(self) -> list[Collection]:
        """Every collection the document is in, in the order they were given."""
        return [item.collection for item in self.memberships]

    @property
    def collection(self) -> Collection | None:
        """Deprecated: the first of :attr:`collections` (code written for one collection).

        Setting it adds the document to that collection (keeping the others): it never moves
        a document out of a collection, which is what staff complained about.
        """
        return self.memberships[0].collection if self.memberships else None

    @collection.setter
    def collection(self, collection: Collection | None) -> None:
        if collection is None:
            self.memberships.clear()  # "in no collection", as the old column's None said
        elif collection not in self.collections:
            self.memberships.append(CollectionItem(collection=collection))

    @property
    def collection_id(self) -> int | None:
        """Deprecated: the id of the first of :attr:`collections` (see :attr:`collection`)."""
        return self.memberships[0].collection_id if self.memberships else None

    @collection_id.setter
    def collection_id(self, collection_id: int | None) -> None:
        if collection_id is None:
            self.memberships.clear()
        elif all(item.collection_id != collection_id for item in self.memberships):
            self.memberships.append(CollectionItem(collection_id=collection_id))

    @property
    def collection_position(self) -> int | None:
        """Deprecated: the position in the first of :attr:`collections`."""
        return self.memberships[0].position if self.memberships else None

    @collection_position.setter
    def collection_position(self, position: int | None) -> None:
        if self.memberships:
            self.memberships[0].position = position

    @property
    def languages(self) -> list[str]:
        """The OCR language codes as a list."""
        return [code for code in self.langs.split("+") if code]
