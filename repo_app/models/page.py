"""One page of a scan job: the unit of OCR work, with its own state, lease and outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.scan_job import ScanJob
from mura.app.models.stored_file import StoredFile

PAGE_STATES = ("queued", "running", "done", "failed")


class Page(db.Model):
    """The database, not the broker, is the truth about a page (see docs/design-notes.md)."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("scan_jobs.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    #: 1-based page number in the document.
    seq: Mapped[int] = mapped_column(Integer)
    source_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    #: Frame of a multi-page TIFF or page of a PDF (0-based) inside the source file.
    frame: Mapped[int] = mapped_column(Integer, default=0)

    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_reason: Mapped[str | None] = mapped_column(Text)
    #: Which worker ran it last (host:pid), for the job page and scale-out tests.
    worker: Mapped[str | None] = mapped_column(String(200))

    #: OCR languages for this page when they differ from the job's (set by a re-OCR).
    langs: Mapped[str | None] = mapped_column(String(100))
    #: What Tesseract read (the PDF's text layer).
    text: Mapped[str | None] = mapped_column(Text)
    #: Staff's correction of the text; it wins in search and survives a later re-OCR.
    text_corrected: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    corrected_by: Mapped[str | None] = mapped_column(String(200))
    #: Review flags: 'low_confidence', 'wrong_script', 'no_text'.
    flags: Mapped[list | None] = mapped_column(JSON)
    mean_confidence: Mapped[float | None] = mapped_column(Float)
    word_count: Mapped[int | None] = mapped_column(Integer)
    width_pt: Mapped[float | None] = mapped_column(Float)
    height_pt: Mapped[float | None] = mapped_column(Float)
    dpi: Mapped[float | None] = mapped_column(Float)
    rotation: Mapped[int | None] = mapped_column(Integer)
    skew_deg: Mapped[float | None] = mapped_column(Float)
    timings: Mapped[dict | None] = mapped_column(JSON)
    warnings: Mapped[list | None] = mapped_column(JSON)

    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    hocr_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    text_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))

    @property
    def best_text(self) -> str:
        """The text readers search and see: the correction if there is one, else the OCR."""
        return self.text_corrected if self.text_corrected is not None else (self.text or "")

    job: Mapped[ScanJob] = relationship(back_populates="pages")
    source_file: Mapped[StoredFile] = relationship(foreign_keys=[source_file_id])
    pdf_file: Mapped[StoredFile | None] = relationship(foreign_keys=[pdf_file_id])
