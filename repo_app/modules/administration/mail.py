"""Mail through SMTP: rendered in the recipient's language, kept as a row, sent after the commit.

A feature calls :func:`queue_mail` inside its transaction: the message is rendered from
``templates/mail/<template>.txt`` (and ``.html`` when there is one) under the recipient's
locale, stored as an :class:`~mura.app.models.OutgoingMail` row, and the ``send_mail`` task is
sent when the transaction commits (``core/queue.py``), so a rolled-back action sends nothing.
The worker's task calls :func:`deliver`, which claims the row with a conditional UPDATE (a
second delivery of the task finds it sent and returns) and talks to the SMTP server. Errors
the server may get over (connection lost, 4xx) are retried by the task; a refusal (5xx) fails
the message with the reason. Without ``MURA_SMTP_HOST`` nothing is queued: :func:`configured`
tells the features to hide or explain their mail options.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import or_, update

from mura.app.core import links, task_names
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import OutgoingMail
from mura.app.models.base import utcnow
from mura.app.modules.administration import library

log = logging.getLogger(__name__)

#: A claim older than this was left by a worker that died while sending: take it over.
CLAIM_TIMEOUT = timedelta(minutes=10)


class TransientMailError(Exception):
    """The SMTP server may take the message later (connection lost, 4xx): retry."""


def configured() -> bool:
    """Whether Mura can send mail (an SMTP server and a sender address are known)."""
    return bool(str(current_app.config.get("SMTP_HOST") or "").strip() and sender())


def sender() -> str:
    """The From address: ``MAIL_FROM``, else the library's e-mail with its name."""
    explicit = str(current_app.config.get("MAIL_FROM") or "").strip()
    if explicit:
        return explicit
    info = library.load()
    return formataddr((info.name("en"), info.email)) if info.email else ""


def locale_for(wanted: str | None) -> str:
    """A locale Mura speaks: ``wanted`` if it is one, else the default."""
    languages = current_app.config["LANGUAGES"]
    return wanted if wanted in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def link(endpoint: str, **values: object) -> str:
    """An absolute URL for a message, also from a worker (which has no request to build it on).

    On the public base URL when one is set (docs/deployment.md); a worker without one builds it
    on http://localhost, which is only right on a one-machine demo.
    """
    if has_request_context():
        return links.external_url(endpoint, **values)
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        return links.external_url(endpoint, **values)


def queue_mail(kind: str, to: str, locale: str | None, template: str, **context: object) -> int:
    """Render and keep a message for ``to``; sent after the caller commits.

    Args:
        kind: what it is about (kept on the row: rate limits count by it).
        to: the recipient's address.
        locale: the recipient's language (``kk``, ``ru``, ``en``).
        template: ``mail/<template>.txt`` holds the subject on its first line, then a blank
            line and the plain-text body; ``mail/<template>.html`` is the optional HTML part.
        **context: the templates' variables (``library`` is added).

    Returns:
        The message's id (0 when mail is not configured: nothing is kept).
    """
    if not configured():
        return 0
    chosen = locale_for(locale)
    with force_locale(chosen):
        context = {"library": library.current(), "mail_locale": chosen, **context}
        text = render_template(f"mail/{template}.txt", **context)
        try:
            html = render_template(f"mail/{template}.html", **context)
        except TemplateNotFound:
            html = ""
    subject, _blank, body = text.strip().partition("\n")
    message = OutgoingMail(
        kind=kind[:40],
        recipient=to.strip()[:300],
        subject=" ".join(subject.split())[:300],
        body_text=body.strip() + "\n",
        body_html=html,
        state="queued",
        attempts=0,
        error="",
    )
    db.session.add(message)
    db.session.flush()
    enqueue_after_commit(task_names.SEND_MAIL, message.id)
    return message.id


def claim(mail_id: int) -> bool:
    """Take the message for sending (committed); False if it is sent, failed or being sent."""
    now = utcnow()
    result = db.session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            or_(
                OutgoingMail.state == "queued",
                (OutgoingMail.state == "sending") & (OutgoingMail.claimed_at < now - CLAIM_TIMEOUT),
            ),
        )
        .values(state="sending", claimed_at=now, attempts=OutgoingMail.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def release(mail_id: int, reason: str, *, final: bool) -> None:
    """Give the message back to the queue (a retry follows), or fail it for good."""
    db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id)
        .values(state="failed" if final else "queued", error=reason[:2000], claimed_at=None)
    )
    db.session.commit()


def deliver(mail_id: int) -> str:
    """Send one kept message (the ``send_mail`` task). Idempotent: a sent message stays sent.

    Returns:
        ``sent``, or ``skipped`` (gone, already sent or failed, or another worker has it).

    Raises:
        TransientMailError: The server could not take it now; the row is queued again.
    """
    if not claim(mail_id):
        return "skipped"
    message = db.session.get(OutgoingMail, mail_id)
    try:
        _send(_build(message))
    except Exception as exc:
        # smtplib's errors are OSErrors too: decide by what the server said, most specific first.
        transient, reason = _classify(exc)
        release(mail_id, reason, final=not transient)
        if transient:
            raise TransientMailError(reason) from exc
        log.warning("mail %s could not be sent: %s", mail_id, reason)
        return "failed"
    message.state, message.sent_at, message.error = "sent", utcnow(), ""
    if message.kind == "password_reset":
        message.body_text = message.body_html = ""  # the link is a key: keep no copy of it
    db.session.commit()
    return "sent"


def _classify(exc: Exception) -> tuple[bool, str]:
    """Whether a send error may pass (retry), and the reason kept on the row.

    4xx answers (greylisting, a full queue), a lost or refused connection, a timeout: retry.
    5xx answers, refused recipients that are all 5xx, a bad address, anything else (a bug,
    logged with its traceback): fail for good, with the reason.
    """
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, exc.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return 400 <= code < 500, f"{code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return all(400 <= code < 500 for code in codes), f"recipients refused: {exc.recipients}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True, f"disconnected: {exc}"
    if isinstance(exc, smtplib.SMTPException):  # no STARTTLS, no AUTH the server accepts...
        return False, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):  # connection refused, timeout, TLS handshake
        return True, f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ValueError):
        log.error("unexpected error while sending mail", exc_info=exc)
    return False, f"{type(exc).__name__}: {exc}"


def _build(message: OutgoingMail) -> Message:
    """The MIME message, built with the compat32 classes.

    Python 3.11's default policy drops the space where it folds a long non-ASCII subject:
    "копия доступна" arrived as "копиядоступна". ``Header`` keeps it inside the encoded words.
    """
    text = MIMEText(message.body_text, "plain", "utf-8")
    if message.body_html:
        email: Message = MIMEMultipart("alternative")
        email.attach(text)
        email.attach(MIMEText(message.body_html, "html", "utf-8"))
    else:
        email = text
    name, address = parseaddr(sender())
    email["Subject"] = Header(message.subject, "utf-8")
    email["From"] = formataddr((name, address), charset="utf-8")
    email["To"] = message.recipient
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=_domain(address))
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    return email


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip()
    return domain if domain and "@" in address else "mura.local"


def _flag(value: object) -> bool:
    """A yes/no setting given as a bool, or as text in ``mura.cfg`` or a test's config."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _send(email: Message) -> None:
    config = current_app.config
    host = str(config["SMTP_HOST"]).strip()
    use_ssl = _flag(config.get("SMTP_SSL"))
    starttls = _flag(config.get("SMTP_STARTTLS")) and not use_ssl
    port = int(config.get("SMTP_PORT") or (465 if use_ssl else 587 if starttls else 25))
    timeout = float(config.get("SMTP_TIMEOUT_S") or 30)
    context = ssl.create_default_context()
    if use_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if starttls:
            smtp.starttls(context=context)  # never falls back to plain text: it raises
        user = str(config.get("SMTP_USER") or "")
        if user:
            smtp.login(user, str(config.get("SMTP_PASSWORD") or ""))
        smtp.send_message(email)


#: A message never tried this long after it was kept lost its task (the broker was away at the
#: commit): the sweeper sends the task again.
LOST_AFTER = timedelta(minutes=5)


def resend_lost(limit: int = 200) -> int:
    """Send the task again for messages whose task never reached a worker; how many.

    Only messages never tried (``attempts == 0``) and older than :data:`LOST_AFTER`: one that
    waits for a retry is the task's own business. A duplicate task is harmless (the claim).
    """
    from sqlalchemy import select

    from mura.app.core.queue import send_now

    now = utcnow()
    ids = list(
        db.session.scalars(
            select(OutgoingMail.id)
            .where(
                OutgoingMail.attempts == 0,
                OutgoingMail.state == "queued",
                OutgoingMail.created_at < now - LOST_AFTER,
            )
            .order_by(OutgoingMail.id)
            .limit(limit)
        )
    )
    for mail_id in ids:
        send_now(task_names.SEND_MAIL, mail_id)
    return len(ids)


def recent(limit: int = 10) -> list[OutgoingMail]:
    """The last messages, newest first (the Library screen: did the mail go out, and if not why)."""
    from sqlalchemy import select

    return list(
        db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit))
    )
