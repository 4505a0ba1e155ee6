"""Rights: who holds them, the author contracts the library signs, and marks on documents.

The contract is the source of truth for what the library may publish. What a document's rights
add up to is computed by :mod:`mura.app.modules.rights.rights` and materialised on the document
(``Document.access`` and its companions) so lists, OAI-PMH and search can filter in SQL.
Nothing here is ever deleted: contracts end (``expired``, ``terminated``), holders stay.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow
from mura.app.models.record import CatalogueRecord
from mura.app.models.stored_file import StoredFile
from mura.app.models.user import Branch

#: A rights holder is a person (an author, an heir) or an organisation (a publisher, a society).
HOLDER_KINDS = ("person", "organisation")
#: How a holder takes part in a contract.
PARTY_ROLES = ("author", "heir", "organisation")
#: ``draft`` and ``terminated`` are set by people; ``expired`` by the daily check when the term
#: ends; only ``active`` contracts grant anything.
CONTRACT_STATUSES = ("draft", "active", "expired", "terminated")
#: What a contract may grant, in the order the forms and the spreadsheet list them.
GRANTS = ("digitize", "publish_online", "reading_room", "download", "print")
#: An administrator's mark on a document. ``none`` says "the library holds no rights of its
#: own": only the author's dates and contracts decide (``MURA_DEFAULT_ACCESS`` does not apply).
MARKS = ("public_domain", "library_owned", "none")
#: The computed access of a document, from most to least open.
ACCESS_LEVELS = ("online", "reading_room", "record_only", "not_public")


class RightsHolder(db.Model):
    """An author, an heir or an organisation that signs contracts with the library.

    Contact details are for administrators only: no public view reads this table.
    """

    __tablename__ = "rights_holders"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="person")
    #: As the contract names them: "Әлімжанов Серік Ахметұлы", "ТОО «Болашақ-Баспа»".
    name: Mapped[str] = mapped_column(String(500))
    #: For persons: years of life, for the contract draft and the public-domain check by staff.
    birth_year: Mapped[int | None] = mapped_column(Integer)
    death_year: Mapped[int | None] = mapped_column(Integer)
    # --- contacts (administrators only) ---
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(300), default="")
    #: Identity document, IIN/BIN, bank details as the contract needs them.
    identity: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    parties: Mapped[list[ContractParty]] = relationship(back_populates="holder")


class Contract(db.Model):
    """An author contract: parties, works, term, rights granted, remuneration, the signed scan."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The library's number for it ("12/2024"), unique: the import matches on it.
    number: Mapped[str] = mapped_column(String(100), unique=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    #: None: the contract runs indefinitely.
    ends_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    #: A subset of :data:`GRANTS`.
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: As agreed, free text: "безвозмездно", "150 000 тенге".
    remuneration: Mapped[str] = mapped_column(String(500), default="")
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    #: The scanned signed contract, in the private store (served to administrators only).
    scan_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Why it was terminated early, when it was.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    branch: Mapped[Branch | None] = relationship()
    scan_file: Mapped[StoredFile | None] = relationship()
    parties: Mapped[list[ContractParty]] = relationship(
        back_populates="contract", order_by="ContractParty.position", cascade="all, delete-orphan"
    )
    works: Mapped[list[ContractWork]] = relationship(
        back_populates="contract", order_by="ContractWork.position", cascade="all, delete-orphan"
    )


class ContractParty(db.Model):
    """A rights holder who signs a contract, as author, heir or organisation."""

    __tablename__ = "contract_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    holder_id: Mapped[int] = mapped_column(ForeignKey("rights_holders.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="author")
    position: Mapped[int] = mapped_column(Integer, default=0)

    contract: Mapped[Contract] = relationship(back_populates="parties")
    holder: Mapped[RightsHolder] = relationship(back_populates="parties")


class ContractWork(db.Model):
    """A work a contract covers: a catalogue record, and its title as the contract names it.

    The title stays when the record is deleted (``record_id`` becomes empty), so the contract
    still says what it covered.
    """

    __tablename__ = "contract_works"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(1000), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    contract: Mapped[Contract] = relationship(back_populates="works")
    record: Mapped[CatalogueRecord | None] = relationship()


class DocumentRights(db.Model):
    """An administrator's mark on one document: public domain, library-owned, or none."""

    __tablename__ = "document_rights"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), unique=True
    )
    mark: Mapped[str] = mapped_column(String(20))
    #: Required for a public-domain or library-owned mark: what the decision rests on.
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(150), default="")
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
