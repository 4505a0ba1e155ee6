"""A reader's search request, from the words typed to the results page (the one path).

1. **Parse**: :func:`mura.app.search.query.parse_query` turns what the reader typed into a
   small query (words AND, phrases, OR, NOT), cut to a bounded size; each word is analysed by
   :mod:`mura.app.search.analysis` (Kazakh, Kyrgyz, Russian, English stems; letter folding;
   Latin-script Kazakh and Russian).
2. **Rank, filter, count, sort** in the index: the configured engine
   (:class:`mura.app.search.engine.SearchEngine`, Whoosh or tantivy, opened by
   :func:`.search.get_engine`) holds, for each public document (only those are indexed,
   :func:`mura.app.modules.rights.visibility.public_condition`), every facet's values
   (collections, type, languages, decade, year, source, authors, subjects) and its date. It
   groups pages into documents (:mod:`mura.app.search.grouping`: a document ranks by its best
   page; near misses of OCR errors, :mod:`mura.app.search.fuzzy`, at half weight when the exact
   words find little), applies the filters and the range of years, counts every facet
   ("disjunctive": each facet counts with every filter except its own), orders by score or date
   and gives the total. No database row of the matching documents is read, so the cost of a
   request does not grow with the database work of its matches.
3. **Show**: the hits of the shown documents only: matching pages and a snippet
   (:func:`mura.app.search.grouping.build_hits`), whose texts are the only rows read (one query);
   "did you mean" from the index (:func:`suggestion`) when little is found.
4. **Cache**: the answer is kept in a bounded in-process LRU (:data:`CACHE_SIZE` entries) keyed
   by the index's generation, so a repeated search costs a lookup and any commit to the index
   (a document published, withdrawn, re-indexed, by any process) makes every entry stale.

:func:`document_facts` computes the same facets from the database: the reference the index's
counts are checked against (tests).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cachetools import LRUCache
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, CollectionItem, Document
from mura.app.models.record import CREATOR_ROLES, RecordAgent, RecordSubject
from mura.app.modules.discovery import search as search_index
from mura.app.modules.rights import visibility
from mura.app.search import FACET_KEYS, SearchEngine, SearchResults
from mura.app.search.facets import FacetValues, count_facets, normalize_filters, passes
from mura.app.search.grouping import results_page
from mura.app.search.types import ANY_YEAR, SORTS, DocumentEntry, YearRange

#: Every facet the search page offers (all from the index).
ALL_FACET_KEYS = FACET_KEYS
#: Facets beyond collection, type and language.
_OTHER_FACETS = tuple(
    key for key in FACET_KEYS if key not in ("collection", "doc_type", "language")
)
#: Search answers kept per process (each a results page and its facet counts: a few kB).
CACHE_SIZE = 512
#: Values of each facet an answer keeps (the most frequent; the page lists 15), besides the
#: chosen ones: a large collection has tens of thousands of authors, and every kept value is
#: memory in the cache and a loop turn in the template.
FACET_VALUES_KEPT = 50
#: Ids per SQL ``IN`` list (:func:`document_facts`).
_CHUNK = 500

_cache: LRUCache[Hashable, SearchResults] = LRUCache(maxsize=CACHE_SIZE)
_suggestions: LRUCache[Hashable, str | None] = LRUCache(maxsize=CACHE_SIZE)
_cache_lock = threading.Lock()


def search(
    query: str,
    *,
    page: int = 1,
    per_page: int = 10,
    filters: Mapping[str, Sequence[str]] | None = None,
    sort: str = "relevance",
    years: YearRange = ANY_YEAR,
    engine: SearchEngine | None = None,
) -> SearchResults:
    """Search the public documents with any facet filter and range of years, in any order.

    Args:
        query: What the reader typed.
        page: 1-based results page.
        per_page: Documents per results page.
        filters: Facet name (:data:`ALL_FACET_KEYS`) -> accepted values.
        sort: One of :data:`SORTS`; anything else is relevance.
        years: Years of publication kept (both ends included).
        engine: The search engine; default: this process's (``search.get_engine``).

    Raises:
        ValueError: On an unknown filter name.
    """
    engine = engine or search_index.get_engine()
    wanted = normalize_filters(filters)
    page, per_page = results_page(page, per_page)
    sort = sort if sort in SORTS else "relevance"
    key = (
        engine.generation(),
        query,
        tuple(sorted((name, tuple(sorted(values))) for name, values in wanted.items())),
        sort,
        years,
        page,
        per_page,
    )
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    results = engine.search(
        query, page=page, per_page=per_page, filters=wanted, years=years, sort=sort
    )
    results.facets = {key: _kept(counts, wanted.get(key)) for key, counts in results.facets.items()}
    with _cache_lock:
        _cache[key] = results
    return results


def _kept(counts: dict[str, int], chosen: frozenset[str] | None) -> dict[str, int]:
    """The first :data:`FACET_VALUES_KEPT` values of a facet (in its order) and the chosen ones."""
    if len(counts) <= FACET_VALUES_KEPT:
        return counts
    return {
        value: n
        for index, (value, n) in enumerate(counts.items())
        if index < FACET_VALUES_KEPT or (chosen and value in chosen)
    }


def clear_cache() -> None:
    """Forget every cached answer (tests; the generation key makes it unnecessary otherwise)."""
    with _cache_lock:
        _cache.clear()
        _suggestions.clear()


def suggestion(query: str, engine: SearchEngine | None = None) -> str | None:
    """A corrected query ("did you mean"), if the engine can tell; cached as the answers are."""
    if not query.strip():
        return None
    engine = engine or search_index.get_engine()
    key = ("suggestion", engine.generation(), query)
    with _cache_lock:
        if key in _suggestions:
            return _suggestions[key]
    corrected = engine.suggest(query)
    found = corrected if corrected and corrected != query else None
    with _cache_lock:
        _suggestions[key] = found
    return found


# --- the same facets from the database (the reference the index is checked against) ----------


@dataclass(frozen=True)
class Facts:
    """What the facets and sorts need to know about a public document, from the database."""

    values: dict[str, tuple[str, ...]]
    when: date | None

    def facet_values(self) -> FacetValues:
        """The facts in the form the engines' reference counting takes."""
        values = self.values
        return FacetValues(
            collections=values["collection"],
            doc_type="".join(values["doc_type"]),
            languages=values["language"],
            others={key: values[key] for key in _OTHER_FACETS},
            day=self.when.toordinal() if self.when else 0,
        )


def document_facts(ids: Sequence[int]) -> dict[int, Facts]:
    """Facet values and date of each public document among ``ids``, read from the database.

    One query per :data:`_CHUNK` documents for each of: the documents and records, their
    collections, their records' creators and subjects.
    """
    facts: dict[int, Facts] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        slugs = _collection_slugs(chunk)
        rows = db.session.execute(
            select(
                Document.id,
                Document.title,
                Document.authors,
                Document.doc_type,
                Document.langs,
                Document.year,
                Document.record_id,
                CatalogueRecord.host_title,
                CatalogueRecord.host_date,
                CatalogueRecord.host_year,
            )
            .outerjoin(CatalogueRecord, Document.record_id == CatalogueRecord.id)
            .where(Document.id.in_(chunk), visibility.public_condition())
        ).all()
        creators, subjects = _record_names([row.record_id for row in rows])
        for row in rows:
            year = row.year
            if row.record_id is not None:
                year = year or row.host_year or (row.host_date.year if row.host_date else None)
            entry = DocumentEntry(
                document_id=row.id,
                title=row.title,
                authors=list(row.authors or []),
                doc_type=row.doc_type,
                languages=[code for code in (row.langs or "").split("+") if code],
                collection=slugs.get(row.id, ()),
                year=year,
                source=(row.host_title or "").strip(),
                creators=creators.get(row.record_id) or None,
                subjects=subjects.get(row.record_id, ()),
                sort_date=row.host_date,
            )
            when = row.host_date or (date(year, 1, 1) if year else None)
            facts[row.id] = Facts(entry.facet_values(), when)
    return facts


def database_facets(
    ids: Iterable[int],
    filters: Mapping[str, Sequence[str]] | None = None,
    years: YearRange = ANY_YEAR,
) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and facet counts of the public documents among ``ids``, from the database.

    What the index must answer for the same matching documents (tests compare them).
    """
    wanted = normalize_filters(filters)
    facts = document_facts(sorted(set(ids)))
    docs = [fact.facet_values() for fact in facts.values()]
    total = sum(1 for doc in docs if passes(doc, wanted, years=years))
    return total, count_facets(docs, wanted, years)


def _collection_slugs(ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The slug of every collection of each document among ``ids``.

    A document in two collections counts in both facets.
    """
    slugs: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(CollectionItem.document_id, Collection.slug)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(CollectionItem.document_id.in_(ids))
        .order_by(CollectionItem.document_id, Collection.slug)
    )
    for doc_id, slug in rows:
        slugs.setdefault(doc_id, []).append(slug)
    return {doc_id: tuple(values) for doc_id, values in slugs.items()}


def _record_names(
    record_ids: Sequence[int | None],
) -> tuple[dict[int, list[str]], dict[int, tuple[str, ...]]]:
    """The creators' names and the subject terms of each record, in catalogue order."""
    wanted = sorted({r for r in record_ids if r is not None})
    creators: dict[int, list[str]] = {}
    subjects: dict[int, list[str]] = {}
    if not wanted:
        return {}, {}
    agents = db.session.execute(
        select(RecordAgent.record_id, RecordAgent.name)
        .where(RecordAgent.record_id.in_(wanted), RecordAgent.role.in_(CREATOR_ROLES))
        .order_by(RecordAgent.record_id, RecordAgent.position, RecordAgent.id)
    )
    for record_id, name in agents:
        if name.strip():
            creators.setdefault(record_id, []).append(name)
    terms = db.session.execute(
        select(RecordSubject.record_id, RecordSubject.term)
        .where(RecordSubject.record_id.in_(wanted))
        .order_by(RecordSubject.record_id, RecordSubject.position, RecordSubject.id)
    )
    for record_id, term in terms:
        if term.strip():
            subjects.setdefault(record_id, []).append(term)
    return creators, {record_id: tuple(values) for record_id, values in subjects.items()}
