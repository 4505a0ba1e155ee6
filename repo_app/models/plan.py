"""Plans: what a branch means to digitize in a year, set by an administrator.

The annual report (:mod:`mura.app.modules.administration.reports`) and the dashboard set these
planned
numbers against the actual ones counted from the data. The plan of the whole system is the sum
of its branches' plans.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow
from mura.app.models.user import Branch

#: The planned numbers a plan holds, in the order forms and reports list them.
PLAN_FIELDS = (
    "documents_newspaper_article",
    "documents_journal_article",
    "documents_book_article",
    "documents_book",
    "pages",
    "contracts",
)


class Plan(db.Model):
    """The planned documents per type, pages and contracts of one branch in one year."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("branch_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    documents_newspaper_article: Mapped[int] = mapped_column(Integer, default=0)
    documents_journal_article: Mapped[int] = mapped_column(Integer, default=0)
    documents_book_article: Mapped[int] = mapped_column(Integer, default=0)
    documents_book: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    #: Who set it last (username), for the audit of figures that go to the ministry.
    updated_by: Mapped[str] = mapped_column(String(150), default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    branch: Mapped[Branch] = relationship()

    @property
    def documents(self) -> int:
        """All planned documents, whatever their type."""
        return (
            self.documents_newspaper_article
            + self.documents_journal_article
            + self.documents_book_article
            + self.documents_book
        )
