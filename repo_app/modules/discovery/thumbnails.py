"""Thumbnails of documents for the public lists: search results, the home page, collections.

A thumbnail is the page scaled to fit 160 × 160 pixels, served by the page's IIIF image service
(``/iiif/image/<id>/<seq>/full/<w>,<h>/0/default.jpg``, a size its ``info.json`` lists;
:func:`mura.app.modules.discovery.iiif_image.thumbnail_size`): rendered once, then read from the
cache, sent with an ``ETag`` and kept a day by browsers and shared caches. The lists give the
``<img>`` its width and height, so the page does not move while thumbnails load.

Only documents the public may read in full (:func:`visibility.is_public`) get one: a document
listed for its description only (reading room, record only) shows no image of its pages, and the
image service answers 404 for it anyway. Work is bounded: one query for the pages of a whole
list, whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select, tuple_

from mura.app.extensions import db
from mura.app.models import CollectionItem, Document, Page, ScanJob
from mura.app.modules.discovery import iiif_image, reader
from mura.app.modules.rights import visibility


@dataclass(frozen=True)
class Thumbnail:
    """One thumbnail: the image URL and its size in pixels (for ``width``/``height``)."""

    url: str
    width: int
    height: int
    seq: int


def for_documents(
    documents: Iterable[Document], seqs: Mapping[int, int] | None = None
) -> dict[int, Thumbnail]:
    """Thumbnails of the public documents among ``documents``, by document id.

    Args:
        documents: The documents of one list (a page of results, of a collection...).
        seqs: The page to show per document id (the page of a search hit); page 1 otherwise.

    Returns:
        A thumbnail per document that is public and whose page has an image service.
    """
    wanted = {
        doc.id: (seqs or {}).get(doc.id) or 1 for doc in documents if visibility.is_public(doc)
    }
    if not wanted:
        return {}
    latest = (
        select(ScanJob.document_id, func.max(ScanJob.id).label("job_id"))
        .where(ScanJob.document_id.in_(wanted), ScanJob.status.in_(("indexing", "done")))
        .group_by(ScanJob.document_id)
        .subquery()
    )
    rows = db.session.execute(
        select(latest.c.document_id, Page)
        .join(Page, Page.job_id == latest.c.job_id)
        .where(tuple_(latest.c.document_id, Page.seq).in_(list(wanted.items())))
    ).all()
    found = {}
    for document_id, page in rows:
        if page.seq == wanted[document_id] and iiif_image.has_service(page):
            found[document_id] = thumbnail(document_id, page)
    return found


def thumbnail(document_id: int, page: Page) -> Thumbnail:
    """The thumbnail of one page (which has an image service)."""
    width, height = iiif_image.thumbnail_size(*reader.page_size_px(page))
    url = url_for(
        "reader.iiif_image_tile",
        document_id=document_id,
        seq=page.seq,
        region="full",
        size=f"{width},{height}",
        rotation="0",
        quality="default.jpg",
    )
    return Thumbnail(url, width, height, page.seq)


def collection_cover(collection_id: int) -> Thumbnail | None:
    """The first page of the collection's first public document (in the collection's order).

    The cover of a collection without an uploaded cover image; one query for the document,
    one for its page.
    """
    first = db.session.scalar(
        select(Document)
        .join(CollectionItem, CollectionItem.document_id == Document.id)
        .where(CollectionItem.collection_id == collection_id, visibility.public_condition())
        .order_by(CollectionItem.position.is_(None), CollectionItem.position, Document.id)
        .limit(1)
    )
    return for_documents([first]).get(first.id) if first is not None else None
