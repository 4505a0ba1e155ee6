"""What the public may see: ONE place decides it, for every view, the search and the API.

A document's rights (public domain, the library's own, author contracts) are computed by
:mod:`mura.app.modules.rights.rights` and kept on the document as ``Document.access``; a document is
shown only once its searchable PDF exists and it is ``published`` (its OCR checked by staff and
approved by a reviewer, :mod:`mura.app.modules.digitization.workflow`). Two levels, from the access:

- **public** (``access == "online"``): the description, the full text and the PDF are on the
  public site; the search index holds exactly these documents. :func:`public_condition`,
  :func:`is_public`, :func:`public_ids`. This is the narrow
  meaning, so a caller that does not know about reading rooms can never show text it should not.
- **listed** (also ``reading_room`` and ``record_only``): the public sees the description (the
  document page, collections, OAI-PMH) without the text; the PDF goes to staff, and for
  ``reading_room`` also to the library's own networks (:func:`may_read`).
  :func:`listed_condition`, :func:`is_listed`, :func:`listed_ids`, :func:`get_listed_document`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import ColumnElement, and_, select

from mura.app.extensions import db
from mura.app.models import Document

#: Access levels whose description the public sees (``models.rights.ACCESS_LEVELS``).
LISTED_ACCESS = ("online", "reading_room", "record_only")
#: The workflow state of documents the public sees (``models.document.WORKFLOW_STATES``).
PUBLISHED = "published"


def public_condition() -> ColumnElement[bool]:
    """SQL condition on :class:`Document` rows whose full text the public may read."""
    return and_(
        Document.access == "online",
        Document.pdf_file_id.is_not(None),
        Document.status == PUBLISHED,
    )


def is_public(document: Document) -> bool:
    """Whether the public may read ``document`` in full (text, PDF, search)."""
    return (
        document.access == "online"
        and document.pdf_file_id is not None
        and document.status == PUBLISHED
    )


def public_ids(ids: list[int]) -> set[int]:
    """The subset of ``ids`` the public may read in full."""
    return _ids_where(ids, public_condition())


def listed_condition() -> ColumnElement[bool]:
    """SQL condition on :class:`Document` rows whose description the public may see."""
    return and_(
        Document.access.in_(LISTED_ACCESS),
        Document.pdf_file_id.is_not(None),
        Document.status == PUBLISHED,
    )


def is_listed(document: Document) -> bool:
    """Whether the public may see ``document``'s description (its page, OAI-PMH, collections)."""
    return (
        document.access in LISTED_ACCESS
        and document.pdf_file_id is not None
        and document.status == PUBLISHED
    )


def listed_ids(ids: list[int]) -> set[int]:
    """The subset of ``ids`` whose description the public may see."""
    return _ids_where(ids, listed_condition())


def get_listed_document(document_id: int) -> Document | None:
    """The document if the public may see its description, else None (views answer 404)."""
    document = db.session.get(Document, document_id)
    return document if document is not None and is_listed(document) else None


def may_read(document: Document, *, staff: bool, client_ip: str | None) -> bool:
    """Whether this reader may have the full text and the PDF of ``document``.

    Args:
        document: The document (any access).
        staff: A logged-in member of staff (any role) reads everything that has a PDF
            (unpublished documents too: they review them).
        client_ip: The client's address as the app sees it (``PROXY_COUNT`` behind a proxy).
    """
    if document.pdf_file_id is None:
        return False
    if staff:
        return True
    if document.status != PUBLISHED:
        return False
    if document.access == "online":
        return True
    return document.access == "reading_room" and in_reading_room(client_ip)


def in_reading_room(client_ip: str | None) -> bool:
    """Whether ``client_ip`` is in one of the library's own networks (``READING_ROOM_NETWORKS``)."""
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in reading_room_networks())


def reading_room_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``READING_ROOM_NETWORKS`` parsed: a list, or a comma-separated string (the environment)."""
    value = current_app.config.get("READING_ROOM_NETWORKS") or []
    items: Iterable[str] = value.split(",") if isinstance(value, str) else value
    # A wrong entry is a configuration error: fail loudly rather than open or close silently.
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def _ids_where(ids: list[int], condition: ColumnElement[bool]) -> set[int]:
    if not ids:
        return set()
    rows = db.session.scalars(select(Document.id).where(Document.id.in_(ids), condition))
    return set(rows)
