"""A file in the content-addressed store, as the database knows it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from mura.app.extensions import db
from mura.app.models.base import created_at_column

#: What a stored file is for.
FILE_KINDS = ("scan", "page_pdf", "page_hocr", "page_text", "document_pdf")


class StoredFile(db.Model):
    """One stored object: its SHA-256 is both its address in the store and its fixity value."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    mime: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    #: The name the file had when uploaded (display only; never used as a path).
    original_name: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = created_at_column()
    # --- fixity (repo_app/modules/preservation/fixity.py): the last re-hash of the object in the
    # store ---
    #: When the object was last re-hashed; None: never since it was stored.
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    #: "ok", "changed" (its bytes no longer hash to ``sha256``) or "missing"; None: never checked.
    check_result: Mapped[str | None] = mapped_column(String(10), index=True)
