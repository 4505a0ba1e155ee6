"""Hand corrections of a page's OCR text: they go into search and survive a later re-OCR."""

from __future__ import annotations

from mura.app.core import task_names
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import Page
from mura.app.models.base import utcnow

REINDEX_TASK = task_names.REINDEX_DOCUMENT
#: Longest text accepted for one page (a dense newspaper page is ~30,000 characters).
MAX_TEXT = 200_000


def correct_page_text(page_id: int, text: str | None, user: str | None = None) -> Page:
    """Set (or, with ``None``, drop) the corrected text of a page and re-index its document."""
    page = db.session.get(Page, page_id)
    if page is None:
        raise LookupError(page_id)
    if text is not None:
        text = text.replace("\r\n", "\n")[:MAX_TEXT]
        if text == (page.text or ""):
            text = None  # identical to the OCR: nothing to keep
    page.text_corrected = text
    page.corrected_at = utcnow() if text is not None else None
    page.corrected_by = user if text is not None else None
    enqueue_after_commit(REINDEX_TASK, page.document_id)
    db.session.commit()
    return page
