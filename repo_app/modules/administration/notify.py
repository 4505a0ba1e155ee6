"""Tell staff by e-mail when work waits for them: a document to check or approve, a request.

Only users who asked for it (``notify_by_email``, set by an administrator on the user's screen)
and have an address are written to, each in the language of their last login. Nothing happens
without mail configured. The mail is queued in the caller's transaction, so it is sent when the
change that made the work is committed, and not at all if it is rolled back.
"""

from __future__ import annotations

from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import User
from mura.app.modules.administration import mail

#: At most this many staff are written to about one event (a bound on the work of a request).
MAX_RECIPIENTS = 50


def recipients(roles: tuple[str, ...], branch_id: int | None = None) -> list[User]:
    """Active users of ``roles`` who want mail; with ``branch_id``, staff of that branch only.

    Administrators are included whatever the branch: they act on every branch's work.
    """
    query = select(User).where(
        User.active, User.notify_by_email, User.email != "", User.role.in_(roles)
    )
    if branch_id is not None:
        query = query.where((User.branch_id == branch_id) | (User.role == "admin"))
    return list(db.session.scalars(query.order_by(User.id).limit(MAX_RECIPIENTS)))


def notify(users: list[User], kind: str, template: str, **context: object) -> int:
    """Queue ``mail/<template>`` for each user in their language; returns how many."""
    if not mail.configured():
        return 0
    sent = 0
    for user in users:
        if mail.queue_mail(kind, user.email, user.locale, template, user=user, **context):
            sent += 1
    return sent
