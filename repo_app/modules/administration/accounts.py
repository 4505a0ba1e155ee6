"""User accounts and branches: creation, passwords (Argon2id), roles, the rules between them.

Views and the CLI call these functions; each one that changes something records it in the audit
log and commits. Passwords are never stored, logged or audited: only their Argon2id hashes.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import ROLES, Branch, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import audit, common_passwords

#: argon2-cffi's defaults are RFC 9106's "low memory" profile (Argon2id, 64 MiB, t=3, p=4).
_hasher = PasswordHasher()

USERNAME_RE = re.compile(r"^\w[\w.@-]{1,149}$")
BRANCH_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
#: Generated passwords: no 0/O, 1/l/I, so they can be read out over the phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class AccountError(ValueError):
    """A change that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- passwords -----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password``, parameters and salt included."""
    return _hasher.hash(password)


def generate_password() -> str:
    """A random password of 16 letters and digits in groups of four (about 79 bits)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def check_password_rules(password: str, username: str = "", display_name: str = "") -> None:
    """Raise :class:`AccountError` unless ``password`` is acceptable as a new password.

    Long enough, not too long, not one of the most common passwords, and not made of the
    user's own login or name (:mod:`mura.app.modules.administration.common_passwords`).
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise AccountError(
            _("A password needs at least %(n)d characters.", n=minimum), "new_password"
        )
    if len(password) > 1024:
        raise AccountError(_("That password is too long."), "new_password")
    if common_passwords.contains_name(password, username, display_name):
        raise AccountError(
            _("The password must not contain the user name or the person's name."),
            "new_password",
        )
    if common_passwords.is_common(password):
        raise AccountError(
            _("This password is one of the most common ones, tried first. Choose another."),
            "new_password",
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, else None (the reason is not told).

    An unknown name costs the same hashing time as a known one, so the response time does not
    tell which names exist. An expired temporary password fails like a wrong one.
    """
    user = get_user(username)
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if user.password_expires_at is not None and _aware(user.password_expires_at) < utcnow():
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # stronger parameters since it was set
    return user


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def set_password(user: User, password: str, *, temporary: bool = False) -> None:
    """Give ``user`` a new password and end their other sessions (not committed).

    A temporary password must be changed at the next login and expires after
    ``TEMPORARY_PASSWORD_HOURS``.
    """
    user.password_hash = hash_password(password)
    user.must_change_password = temporary
    user.password_expires_at = (
        utcnow() + timedelta(hours=current_app.config["TEMPORARY_PASSWORD_HOURS"])
        if temporary
        else None
    )
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()


def new_session_token() -> str:
    """A fresh token: every session cookie carrying the old one stops working."""
    return secrets.token_urlsafe(24)


def change_own_password(user: User, current: str, new: str) -> None:
    """The user replaces their password; the current one must be given. Commits."""
    if not _verify(user.password_hash, current):
        raise AccountError(_("The current password is wrong."), "current_password")
    check_password_rules(new, user.username, user.display_name)
    if _verify(user.password_hash, new):
        raise AccountError(_("Choose a password different from the current one."), "new_password")
    set_password(user, new)
    audit.record("auth.password_change", "user", user.id, actor=user)
    db.session.commit()


def reset_password(user: User, actor: User | None = None) -> str:
    """An administrator's reset: a temporary password, to be shown once and changed. Commits."""
    password = generate_password()
    set_password(user, password, temporary=True)
    audit.record("user.password_reset", "user", user.id, actor=actor, username=user.username)
    db.session.commit()
    return password


# --- users ---------------------------------------------------------------------------------------


def normalise_username(name: str) -> str:
    """The form a user name is stored and looked up in (NFKC, case-folded, trimmed)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def get_user(username: str) -> User | None:
    """The user with this name, if any."""
    name = normalise_username(username)
    return db.session.scalar(select(User).where(User.username == name)) if name else None


def create_user(
    username: str,
    role: str,
    branch: Branch | None = None,
    password: str | None = None,
    display_name: str = "",
    actor: User | None = None,
    email: str = "",
    notify_by_email: bool = False,
) -> tuple[User, str | None]:
    """Create an account. Commits.

    Args:
        username: the login name (stored case-folded).
        role: one of ``ROLES``.
        branch: required for ``staff``.
        password: the chosen password; None generates one that must be changed at first login.
        display_name: the name shown in the interface.
        actor: who creates it (default: the logged-in user).
        email: where Mura writes to the user (password reset, notices); may be empty.
        notify_by_email: whether the user is told by e-mail when work waits.

    Returns:
        The user, and the generated password (None when one was given).
    """
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise AccountError(
            _("A user name is 2–150 letters, digits or . _ @ -, starting with a letter or digit."),
            "username",
        )
    if get_user(name) is not None:
        raise AccountError(_("That user name is taken."), "username")
    _check_role(role, branch)
    email = clean_email(email)
    generated = None
    if password is None:
        password = generated = generate_password()
    if generated is None:  # a generated one is random: neither common nor anyone's name
        check_password_rules(password, name, display_name)
    user = User(
        username=name,
        display_name=" ".join(display_name.split()),
        role=role,
        branch=branch,
        active=True,
        password_hash="",
        email=email,
        notify_by_email=notify_by_email,
    )
    set_password(user, password, temporary=generated is not None)
    if generated is not None:
        user.password_expires_at = None  # a first password is handed over, not reset: no expiry
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        "user",
        user.id,
        actor=actor,
        username=name,
        role=role,
        branch=branch.code if branch else None,
    )
    db.session.commit()
    return user, generated


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(email: str, user_id: int | None = None) -> str:
    """A user's e-mail as stored (trimmed; empty allowed).

    Raises:
        AccountError: Not an address, or one another account has (a reset link must go
            to exactly one account).
    """
    email = (email or "").strip()
    if not email:
        return ""
    if len(email) > 300 or not _EMAIL_RE.match(email):
        raise AccountError(_("This is not an e-mail address."), "email")
    taken = select(User.id).where(func.lower(User.email) == email.lower())
    if user_id is not None:
        taken = taken.where(User.id != user_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise AccountError(_("Another account has this e-mail address."), "email")
    return email


def _check_role(role: str, branch: Branch | None) -> None:
    if role not in ROLES:
        raise AccountError(_("Unknown role “%(role)s”.", role=role), "role")
    if role == "staff" and branch is None:
        raise AccountError(_("Staff accounts belong to a branch."), "branch")


def update_user(
    user: User,
    *,
    role: str,
    branch: Branch | None,
    active: bool,
    display_name: str,
    actor: User | None = None,
    email: str | None = None,
    notify_by_email: bool | None = None,
) -> dict[str, list]:
    """Change an account's role, branch, state or name. Commits; returns what changed.

    The last active administrator cannot be demoted or deactivated (nobody could undo it).
    """
    _check_role(role, branch)
    losing_admin = user.is_admin and user.active and (role != "admin" or not active)
    if losing_admin and _active_admins() <= 1:
        raise AccountError(_("This is the last active administrator."), "role")
    wanted = {
        "role": role,
        "branch": branch.code if branch else None,
        "active": active,
        "display_name": " ".join(display_name.split()),
        "email": user.email if email is None else clean_email(email, user.id),
        "notify_by_email": user.notify_by_email if notify_by_email is None else notify_by_email,
    }
    current = {
        "role": user.role,
        "branch": user.branch.code if user.branch else None,
        "active": user.active,
        "display_name": user.display_name,
        "email": user.email,
        "notify_by_email": user.notify_by_email,
    }
    changed = {k: [current[k], v] for k, v in wanted.items() if current[k] != v}
    if not changed:
        return changed
    user.role, user.branch, user.active = role, branch, active
    user.display_name = wanted["display_name"]
    user.email, user.notify_by_email = wanted["email"], wanted["notify_by_email"]
    if not active:
        user.session_token = new_session_token()  # logged out everywhere at once
    audit.record("user.update", "user", user.id, actor=actor, username=user.username, **changed)
    db.session.commit()
    return changed


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active)
    )


def list_users() -> list[User]:
    """Every account, by name."""
    return list(db.session.scalars(select(User).order_by(User.username)))


def user_summary(user: User) -> dict:
    """An account as a JSON-ready object (``mura users list --json``)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "branch": user.branch.code if user.branch else None,
        "active": user.active,
        "must_change_password": user.must_change_password,
        "email": user.email,
        "notify_by_email": user.notify_by_email,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "created_at": user.created_at.isoformat(),
    }


def record_login(user: User, locale: str = "") -> None:
    """Note a successful login (audit, time, language: the language of the user's mail). Commits."""
    user.last_login_at = utcnow()
    if locale:
        user.locale = locale[:10]
    audit.record("auth.login", "user", user.id, actor=user)
    db.session.commit()


# --- branches ------------------------------------------------------------------------------------


def get_branch(code: str) -> Branch | None:
    """The branch with this code, if any."""
    code = code.strip().lower()
    return db.session.scalar(select(Branch).where(Branch.code == code)) if code else None


def list_branches() -> list[Branch]:
    """Every branch, the central library first, then by code."""
    return list(db.session.scalars(select(Branch).order_by(Branch.is_central.desc(), Branch.code)))


def create_branch(
    code: str,
    name_kk: str = "",
    name_ru: str = "",
    name_en: str = "",
    is_central: bool = False,
    actor: User | None = None,
) -> Branch:
    """Create a branch. Commits."""
    code = code.strip().lower()
    if not BRANCH_CODE_RE.match(code):
        raise AccountError(
            _("A branch code is up to 50 Latin letters, digits, _ or -, e.g. “central”, “b07”."),
            "code",
        )
    if get_branch(code) is not None:
        raise AccountError(_("A branch with this code exists."), "code")
    branch = Branch(code=code, is_central=is_central)
    _set_names(branch, name_kk, name_ru, name_en)
    db.session.add(branch)
    db.session.flush()
    audit.record(
        "branch.create", "branch", branch.id, actor=actor, code=code, is_central=is_central
    )
    db.session.commit()
    return branch


def update_branch(
    branch: Branch,
    *,
    name_kk: str,
    name_ru: str,
    name_en: str,
    is_central: bool,
    actor: User | None = None,
) -> dict[str, list]:
    """Change a branch's names or central flag (its code stays: scripts use it). Commits."""
    before = {k: getattr(branch, k) for k in ("name_kk", "name_ru", "name_en", "is_central")}
    _set_names(branch, name_kk, name_ru, name_en)
    branch.is_central = is_central
    changed = {k: [v, getattr(branch, k)] for k, v in before.items() if getattr(branch, k) != v}
    if changed:
        audit.record("branch.update", "branch", branch.id, actor=actor, code=branch.code, **changed)
        db.session.commit()
    return changed


def _set_names(branch: Branch, kk: str, ru: str, en: str) -> None:
    names = [" ".join(n.split()) for n in (kk, ru, en)]
    if not any(names):
        raise AccountError(_("Give the branch a name."), "name_kk")
    branch.name_kk, branch.name_ru, branch.name_en = names
