"""What the library says about itself, and the mail Mura sends.

The library's name, address and contacts are edited by administrators on a screen
(``modules/administration/library.py``), so they live in the database as key/value rows; a key
without a row falls back on the ``MURA_LIBRARY_*`` setting. Outgoing mail is kept as rows first
and sent by a worker task after the commit: a message is sent once, retried while the SMTP
server is away, and its failure is recorded (``core/mail.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mura.app.extensions import db
from mura.app.models.base import created_at_column, utcnow

#: queued → sending → sent; or failed (with the reason).
MAIL_STATES = ("queued", "sending", "sent", "failed")


class LibrarySetting(db.Model):
    """One value of the library's settings (``name_kk``, ``email``, ...)."""

    __tablename__ = "library_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class OutgoingMail(db.Model):
    """A message to send, already rendered in its recipient's language."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What it is about: ``copy_request.published``, ``staff.review``, ``password_reset``...
    kind: Mapped[str] = mapped_column(String(40), index=True)
    recipient: Mapped[str] = mapped_column(String(300), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a worker took it (a crashed sender's claim is taken over after a while).
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
