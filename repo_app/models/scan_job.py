"""A scan job: the OCR of one upload of page images into a document's searchable PDF."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column
from mura.app.models.document import Document
from mura.app.models.user import Branch, User

#: queued → running (pages) → assembling (PDF) → indexing → done; failed when no output is possible.
JOB_STATES = ("queued", "running", "assembling", "indexing", "done", "failed")


class ScanJob(db.Model):
    """Progress of a job is counted from its pages; its own state covers the stages after OCR."""

    __tablename__ = "scan_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    langs: Mapped[str] = mapped_column(String(100))
    #: Page options for the pipeline (dpi hint, rotate, deskew, clean).
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    #: Lease of the stage after OCR (assembling, indexing), renewed by the task that holds it.
    stage_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Who uploaded it (empty for `mura ingest` without --user) and the branch they worked for.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)

    document: Mapped[Document] = relationship()
    created_by: Mapped[User | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    pages: Mapped[list[Page]] = relationship(  # noqa: F821
        back_populates="job", order_by="Page.seq", cascade="all, delete-orphan"
    )
