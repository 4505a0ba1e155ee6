"""Who works in Mura: branch libraries and the user accounts of their staff.

A city library system is one installation: a central library and its branches. Staff belong to
a branch (their jobs are shown to them first); administrators and reviewers may have one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.base import created_at_column

#: ``admin`` manages users and branches and does everything staff do; ``staff`` upload and
#: describe (bound to a branch), and check the OCR of their branch's documents; ``reviewer`` reads
#: the staff screens and changes nothing there but the review decisions: approve a checked
#: document (it is published) or return it to staff with a comment
#: (modules/digitization/workflow.py).
ROLES = ("admin", "staff", "reviewer")


class Branch(db.Model):
    """A library of the system, addressed in the CLI by its code ("central", "b07")."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name_kk: Mapped[str] = mapped_column(String(300), default="")
    name_ru: Mapped[str] = mapped_column(String(300), default="")
    name_en: Mapped[str] = mapped_column(String(300), default="")
    #: The central library of the system (there is usually exactly one).
    is_central: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()

    def name_in(self, locale: str) -> str:
        """The name in ``locale`` ("kk", "ru", "en"), else any name it has, else its code."""
        names = (getattr(self, f"name_{locale}", ""), self.name_kk, self.name_ru, self.name_en)
        return next((n for n in names if n), self.code)


class User(db.Model):
    """A staff account. Implements what Flask-Login asks of a user object."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Case-folded, so "Aigerim" and "aigerim" are one account.
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20), default="staff")
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    #: Argon2id hash (argon2-cffi's encoded form, parameters included).
    password_hash: Mapped[str] = mapped_column(String(300))
    #: Set by an administrator's reset (and for generated passwords): change before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A temporary password stops working at this time.
    password_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of the id kept in the session cookie; replacing it ends every session of the user
    #: (the cookie is signed, not stored, so this is how a reset or deactivation logs out).
    session_token: Mapped[str] = mapped_column(String(64))
    #: Where Mura writes to the user (password reset, work waiting); empty: no mail.
    email: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: The user asked to be told by e-mail when work waits for them (review, copy requests).
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The interface language of the user's last login: the language of the mail they get.
    locale: Mapped[str] = mapped_column(String(10), default="", server_default="")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()

    branch: Mapped[Branch | None] = relationship()

    # --- Flask-Login ---
    @property
    def is_authenticated(self) -> bool:
        """Every loaded user is authenticated (the loader refuses inactive ones)."""
        return True

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot log in."""
        return self.active

    @property
    def is_anonymous(self) -> bool:
        """Never: anonymous visitors are Flask-Login's own object."""
        return False

    def get_id(self) -> str:
        """``<id>:<session token>``, what the session cookie holds."""
        return f"{self.id}:{self.session_token}"

    # --- roles ---
    @property
    def is_admin(self) -> bool:
        """Administrators manage users, branches and see the audit log."""
        return self.role == "admin"

    def works_for(self, branch_id: int | None) -> bool:
        """Whether this user changes work of ``branch_id`` (None: work of no branch).

        Staff change their own branch's work and work of no branch; administrators any.
        """
        if self.is_admin:
            return True
        return self.role == "staff" and (branch_id is None or branch_id == self.branch_id)

    @property
    def label(self) -> str:
        """The name shown in the header and lists."""
        return self.display_name or self.username
