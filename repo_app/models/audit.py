"""The audit log: who did what to which object, when and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import utcnow
from mura.app.models.user import User


class AuditEvent(db.Model):
    """One action of a person (or of the CLI, where ``user`` may be empty). Never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    #: Kept when the account is gone; ``username`` keeps the name as it was then.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    username: Mapped[str] = mapped_column(String(150), default="")
    #: Dotted verb: "auth.login", "user.create", "job.upload", ...
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(60), default="")
    object_id: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The client address as the app sees it (see ``PROXY_COUNT`` behind a reverse proxy).
    ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User | None] = relationship()
