"""The public documents chosen by filters alone, with no words typed (what browsing links to).

The browse pages (:mod:`.browse`) link each author, subject, decade and year to the search page
with that filter and no query (``/search?author=…``); the search engines rank words and have
nothing to rank there. A reader who follows such a link expects the list of those documents, as
Omeka S and DSpace show one, so the search page lists them from the database here: one page of
documents (``LIMIT``/``OFFSET``) and one count, whatever the number of documents, newest first
unless the reader sorts otherwise. No facet counts (they would need every listed document's
facts; the browse page that led here shows the counts).

Only what the public may read in full is listed (:func:`visibility.public_condition`, as the
index holds), so a restricted, unpublished or withdrawn document never appears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, func, or_, select

from mura.app.extensions import db
from mura.app.models import Collection, CollectionItem, Document, RecordAgent, RecordSubject
from mura.app.models.record import CREATOR_ROLES
from mura.app.modules.rights import visibility
from mura.app.search import SearchResults
from mura.app.search.grouping import results_page
from mura.app.search.types import ANY_YEAR, FACET_KEYS, DocumentHit, YearRange

#: The furthest page of a listing (an offset beyond costs a scan of every row for nothing).
MAX_PAGE = 500


def wanted(filters: Mapping[str, Sequence[str]] | None, years: YearRange) -> bool:
    """Whether a search with no words has anything to list (a filter or a range of years)."""
    return any(values for values in (filters or {}).values()) or years != ANY_YEAR


def listing(
    *,
    page: int = 1,
    per_page: int = 10,
    filters: Mapping[str, Sequence[str]] | None = None,
    years: YearRange = ANY_YEAR,
    sort: str = "newest",
) -> SearchResults:
    """The public documents that pass every filter, one page of them, and how many there are.

    ``sort``: ``oldest`` by year ascending; ``newest`` (also for ``relevance``: there is no
    relevance without words) by year descending; undated documents last; then by title.
    """
    page, per_page = results_page(min(page, MAX_PAGE), per_page)
    conditions = [visibility.public_condition(), *_conditions(filters or {}, years)]
    where = and_(*conditions)
    total = db.session.scalar(select(func.count(Document.id)).where(where)) or 0
    year_order = Document.year.asc() if sort == "oldest" else Document.year.desc()
    rows = db.session.execute(
        select(Document.id, Document.title)
        .where(where)
        .order_by(Document.year.is_(None), year_order, Document.title, Document.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    hits = [DocumentHit(row.id, row.title, [], Markup(""), None, 0.0) for row in rows]
    return SearchResults("", total, hits, page, per_page, {key: {} for key in FACET_KEYS})


def _conditions(filters: Mapping[str, Sequence[str]], years: YearRange) -> list[ColumnElement]:
    """One SQL condition per filter (values of one filter: any of them)."""
    out: list[ColumnElement] = []
    for key, values in filters.items():
        values = [v for v in values if v]
        if not values:
            continue
        if key == "author":
            agents = select(RecordAgent.record_id).where(
                func.trim(RecordAgent.name).in_(values), RecordAgent.role.in_(CREATOR_ROLES)
            )
            out.append(Document.record_id.in_(agents))
        elif key == "subject":
            terms = select(RecordSubject.record_id).where(func.trim(RecordSubject.term).in_(values))
            out.append(Document.record_id.in_(terms))
        elif key == "collection":
            members = (
                select(CollectionItem.document_id)
                .join(Collection, Collection.id == CollectionItem.collection_id)
                .where(Collection.slug.in_(values))
            )
            out.append(Document.id.in_(members))
        elif key == "doc_type":
            out.append(Document.doc_type.in_(values))
        elif key == "language":
            out.append(or_(*(("+" + Document.langs + "+").contains(f"+{v}+") for v in values)))
        elif key == "year":
            out.append(Document.year.in_([int(v) for v in values if v.isdecimal()]))
        elif key == "decade":
            starts = [int(v[:4]) for v in values if v[:4].isdecimal()]
            out.append(or_(*(Document.year.between(s, s + 9) for s in starts)))
        elif key == "source":
            out.append(Document.id.is_(None))  # articles' sources are found by a search
    if years.first is not None:
        out.append(Document.year >= years.first)
    if years.last is not None:
        out.append(Document.year <= years.last)
    return out
