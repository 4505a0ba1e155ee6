"""Catalogue records: the bibliographic description a digitized document belongs to.

A record is what the library's automated system (Web-RABIS, IRBIS, Koha…) holds about a book, an
issue or an article; one record may have several digitized documents (volumes, issues). Persons,
corporate bodies and subjects are rows of their own, in catalogue order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow

if TYPE_CHECKING:
    from mura.app.models.document import Document

#: Kinds of agent: a person, a corporate body, a meeting (conference) as corporate author.
AGENT_KINDS = ("person", "corporate", "meeting")
#: Relator codes (MARC code list) whose agents are a work's creators; others contribute.
CREATOR_ROLES = ("aut", "cre", "cmp", "art", "pht", "ctg")
#: Kinds of subject access: headings, uncontrolled keywords and classification numbers.
SUBJECT_KINDS = (
    "topic", "person", "corporate", "place", "title", "keyword",
    "udc", "bbk", "ddc", "classification",
)  # fmt: skip


class CatalogueRecord(db.Model):
    """A bibliographic record, as a cataloguer describes an item (ISBD areas, MARC fields)."""

    __tablename__ = "catalogue_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One of ``models.DOC_TYPES``: a book, or an article in a newspaper, journal or book.
    doc_type: Mapped[str] = mapped_column(String(30), default="book")
    title: Mapped[str] = mapped_column(String(1000))
    #: Other title information (UNIMARC 200$e, MARC 21 245$b).
    subtitle: Mapped[str] = mapped_column(String(1000), default="")
    #: Number and name of a part or volume ("Т. 2. Кн. 4. Народная дипломатия").
    part: Mapped[str] = mapped_column(String(500), default="")
    #: Statement of responsibility as printed (200$f / 245$c).
    responsibility: Mapped[str] = mapped_column(String(1000), default="")
    edition: Mapped[str] = mapped_column(String(300), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    publisher: Mapped[str] = mapped_column(String(500), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    #: Normalised (digits and X only); the first one if the item has several.
    isbn: Mapped[str] = mapped_column(String(20), default="", index=True)
    issn: Mapped[str] = mapped_column(String(9), default="")
    #: Physical description: extent ("80 с."), illustrations ("ил., портр."), size ("21 см").
    extent: Mapped[str] = mapped_column(String(300), default="")
    illustrations: Mapped[str] = mapped_column(String(300), default="")
    dimensions: Mapped[str] = mapped_column(String(100), default="")
    series: Mapped[str] = mapped_column(String(500), default="")
    #: For articles, the host item: "Индустриальная Караганда", 2023, № 45, 14.11.2023, p. 3.
    host_title: Mapped[str] = mapped_column(String(1000), default="")
    host_year: Mapped[int | None] = mapped_column(Integer)
    host_issue: Mapped[str] = mapped_column(String(100), default="")
    host_date: Mapped[date | None] = mapped_column(Date)
    host_pages: Mapped[str] = mapped_column(String(100), default="")
    #: ISO 639-2/B codes as in MARC ("kaz", "rus", "kir", "eng").
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    local_lore: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The branch library that holds the item (its name or code in the library system).
    branch: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The record's id in the library system (MARC 001) and a link to it in the OPAC.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    external_url: Mapped[str] = mapped_column(String(1000), default="")
    #: Where the record came from: "unimarc", "marc21" (imported) or "" (made in Mura).
    source_format: Mapped[str] = mapped_column(String(20), default="")
    #: The imported record as received, in MARCXML, so nothing the mapping drops is lost.
    source_marc: Mapped[str | None] = mapped_column(Text)
    #: Case-folded title, names and numbers for the staff picker (SQLite cannot fold Cyrillic).
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    agents: Mapped[list[RecordAgent]] = relationship(
        back_populates="record", order_by="RecordAgent.position", cascade="all, delete-orphan"
    )
    subjects: Mapped[list[RecordSubject]] = relationship(
        back_populates="record", order_by="RecordSubject.position", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="record", order_by="Document.id"
    )

    @property
    def full_title(self) -> str:
        """Title and part, as a reader cites it: "Задачи и этюды. Вып. 13"."""
        return ". ".join(p.rstrip(". ") for p in (self.title, self.part) if p) or self.title

    @property
    def creators(self) -> list[RecordAgent]:
        """Authors and other creators, in catalogue order."""
        return [a for a in self.agents if a.role in CREATOR_ROLES]

    @property
    def contributors(self) -> list[RecordAgent]:
        """Editors, translators, illustrators and others, in catalogue order."""
        return [a for a in self.agents if a.role not in CREATOR_ROLES]

    @property
    def host_citation(self) -> str:
        """The host item as a citation: "Индустриальная Караганда. – 2023. – № 45. – С. 3"."""
        if not self.host_title:
            return ""
        parts = [self.host_title]
        if self.host_year:
            parts.append(str(self.host_year))
        if self.host_date:
            parts.append(self.host_date.strftime("%d.%m.%Y"))
        parts += [p for p in (self.host_issue, self.host_pages) if p]
        return ". – ".join(parts)


class RecordAgent(db.Model):
    """A person or corporate body responsible for the work, with a MARC relator code."""

    __tablename__ = "record_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20), default="person")
    #: Inverted for persons ("Барсуков, В. Н."), as the catalogue heading reads.
    name: Mapped[str] = mapped_column(String(500))
    #: MARC relator code ("aut", "edt", "trl", "ill", "ctb"...).
    role: Mapped[str] = mapped_column(String(10), default="aut")
    dates: Mapped[str] = mapped_column(String(100), default="")
    #: Id of the authority record in the library system, if the heading is controlled.
    authority_id: Mapped[str] = mapped_column(String(200), default="")

    record: Mapped[CatalogueRecord] = relationship(back_populates="agents")


class RecordSubject(db.Model):
    """A subject heading, keyword or classification number of a record."""

    __tablename__ = "record_subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20), default="topic")
    #: The heading with its subdivisions joined by " -- " ("Туризм -- История").
    term: Mapped[str] = mapped_column(String(1000))
    #: Thesaurus or classification scheme ("nlr-sh", "lcsh", "rubbk"), if given.
    scheme: Mapped[str] = mapped_column(String(50), default="")
    authority_id: Mapped[str] = mapped_column(String(200), default="")

    record: Mapped[CatalogueRecord] = relationship(back_populates="subjects")
