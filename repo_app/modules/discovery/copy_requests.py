"""Readers ask for a digital copy of an item not digitized yet; staff answer by scanning it.

The flow: a reader fills in the public form (an item of the catalogue, or a description in their
own words) and keeps the link to the request's status page, addressed by an unguessable token (and,
when mail is configured, gets an e-mail when the copy is published). Staff see the queue, accept or
decline (with a note the reader sees), match the request to a catalogue record, and start the scan
from it: the upload form opens with the record chosen, so the new document is linked to the record.
When a document of that record (or the document staff linked by hand) is published, the request
becomes ``published`` and the status page shows the link — checked whenever the request is looked
at, so nothing needs to hook into the OCR jobs. That moment also mails the reader the link (once:
the status changes once), in the language they asked in; staff who asked for it are told of each
new request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import REQUEST_STATUSES, CatalogueRecord, CopyRequest, Document, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import audit, mail, notify
from mura.app.modules.rights import visibility

#: Statuses staff may set by hand (``published`` follows from the document).
STAFF_STATUSES = ("new", "accepted", "scanning", "declined")
#: Statuses of requests still to be answered.
OPEN_STATUSES = ("new", "accepted", "scanning")


class RequestError(ValueError):
    """A request that cannot be saved; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewRequest:
    """What the reader sends."""

    reader_name: str
    reader_email: str
    description: str = ""
    record_id: int | None = None
    locale: str = ""


def create_request(data: NewRequest) -> CopyRequest:
    """Save a reader's request (committed) and return it; its token addresses the status page.

    Raises:
        RequestError: Without a name, a plausible email, or any way to tell what is wanted.
    """
    from flask_babel import gettext as _

    name = " ".join(data.reader_name.split())
    email = data.reader_email.strip()
    description = data.description.strip()
    record = db.session.get(CatalogueRecord, data.record_id) if data.record_id else None
    if not name:
        raise RequestError(_("Please give your name."), "reader_name")
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise RequestError(_("Please give an email address we can answer."), "reader_email")
    if record is None and not description:
        raise RequestError(_("Please describe the item you need."), "description")
    request = CopyRequest(
        record_id=record.id if record else None,
        description=description[:5000],
        reader_name=name[:300],
        reader_email=email[:300],
        locale=data.locale[:10],
        status="new",
        token=secrets.token_urlsafe(24),
    )
    db.session.add(request)
    db.session.flush()
    notify.notify(
        notify.recipients(("staff", "admin")), "staff.copy_request", "staff_copy_request",
        req=request, url=mail.link("staff_requests.show", request_id=request.id),
    )  # fmt: skip
    db.session.commit()
    return request


def by_token(token: str) -> CopyRequest | None:
    """The request of a status page (constant-time comparison is moot: the token is the key)."""
    if not token or len(token) > 64:
        return None
    request = db.session.scalar(select(CopyRequest).where(CopyRequest.token == token))
    if request is not None:
        refresh(request)
    return request


def queue(status: str | None = None, limit: int = 500) -> list[CopyRequest]:
    """Requests for staff: open ones first (oldest first), or those of one status (newest first)."""
    query = select(CopyRequest)
    if status in REQUEST_STATUSES:
        query = query.where(CopyRequest.status == status).order_by(CopyRequest.id.desc())
    else:
        query = query.where(CopyRequest.status.in_(OPEN_STATUSES)).order_by(CopyRequest.id)
    requests = list(db.session.scalars(query.limit(limit)))
    for request in requests:
        refresh(request)
    return requests


def counts() -> dict[str, int]:
    """Requests per status, every status present."""
    rows = db.session.execute(
        select(CopyRequest.status, func.count()).group_by(CopyRequest.status)
    ).all()
    result = dict.fromkeys(REQUEST_STATUSES, 0)
    result.update({status: n for status, n in rows})
    return result


def answer_document(request: CopyRequest) -> Document | None:
    """The document that answers the request: the linked one, else the newest of its record."""
    if request.document is not None:
        return request.document
    if request.record_id is None:
        return None
    return db.session.scalar(
        select(Document)
        .where(Document.record_id == request.record_id, visibility.listed_condition())
        .order_by(Document.id.desc())
        .limit(1)
    )


def refresh(request: CopyRequest) -> bool:
    """Mark the request published when its document has become public; True if it changed.

    A declined request stays declined. Commits when something changed.
    """
    if request.status in ("published", "declined"):
        return False
    document = answer_document(request)
    if document is None or not visibility.is_listed(document):
        return False
    request.document_id = document.id
    request.status = "published"
    request.published_at = utcnow()
    _mail_reader(request, document)
    db.session.commit()
    return True


def _mail_reader(request: CopyRequest, document: Document) -> None:
    """Send the reader the link to the published copy (and to the status page, kept too)."""
    if not request.reader_email:
        return
    mail.queue_mail(
        "copy_request.published", request.reader_email, request.locale, "copy_request_published",
        req=request, document=document,
        read_url=mail.link("reader.read", document_id=document.id),
        status_url=mail.link("requests.status", token=request.token),
    )  # fmt: skip


def refresh_open(limit: int = 500) -> int:
    """Refresh the open requests that have a record or a document (the periodic rights check).

    Bounded: the oldest ``limit`` of them per round. Returns how many became published.
    """
    query = (
        select(CopyRequest)
        .where(
            CopyRequest.status.in_(OPEN_STATUSES),
            CopyRequest.record_id.is_not(None) | CopyRequest.document_id.is_not(None),
        )
        .order_by(CopyRequest.id)
        .limit(limit)
    )
    return sum(refresh(request) for request in list(db.session.scalars(query)))


def set_status(request: CopyRequest, status: str, note: str | None, actor: User | None) -> None:
    """Staff set the status (and the note the reader sees); committed and audited.

    Raises:
        RequestError: On a status staff may not set.
    """
    from flask_babel import gettext as _

    if status not in STAFF_STATUSES:
        raise RequestError(_("Unknown status."), "status")
    before = request.status
    request.status = status
    if note is not None:
        request.note = note.strip()[:5000]
    audit.record(
        "copy_request.status", "copy_request", request.id, actor=actor, before=before, after=status
    )
    db.session.commit()
    refresh(request)


def link(
    request: CopyRequest, record_id: int | None, document_id: int | None, actor: User | None
) -> None:
    """Match the request to a catalogue record and/or a document (``None`` leaves a link as is).

    Raises:
        RequestError: When the record or document does not exist.
    """
    from flask_babel import gettext as _

    if record_id is not None:
        if db.session.get(CatalogueRecord, record_id) is None:
            raise RequestError(_("No catalogue record %(id)d.", id=record_id), "record_id")
        request.record_id = record_id
    if document_id is not None:
        if db.session.get(Document, document_id) is None:
            raise RequestError(_("No document %(id)d.", id=document_id), "document_id")
        request.document_id = document_id
    audit.record(
        "copy_request.link", "copy_request", request.id, actor=actor,
        record_id=request.record_id, document_id=request.document_id,
    )  # fmt: skip
    db.session.commit()
    refresh(request)


def start_scan(request: CopyRequest, actor: User | None) -> None:
    """Staff begin digitizing: the request becomes ``scanning`` (the upload form comes next)."""
    if request.status in ("new", "accepted"):
        set_status(request, "scanning", None, actor)
