"""A reader's search request, from the words typed to the results page (the one path).

1. **Parse**: :func:`mura.app.search.query.parse_query` turns what the reader typed into a
   small query (words AND, phrases, OR, NOT), cut to a bounded size; each word is analysed by
   :mod:`mura.app.search.analysis` (Kazakh, Kyrgyz, Russian, English stems; letter folding;
   Latin-script Kazakh and Russian).
2. **Rank**: the configured engine (:class:`mura.app.search.engine.SearchEngine`, Whoosh or
   tantivy, opened by :func:`.search.get_engine`) gives every matching document with its score
   (``ranked_documents``). Both engines group pages into documents the same way
   (:mod:`mura.app.search.grouping`: a document ranks by its best page; near misses of OCR errors,
   :mod:`mura.app.search.fuzzy`, at half weight when the exact words find little, within the
   request's lookup budget).
3. **Filter and count** (here): the database gives the facts of the *public* documents among
   them (:func:`mura.app.modules.rights.visibility.public_condition`): collection, type,
   languages, decade and year, the source an article comes from. The filters, the facet counts
   and the date order are computed for all facets alike. Facet counts are "disjunctive": each
   facet counts with every filter except its own.
4. **Show**: the hits of the shown documents only, in the page's order, from the same run of
   the query (``Ranking.hits``): matching pages and a snippet, built in one place for both
   engines (:func:`mura.app.search.grouping.build_hits`); "did you mean" from the index
   (:func:`suggestion`) when little is found. The index is asked once per request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, CollectionItem, Document
from mura.app.modules.discovery import search as search_index
from mura.app.modules.rights import visibility
from mura.app.search import FACET_KEYS, SearchEngine, SearchResults
from mura.app.search.grouping import results_page

#: Facets from the database, after the index's ``collection``, ``doc_type``, ``language``.
DB_FACET_KEYS = ("decade", "year", "source")
ALL_FACET_KEYS = (*FACET_KEYS, *DB_FACET_KEYS)
#: Orders of the results.
SORTS = ("relevance", "newest", "oldest")
#: Ids per SQL ``IN`` list.
_CHUNK = 500


@dataclass(frozen=True)
class Facts:
    """What the facets and sorts need to know about a public document."""

    values: dict[str, tuple[str, ...]]
    when: date | None


def search(
    query: str,
    *,
    page: int = 1,
    per_page: int = 10,
    filters: Mapping[str, Sequence[str]] | None = None,
    sort: str = "relevance",
    engine: SearchEngine | None = None,
) -> SearchResults:
    """Search the public documents with any facet filter, in relevance or date order.

    Args:
        query: What the reader typed.
        page: 1-based results page.
        per_page: Documents per results page.
        filters: Facet name (:data:`ALL_FACET_KEYS`) -> accepted values.
        sort: One of :data:`SORTS`; anything else is relevance.
        engine: The search engine; default: this process's (``search.get_engine``).

    Raises:
        ValueError: On an unknown filter name.
    """
    engine = engine or search_index.get_engine()
    wanted = _normalize(filters)
    page, per_page = results_page(page, per_page)
    ranking = engine.rank(query)  # the one query to the index
    ranked = ranking.ranked
    facts = document_facts([doc_id for doc_id, _ in ranked])
    ranked = [(doc_id, score) for doc_id, score in ranked if doc_id in facts]
    facets = count_facets((facts[doc_id] for doc_id, _ in ranked), wanted)
    matching = [item for item in ranked if _passes(facts[item[0]], wanted)]
    if sort in ("newest", "oldest"):
        matching = _by_date(matching, facts, newest=sort == "newest")
    shown = matching[(page - 1) * per_page : page * per_page]
    hits = ranking.hits(shown)  # the same hits as the engine's own (search/grouping.py)
    return SearchResults(query, len(matching), hits, page, per_page, facets)


def _normalize(filters: Mapping[str, Sequence[str]] | None) -> dict[str, frozenset[str]]:
    result: dict[str, frozenset[str]] = {}
    for key, values in (filters or {}).items():
        if key not in ALL_FACET_KEYS:
            raise ValueError(f"unknown search filter {key!r}; expected one of {ALL_FACET_KEYS}")
        chosen = frozenset(v for v in ([values] if isinstance(values, str) else values) if v)
        if chosen:
            result[key] = chosen
    return result


def document_facts(ids: Sequence[int]) -> dict[int, Facts]:
    """Facet values and date of each public document among ``ids``."""
    facts: dict[int, Facts] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        slugs = _collection_slugs(chunk)
        rows = db.session.execute(
            select(
                Document.id,
                Document.doc_type,
                Document.langs,
                Document.year,
                CatalogueRecord.host_title,
                CatalogueRecord.host_date,
                CatalogueRecord.host_year,
            )
            .outerjoin(CatalogueRecord, Document.record_id == CatalogueRecord.id)
            .where(Document.id.in_(chunk), visibility.public_condition())
        )
        for doc_id, doc_type, langs, year, host, host_date, host_year in rows:
            year = year or host_year or (host_date.year if host_date else None)
            values = {
                "collection": slugs.get(doc_id, ()),
                "doc_type": (doc_type,) if doc_type else (),
                "language": tuple(code for code in (langs or "").split("+") if code),
                "decade": (str(year // 10 * 10),) if year else (),
                "year": (str(year),) if year else (),
                "source": (host.strip(),) if host and host.strip() else (),
            }
            when = host_date or (date(year, 1, 1) if year else None)
            facts[doc_id] = Facts(values, when)
    return facts


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


def _passes(facts: Facts, wanted: Mapping[str, frozenset[str]], ignore: str | None = None) -> bool:
    return all(
        key == ignore or not values.isdisjoint(facts.values[key]) for key, values in wanted.items()
    )


def count_facets(
    docs: Iterable[Facts], wanted: Mapping[str, frozenset[str]]
) -> dict[str, dict[str, int]]:
    """Documents per facet value, each facet counted with every filter but its own.

    Returns:
        Facet -> value -> count; most frequent first, except ``decade`` and ``year``, which are
        in chronological order (newest first).
    """
    counters = {key: Counter[str]() for key in ALL_FACET_KEYS}
    for facts in docs:
        for key, counter in counters.items():
            if _passes(facts, wanted, ignore=key):
                counter.update(set(facts.values[key]))
    result = {}
    for key, counter in counters.items():
        if key in ("decade", "year"):
            items = sorted(counter.items(), key=lambda item: item[0], reverse=True)
        else:
            items = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        result[key] = dict(items)
    return result


def _by_date(
    ranked: list[tuple[int, float]], facts: Mapping[int, Facts], *, newest: bool
) -> list[tuple[int, float]]:
    """Dated documents by date (ties: by score), then the undated ones by score."""
    dated = [item for item in ranked if facts[item[0]].when is not None]
    undated = [item for item in ranked if facts[item[0]].when is None]
    dated.sort(key=lambda item: (facts[item[0]].when.toordinal() * (-1 if newest else 1), -item[1]))
    return dated + undated


def suggestion(query: str, engine: SearchEngine | None = None) -> str | None:
    """A corrected query ("did you mean"), if the engine can tell."""
    if not query.strip():
        return None
    corrected = (engine or search_index.get_engine()).suggest(query)
    return corrected if corrected and corrected != query else None
