"""The "forgot password" link: signed, expiring, single-use, sent by e-mail.

The link carries the user's id and a fingerprint of their current password hash, signed with
the app's secret (itsdangerous, which Flask uses for its own cookies) and dated: it stops
working after ``PASSWORD_RESET_MINUTES``, and once the password is set (the hash changes, so
the fingerprint no longer matches) — single use without a table of tokens. The request is
answered the same whether or not an account has that address, and at most
``PASSWORD_RESET_MAILS_PER_HOUR`` reset mails go to one address per hour (the page's own rate
limit bounds the requests per client); the rest are answered the same and send nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import OutgoingMail, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import accounts, audit, mail

_SALT = "mura-password-reset"


class ResetError(ValueError):
    """A link that no longer works, or a new password that breaks a rule."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    """Changes whenever the password does: a used link (or an older one) stops working."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_token(user: User) -> str:
    """The signed key of a reset link for ``user``."""
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def find_user_by_email(email: str) -> User | None:
    """The one active account with this address (case-insensitive); None if none or several."""
    address = email.strip().lower()
    if "@" not in address or len(address) > 300:
        return None
    found = list(
        db.session.scalars(
            select(User).where(func.lower(User.email) == address, User.active).limit(2)
        )
    )
    return found[0] if len(found) == 1 else None


def _recent_mails(address: str) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(
            OutgoingMail.kind == "password_reset",
            func.lower(OutgoingMail.recipient) == address.lower(),
            OutgoingMail.created_at >= since,
        )
    )


def request_reset(email: str, locale: str | None) -> None:
    """Send a reset link to the account with ``email``, if there is one. Commits.

    Says nothing back: the caller shows the same page whatever happened here.
    """
    user = find_user_by_email(email)
    if user is None or not mail.configured():
        return
    if _recent_mails(user.email) >= int(current_app.config["PASSWORD_RESET_MAILS_PER_HOUR"]):
        audit.record("auth.password_reset_limited", "user", user.id, actor=user)
        db.session.commit()
        return
    url = mail.link("auth.reset_password", token=make_token(user))
    mail.queue_mail(
        "password_reset",
        user.email,
        locale or user.locale,
        "password_reset",
        user=user,
        url=url,
        minutes=int(current_app.config["PASSWORD_RESET_MINUTES"]),
    )
    audit.record("auth.password_reset_sent", "user", user.id, actor=user)
    db.session.commit()


def user_for_token(token: str) -> User:
    """The user a valid, unused, unexpired link is for.

    Raises:
        ResetError: The link is forged, expired, used, or its account is gone or inactive.
    """
    from flask_babel import gettext as _

    max_age = int(current_app.config["PASSWORD_RESET_MINUTES"]) * 60
    invalid = ResetError(_("This link does not work any more: ask for a new one."))
    try:
        data = _serializer().loads(token[:500], max_age=max_age)
    except SignatureExpired as exc:
        raise ResetError(_("This link has expired: ask for a new one.")) from exc
    except BadSignature as exc:
        raise invalid from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise invalid
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        raise invalid
    if not hmac.compare_digest(str(data.get("p", "")), _fingerprint(user)):
        raise invalid
    return user


def reset(token: str, password: str) -> User:
    """Set a new password through a reset link (the same rules as any new password). Commits.

    Every session of the user ends; the link cannot be used again.

    Raises:
        ResetError: The link no longer works, or the password breaks a rule (``field``).
    """
    user = user_for_token(token)
    try:
        accounts.check_password_rules(password, user.username, user.display_name)
    except accounts.AccountError as exc:
        raise ResetError(exc.message, "new_password") from exc
    accounts.set_password(user, password)
    audit.record("auth.password_reset_done", "user", user.id, actor=user)
    db.session.commit()
    return user
