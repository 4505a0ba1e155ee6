"""The Whoosh implementation of :class:`~mura.app.search.engine.SearchEngine`.

The index holds one entry per page. Mura's own analysis (:mod:`mura.app.search.analysis`) turns
text into terms (stems, by the document's languages) before Whoosh sees it, and Whoosh only
splits the ready terms on spaces: the index's schema thus contains only Whoosh's own classes,
and queries are built directly from the parsed query (:mod:`mura.app.search.query`: each word
an OR of its alternatives) instead of by Whoosh's query parser. When the exact query finds
fewer than :data:`~mura.app.search.fuzzy.FUZZY_BELOW` documents, it is run again with the
near misses of its words (:mod:`mura.app.search.fuzzy`), looked up term by term in the body
field's dictionary.

Queries are not walked through Whoosh's matchers, a posting at a time in Python: the postings
are read from the index into arrays and ranked, grouped into documents, counted and faceted
with numpy (:mod:`mura.app.search.whoosh_fast`; the same results, exact totals and facets).
Pairs of adjacent common terms are indexed as grams (:mod:`mura.app.search.grams`), so a phrase
of common words is one term instead of two long position checks.

Page text is analysed but not stored (docs/design-notes.md, "Search"); snippets are made from the
text the
:data:`~mura.app.search.types.TextLoader` returns.

Concurrency: Whoosh allows one writer per index, guarded by a file lock. Several Celery worker
processes may write at once, so a write retries with growing pauses while the lock is held and
gives up with :class:`~mura.app.search.types.IndexBusyError` after ``lock_timeout`` seconds.
Readers never wait: each thread keeps its own searcher and replaces it with a fresh one as soon as
the index has a newer generation, so a search sees what any process committed before it started.
(Whoosh's ``Searcher.refresh()`` is not used: it may close files another thread is reading.)
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from whoosh import fields
from whoosh.analysis import RegexTokenizer, SpaceSeparatedTokenizer
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex, LockError
from whoosh.query import (
    And,
    AndNot,
    ConstantScoreQuery,
    NullQuery,
    Or,
    Phrase,
    Query,
    Term,
)
from whoosh.query import Sequence as WordSequence
from whoosh.searching import Searcher

from mura.app.search import fuzzy, grams
from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER, Analyzer
from mura.app.search.facets import (
    FacetValues,
    count_facets,
    date_order,
    normalize_filters,
    passes,
)
from mura.app.search.grams import SplitPair, split_pair
from mura.app.search.grouping import (
    ALL_FIELDS,
    BODY_ONLY,
    NEAR_BOOST,
    NO_PAGE,
    Candidate,
    KnownTerms,
    PageMatch,
    PageMatcher,
    PageSource,
    best_per_document,
    build_hits,
    matching_pages,
    ranked_ids,
    results_page,
    with_fallback,
)
from mura.app.search.grouping import document_pages as grouped_document_pages
from mura.app.search.index_meta import FACETS_VERSION, meta_for_new_index, read_meta
from mura.app.search.locking import retry_locked
from mura.app.search.query import Clause, ParsedQuery, parse_query
from mura.app.search.types import (
    ANY_YEAR,
    FACET_KEYS,
    NO_RANKING,
    DocumentEntry,
    DocumentHit,
    IndexBusyError,
    PageEntry,
    Ranking,
    SearchResults,
    TextLoader,
    YearRange,
)
from mura.app.search.whoosh_fast import DAY_FIELD, FACET_FIELDS, FastCache, FastView

log = logging.getLogger(__name__)

_T = TypeVar("_T")

INDEX_NAME = "MAIN"
#: Memory for the writer's posting pool; 512 MB bought nothing over 256 (docs/design-notes.md).
WRITER_LIMITMB = 256
#: Live entries of a term counted at most, in a segment with deletions ("did you mean").
LIVE_COUNT_LIMIT = 1000
#: Rank with numpy over the raw postings (:mod:`~mura.app.search.whoosh_fast`) instead of
#: walking Whoosh's matchers; the same results (tests compare the two).
VECTORISED = True


def build_schema() -> fields.Schema:
    """Return the schema of a page entry; text fields receive Mura's terms joined by spaces."""
    terms = SpaceSeparatedTokenizer()
    return fields.Schema(
        document_id=fields.NUMERIC(int, bits=64, stored=True, sortable=True),
        page_id=fields.STORED(),
        seq=fields.NUMERIC(int, stored=True, sortable=True),
        title=fields.TEXT(analyzer=terms, phrase=True),
        authors=fields.TEXT(analyzer=terms, phrase=True),
        body=fields.TEXT(analyzer=terms, phrase=True),
        # Pairs of adjacent common terms of the body (grams.py): a common phrase is one term.
        grams=fields.TEXT(analyzer=terms, phrase=False),
        doc_type=fields.ID(stored=True),
        # Every collection of the document, comma-separated (a document is in several).
        collection=fields.KEYWORD(stored=True, commas=True),
        languages=fields.KEYWORD(stored=True),
        year=fields.NUMERIC(int, stored=True),
        title_display=fields.STORED(),
        # The other facets (FACETS_VERSION 2): one term per value, whole; the many-valued ones
        # (authors, subjects) joined by _VALUE_JOIN, which no value holds (names hold commas).
        decade=fields.ID(),
        pubyear=fields.ID(),
        source=fields.ID(),
        author_facet=fields.TEXT(analyzer=RegexTokenizer(r"[^\x1f]+"), phrase=False),
        subject=fields.TEXT(analyzer=RegexTokenizer(r"[^\x1f]+"), phrase=False),
        # The sort date (a day number; 0: undated), a column read for the date orders.
        day=fields.NUMERIC(int, bits=32, sortable=True),
        # Every facet value and the day, for the matcher path (VECTORISED off).
        facet_values=fields.STORED(),
    )


#: Joins the values of a many-valued facet in one field (as whoosh_fast._SET_JOIN); facet
#: values never hold it (``types._clean`` drops control characters).
_VALUE_JOIN = "\x1f"
#: Facets beyond collection, type and language (in the index since FACETS_VERSION 2).
_OTHER_FACETS = ("decade", "year", "source", "author", "subject")


@dataclass(frozen=True)
class _DocInfo:
    title: str
    facets: FacetValues


def _slugs(stored: str | None) -> tuple[str, ...]:
    """The collections stored with an entry: comma-separated (one bare slug in older indexes)."""
    return tuple(slug for slug in (stored or "").split(",") if slug)


class _Snapshot:
    """A searcher of one index generation, used by one thread, with caches that live with it."""

    def __init__(self, searcher: Searcher, common: frozenset[str] | None, fast: FastCache) -> None:
        self.searcher = searcher
        self.common = common
        self.owner = threading.current_thread()
        self._fast = fast
        self._view: FastView | None | bool = False
        self._columns: dict[str, Any] = {}
        self._infos: dict[int, _DocInfo] = {}

    def view(self) -> FastView | None:
        """Return the vectorised evaluator of this generation, ``None`` if it cannot serve.

        ``None`` too when :data:`VECTORISED` is off (the matchers are walked instead).
        """
        if not VECTORISED:
            return None
        if self._view is False:
            self._view = self._fast.view(self.searcher)
        return self._view  # type: ignore[return-value]

    def document_id(self, docnum: int) -> int:
        return self.column("document_id")[docnum]

    def seq(self, docnum: int) -> int:
        return self.column("seq")[docnum]

    def column(self, name: str) -> list[int]:
        """Return a numeric column of every entry, read once per generation into a list.

        Grouping pages by document reads the column of every matching page: a list index costs
        a tenth of Whoosh's column reader.
        """
        column = self._columns.get(name)
        if column is None:
            reader = self.searcher.reader()
            values = reader.column_reader(name) if reader.doc_count_all() else ()
            column = self._columns[name] = [int(value) for value in values]
        return column

    def scored(self, query: Query) -> Iterator[tuple[int, float]]:
        """Yield ``(docnum, score)`` of every entry matching ``query``, in index order.

        The query's matchers are walked directly: Whoosh's collectors cost a third more per
        match, and sorting is left to the caller (grouping needs none).
        """
        context = self.searcher.context(needs_current=True)
        for leaf, offset in self.searcher.leaf_searchers():
            matcher = query.matcher(leaf, context)
            if matcher.is_active():
                matcher = matcher.replace(0)
            while matcher.is_active():
                yield offset + matcher.id(), matcher.score()
                matcher.next()

    def info(self, document_id: int, docnum: int) -> _DocInfo:
        """Return title and facet values of a document, read from one of its entries."""
        info = self._infos.get(document_id)
        if info is None:
            stored = self.searcher.stored_fields(docnum)
            others = stored.get("facet_values") or {}
            facets = FacetValues(
                collections=_slugs(stored.get("collection")),
                doc_type=stored.get("doc_type", ""),
                languages=tuple(stored.get("languages", "").split()),
                others={key: tuple(values) for key, values in others.items() if key != "day"},
                day=int(others.get("day", 0) or 0),
            )
            info = self._infos[document_id] = _DocInfo(stored.get("title_display", ""), facets)
        return info

    def close(self) -> None:
        self.searcher.close()


class _SearcherPool:
    """One searcher per thread, replaced when the index has a newer generation.

    Searchers of threads that have ended (a development server starts one per request) are
    closed the next time any thread opens a searcher.
    """

    def __init__(self, index: FileIndex, common: frozenset[str] | None) -> None:
        self._index = index
        self._common = common
        self._fast = FastCache()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Snapshot] = set()

    def current(self) -> _Snapshot:
        """Return this thread's snapshot of the newest generation of the index."""
        snapshot: _Snapshot | None = getattr(self._local, "snapshot", None)
        if snapshot is not None and snapshot.searcher.up_to_date():
            return snapshot
        fresh = _Snapshot(self._index.searcher(), self._common, self._fast)
        with self._lock:
            stale = {s for s in self._open if s is snapshot or not s.owner.is_alive()}
            for old in stale:
                old.close()
            self._open -= stale
            self._open.add(fresh)
        self._local.snapshot = fresh
        return fresh

    def close(self) -> None:
        with self._lock:
            for snapshot in self._open:
                snapshot.close()
            self._open.clear()
        self._local = threading.local()


class WhooshEngine:
    """Full-text search over page entries in a Whoosh index.

    Args:
        index_dir: Folder of the index; created with the index if missing.
        text_loader: Returns page texts by page id, for snippets.
        analyzer: Analysis for indexed and query text.
        lock_timeout: Seconds a write waits for the index's write lock before giving up.

    Attributes:
        needs_rebuild: The index was built with another analysis version; results stay usable
            but miss what the new analysis would find until every document is indexed again.
    """

    def __init__(
        self,
        index_dir: Path,
        text_loader: TextLoader,
        *,
        analyzer: Analyzer = DEFAULT_ANALYZER,
        lock_timeout: float = 60.0,
    ) -> None:
        self.index_dir = index_dir
        self._text_loader = text_loader
        self._analyzer = analyzer
        self._lock_timeout = lock_timeout
        self._write_lock = threading.Lock()
        self._index = _open_or_create(index_dir, lock_timeout, grams.default_common_terms(analyzer))
        meta = read_meta(index_dir)
        # None: an index made before grams (maybe without their field); phrases use positions.
        self._common = meta.common_terms if meta and "grams" in self._index.schema else None
        # An index made before every facet was in it has no fields for them: they stay empty
        # (the search page shows fewer facets) until ``mura reindex``.
        self._all_facets = DAY_FIELD in self._index.schema
        self.needs_rebuild = (meta.analysis_version if meta else None) != ANALYSIS_VERSION or (
            (meta.facets_version if meta else None) != FACETS_VERSION or not self._all_facets
        )
        if self.needs_rebuild:
            log.warning("search index %s was built with another analysis: rebuild it", index_dir)
        self._searchers = _SearcherPool(self._index, self._common)

    def __enter__(self) -> WhooshEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the searchers' files; the engine must not be used afterwards."""
        self._searchers.close()

    # Writing

    def index_document(self, doc: DocumentEntry, pages: Iterable[PageEntry]) -> None:
        """Replace every entry of ``doc`` with one entry per page (see ``SearchEngine``).

        The pages are read and analysed before the write lock is taken, so other processes
        wait only for the write itself.
        """
        entries = list(self._entries(doc, pages))
        with self._writer() as writer:
            writer.delete_by_term("document_id", doc.document_id)
            for entry in entries:
                writer.add_document(**entry)

    def index_documents(self, items: Iterable[tuple[DocumentEntry, Iterable[PageEntry]]]) -> int:
        """Replace the entries of many documents in one commit; return how many were indexed.

        For rebuilds: documents are read and analysed one at a time while the write lock is
        held, so memory stays small but other writers wait until the commit.

        Raises:
            ValueError: When a document comes twice (its entries would be doubled).
            IndexBusyError: When another writer kept the index locked for too long.
        """
        seen: set[int] = set()
        with self._writer() as writer:
            for doc, pages in items:
                if doc.document_id in seen:
                    raise ValueError(f"document {doc.document_id} given twice")
                seen.add(doc.document_id)
                writer.delete_by_term("document_id", doc.document_id)
                for entry in self._entries(doc, pages):
                    writer.add_document(**entry)
        return len(seen)

    def remove_document(self, document_id: int) -> None:
        """Remove every entry of a document; an absent document is not an error."""
        with self._writer() as writer:
            writer.delete_by_term("document_id", document_id)

    def _entries(self, doc: DocumentEntry, pages: Iterable[PageEntry]) -> Iterator[dict[str, Any]]:
        languages = doc.languages
        common: dict[str, Any] = {
            "document_id": doc.document_id,
            "title": self._terms(doc.title, languages),
            "authors": " ".join(self._terms(author, languages) for author in doc.authors),
            "title_display": doc.title,
        }
        optional = {
            "doc_type": doc.doc_type,
            "collection": self._collections_value(doc.collections),
            "languages": " ".join(doc.languages),
            "year": doc.year,
        }
        if self._all_facets:
            optional.update(self._facet_fields(doc))
        common.update({key: value for key, value in optional.items() if value not in (None, "")})
        empty = True
        for page in pages:
            empty = False
            body = self._analyzer.index_terms(page.text, languages)
            entry = common | {"page_id": page.page_id, "seq": page.seq, "body": " ".join(body)}
            if self._common is not None:
                entry["grams"] = " ".join(grams.index_grams(body, self._common))
            yield entry
        if empty:
            yield common | {"page_id": None, "seq": NO_PAGE, "body": ""}

    @staticmethod
    def _facet_fields(doc: DocumentEntry) -> dict[str, Any]:
        """The fields of the facets beyond collection, type and language, and the sort day."""
        values = doc.facet_values()
        found: dict[str, Any] = {
            FACET_FIELDS[key]: _VALUE_JOIN.join(values[key]) for key in _OTHER_FACETS
        }
        found[DAY_FIELD] = doc.sort_day
        found["facet_values"] = {key: list(values[key]) for key in _OTHER_FACETS}
        found["facet_values"]["day"] = doc.sort_day
        return found

    def _collections_value(self, slugs: Sequence[str]) -> str:
        """Every collection, comma-separated; only the first in an index made before that.

        An older index's schema has one untokenised collection per entry: "a,b" would be one
        made-up collection in its facets until ``mura reindex`` (which the dashboard asks for).
        """
        if isinstance(self._index.schema["collection"], fields.KEYWORD):
            return ",".join(slugs)
        return slugs[0] if slugs else ""

    def _terms(self, text: str, languages: Sequence[str]) -> str:
        return " ".join(self._analyzer.index_terms(text, languages))

    @contextmanager
    def _writer(self) -> Iterator[Any]:
        """Yield a Whoosh writer holding the index's lock; commit on success, cancel on error."""
        deadline = time.monotonic() + self._lock_timeout
        if not self._write_lock.acquire(timeout=self._lock_timeout):
            raise IndexBusyError(f"search index {self.index_dir} busy in this process")
        try:
            writer = retry_locked(
                lambda: self._index.writer(limitmb=WRITER_LIMITMB),
                deadline,
                self.index_dir,
                LockError,
            )
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        finally:
            self._write_lock.release()

    # Searching

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        per_page: int = 10,
        filters: Mapping[str, Sequence[str]] | None = None,
        years: YearRange = ANY_YEAR,
        sort: str = "relevance",
    ) -> SearchResults:
        """Search titles, authors and page text; one hit per document (see ``SearchEngine``).

        Raises:
            ValueError: On a filter name that is not a facet (``FACET_KEYS``).
        """
        page, per_page = results_page(page, per_page)
        wanted = normalize_filters(filters)
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return SearchResults(query, 0, [], page, per_page, {key: {} for key in FACET_KEYS})
        snapshot = self._searchers.current()
        found = _find(snapshot, parsed, wanted, years, sort)
        shown = slice((page - 1) * per_page, page * per_page)
        hits = self._hits(snapshot, found, shown)
        return SearchResults(query, found.total, hits, page, per_page, found.facets)

    def document_pages(self, document_id: int, query: str) -> list[int]:
        """Return the page numbers of one document whose text matches ``query``, ascending.

        Pages must contain every part of the query; if none does, pages containing any part are
        returned, so a document found through its title and one word of a page still shows that
        page. If no page contains any part, near misses of the words count (OCR errors), as in
        :meth:`search`.
        """
        snapshot = self._searchers.current()
        parsed = parse_query(query, self._analyzer)
        return grouped_document_pages(
            _known(snapshot).pruning(_page_matcher(snapshot)),
            parsed,
            document_id,
            _body_frequency(snapshot),
        )

    # Other hooks: "did you mean", the cache's generation, and the whole ranked list of matching
    # documents (``ranked_documents``, ``rank``) for callers that filter or order it themselves.

    def generation(self) -> Hashable:
        """The index's newest generation on disk (any process's commit makes a new one)."""
        return (str(self.index_dir), self._index.latest_generation())

    def doc_frequency(self, term: str) -> int:
        """Return how many entries hold ``term`` in the title, authors or page text."""
        reader = self._searchers.current().searcher.reader()
        return sum(reader.doc_frequency(name, term) for name, _ in ALL_FIELDS)

    def suggest(self, query: str) -> str | None:
        """Return the query with unknown words corrected (:mod:`mura.app.search.suggest`).

        Only live entries count: a word of a removed (withdrawn, unpublished) document is
        neither known nor offered, though Whoosh keeps it in the dictionary until a merge.
        """
        from mura.app.search.suggest import suggest

        reader = self._searchers.current().searcher.reader()
        known = _live_frequency(reader, [name for name, _ in ALL_FIELDS])
        return suggest(query, _live_frequency(reader, ["body"]), self._analyzer, known=known)

    def ranked_documents(
        self, query: str, *, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[tuple[int, float]]:
        """Return ``(document id, score)`` of every matching document, best first (no snippets).

        The same matching and ranking as :meth:`search`, near misses included.
        """
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return []
        wanted = normalize_filters(filters)
        found = _find(self._searchers.current(), parsed, wanted)
        return list(zip(found.document_ids.tolist(), found.scores.tolist(), strict=True))

    def rank(self, query: str) -> Ranking:
        """Every matching document and the hits of those shown (see ``SearchEngine``)."""
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return NO_RANKING
        snapshot = self._searchers.current()
        found = _find(snapshot, parsed, normalize_filters(None))
        ids = found.document_ids.tolist()
        position = {doc_id: index for index, doc_id in enumerate(ids)}

        def hits(shown: Sequence[tuple[int, float]]) -> list[DocumentHit]:
            return self._hits(snapshot, found, [position[doc_id] for doc_id, _ in shown])

        return Ranking(list(zip(ids, found.scores.tolist(), strict=True)), hits)

    def _hits(
        self, snapshot: _Snapshot, found: _Found, shown: slice | list[int]
    ) -> list[DocumentHit]:
        ids = found.document_ids[shown].tolist()
        scores = found.scores[shown].tolist()
        docnums = found.docnums[shown].tolist()
        pages = matching_pages(_page_matcher(snapshot), found.parsed, ids)
        candidates = []
        for doc_id, score, docnum in zip(ids, scores, docnums, strict=True):
            info = snapshot.info(doc_id, docnum)
            candidates.append(
                Candidate(
                    document_id=doc_id,
                    title=info.title,
                    score=score,
                    languages=info.facets.languages,
                    matches=pages.get(doc_id, []),
                    fallback=_page_source(snapshot, docnum),
                )
            )
        return build_hits(
            candidates,
            found.parsed.positive_terms(),
            page_of=lambda match: _page_source(snapshot, match.ref),  # type: ignore[arg-type]
            text_loader=self._text_loader,
            analyzer=self._analyzer,
        )


@dataclass
class _Found:
    """What a query found: the matching documents after filters, best first, and the facets.

    Attributes:
        parsed: The query that was run (pruned of terms the index lacks).
        document_ids: The documents, ranked.
        scores: Each one's score (its best entry's).
        docnums: Each one's best entry.
        facets: The facet counts (each facet without its own filter).
    """

    parsed: ParsedQuery
    document_ids: np.ndarray
    scores: np.ndarray
    docnums: np.ndarray
    facets: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        """Number of matching documents."""
        return len(self.document_ids)


def _find(
    snapshot: _Snapshot,
    parsed: ParsedQuery,
    wanted: Mapping[str, frozenset[str]],
    years: YearRange = ANY_YEAR,
    sort: str = "relevance",
) -> _Found:
    """Run the query pruned of unknown terms; with its near misses if it finds too few."""
    known = _known(snapshot)
    _, found = with_fallback(
        parsed,
        lambda p: _ranked(snapshot, known.prune(p), wanted, years, sort),
        lambda found: found.total,
        _body_frequency(snapshot),
    )
    return found


def _ranked(
    snapshot: _Snapshot,
    parsed: ParsedQuery,
    wanted: Mapping[str, frozenset[str]],
    years: YearRange = ANY_YEAR,
    sort: str = "relevance",
) -> _Found:
    """Run the query: the ranked (or dated) documents after filters, and the facets."""
    view = snapshot.view()
    if view is None:
        return _ranked_by_matchers(snapshot, parsed, wanted, years, sort)
    ranking = view.rank(parsed, snapshot.common, wanted, years=years, sort=sort)
    return _Found(parsed, ranking.document_ids, ranking.scores, ranking.docnums, ranking.facets)


def _ranked_by_matchers(
    snapshot: _Snapshot,
    parsed: ParsedQuery,
    wanted: Mapping[str, frozenset[str]],
    years: YearRange = ANY_YEAR,
    sort: str = "relevance",
) -> _Found:
    """:func:`_ranked` by walking Whoosh's matchers, an entry at a time."""
    document_ids = snapshot.column("document_id")
    best = best_per_document(
        (document_ids[docnum], score, docnum)
        for docnum, score in snapshot.scored(_to_whoosh(parsed, ALL_FIELDS, snapshot.common))
    )
    infos = {doc_id: snapshot.info(doc_id, docnum) for doc_id, (_, docnum) in best.items()}
    facets = count_facets((info.facets for info in infos.values()), wanted, years)
    ranked = [
        doc_id for doc_id in ranked_ids(best) if passes(infos[doc_id].facets, wanted, years=years)
    ]
    if sort in ("newest", "oldest"):
        days = {doc_id: infos[doc_id].facets.day for doc_id in ranked}
        pairs = [(doc_id, best[doc_id][0]) for doc_id in ranked]
        ranked = [doc_id for doc_id, _ in date_order(pairs, days, newest=sort == "newest")]
    return _Found(
        parsed,
        np.array(ranked, dtype=np.int64),
        np.array([best[doc_id][0] for doc_id in ranked], dtype=np.float64),
        np.array([best[doc_id][1] for doc_id in ranked], dtype=np.int64),
        facets,
    )


def _body_frequency(snapshot: _Snapshot) -> fuzzy.DocFrequency:
    """Return the document frequency of a term of the page text, for the fuzzy fallback."""
    view = snapshot.view()
    if view is not None:
        return view.doc_frequency("body")
    reader = snapshot.searcher.reader()
    return lambda term: reader.doc_frequency("body", term)


def _live_frequency(reader: Any, names: Sequence[str]) -> fuzzy.DocFrequency:
    """Return the number of live entries holding a term in any of the fields ``names``.

    Whoosh's ``doc_frequency`` still counts the entries of removed documents until their segment
    is merged. A segment without deletions answers from its dictionary; in one with deletions the
    term's postings are walked, skipping the deleted, up to :data:`LIVE_COUNT_LIMIT` (enough to
    rank near spellings by), so the cost stays bounded.
    """
    leaves = [leaf for leaf, _offset in reader.leaf_readers()]

    def frequency(term: str) -> int:
        total = 0
        for leaf in leaves:
            for name in names:
                found = leaf.doc_frequency(name, term)
                if found and leaf.has_deletions():
                    live = leaf.postings(name, term).all_ids()  # deleted entries filtered out
                    found = sum(1 for _ in itertools.islice(live, LIVE_COUNT_LIMIT))
                total += found
        return total

    return frequency


def _page_source(snapshot: _Snapshot, docnum: int) -> PageSource | None:
    """Return ``(page_id, seq)`` of an entry; ``None`` for the entry of a document without pages."""
    page_id = snapshot.searcher.stored_fields(docnum).get("page_id")
    return None if page_id is None else (page_id, snapshot.seq(docnum))


def _known(snapshot: _Snapshot) -> KnownTerms:
    """The query terms any entry of ``snapshot`` holds in a searched field."""
    reader = snapshot.searcher.reader()
    return KnownTerms(lambda term: any((name, term) in reader for name, _ in ALL_FIELDS))


def _page_matcher(snapshot: _Snapshot) -> PageMatcher:
    """The pages of some documents matching a query (see ``grouping.PageMatcher``)."""

    def match(
        parsed: ParsedQuery, any_group: bool, doc_ids: Sequence[int]
    ) -> dict[int, list[PageMatch]]:
        view = snapshot.view()
        if view is not None:
            found: dict[int, list[PageMatch]] = {}
            for doc_id, seq, score, docnum in view.pages(
                parsed, snapshot.common, any_group, doc_ids
            ):
                found.setdefault(doc_id, []).append(PageMatch(seq, score, docnum))
            return found
        query = _to_whoosh(parsed, BODY_ONLY, snapshot.common, any_group=any_group)
        return _page_matches(snapshot, query, doc_ids)

    return match


def _page_matches(
    snapshot: _Snapshot, query: Query, doc_ids: Sequence[int]
) -> dict[int, list[PageMatch]]:
    # An AND with the few documents' entries, not a ``filter=``: the intersection skips
    # through the posting lists instead of scoring every matching page of the index.
    only = ConstantScoreQuery(Or([Term("document_id", doc_id) for doc_id in doc_ids]), 0.0)
    document_ids, seqs = snapshot.column("document_id"), snapshot.column("seq")
    found: dict[int, list[PageMatch]] = {}
    for docnum, score in snapshot.scored(And([only, query])):
        seq = seqs[docnum]
        if seq != NO_PAGE:
            found.setdefault(document_ids[docnum], []).append(PageMatch(seq, score, docnum))
    return found


def _to_whoosh(
    parsed: ParsedQuery,
    fields_: Sequence[tuple[str, float]],
    common: frozenset[str] | None,
    *,
    any_group: bool = False,
) -> Query:
    """Build the Whoosh query: every group (or, with ``any_group``, one) in one of ``fields_``.

    Excluded clauses are always looked for in every field: a word excluded by the reader
    excludes a document whose title contains it. ``common``: the index's common terms, whose
    adjacent pairs are indexed as grams (``None``: an index without grams).
    """
    groups = [Or([_clause(clause, fields_, common) for clause in group]) for group in parsed.groups]
    positive = Or(groups) if any_group else And(groups)
    if not parsed.excluded:
        return positive
    excluded = Or([_clause(clause, ALL_FIELDS, common) for clause in parsed.excluded])
    return AndNot(positive, excluded)


def _clause(
    clause: Clause, fields_: Sequence[tuple[str, float]], common: frozenset[str] | None
) -> Query:
    """Match the clause in any of ``fields_``: each word by any of its alternatives."""
    words = list(zip(clause.positions, clause.near_positions, strict=True))
    if any(not exact and not near for exact, near in words):
        return NullQuery  # a word the index lacks
    if not clause.is_phrase:
        exact, near = words[0]
        return Or([_word(name, exact, near, boost) for name, boost in fields_])
    pairs = grams.phrase_grams(clause, common) if common is not None else []
    split = split_pair(clause, common) if common is not None else None
    return Or(
        [
            _body_phrase(clause, pairs, split, boost)
            if name == "body"
            else _phrase(clause, name, boost)
            for name, boost in fields_
        ]
    )


def _phrase(clause: Clause, field: str, boost: float) -> Query:
    """Match the phrase in ``field`` by positions."""
    words = list(zip(clause.positions, clause.near_positions, strict=True))
    if all(len(exact) == 1 and not near for exact, near in words):
        return Phrase(field, [exact[0] for exact, _ in words], boost=boost)
    return WordSequence([_word(field, exact, near, 1.0) for exact, near in words], boost=boost)


def _body_phrase(
    clause: Clause,
    pairs: Sequence[tuple[str, ...] | None],
    split: SplitPair | None,
    boost: float,
) -> Query:
    """Match the phrase in the page text, from its grams where its pairs have them.

    A two-word phrase with grams is exactly an OR of them (or of those of its combinations of
    terms that have them, and of the others' phrases: ``split``); a longer one is checked by
    positions only on the entries holding the grams of its pairs (which score nothing).
    """
    if len(pairs) == 1 and pairs[0] is not None:
        return Or([Term("grams", gram, boost=boost) for gram in pairs[0]])
    if split is not None:
        some_grams, positional = split
        return Or(
            [Term("grams", gram, boost=boost) for gram in some_grams]
            + [Phrase("body", list(pair), boost=boost) for pair in positional]
        )
    # Boost 0, not a ConstantScoreQuery: Whoosh scores that by its child when walking matches.
    known = [
        Or([Term("grams", gram, boost=0.0) for gram in pair]) for pair in pairs if pair is not None
    ]
    if not known:
        return _phrase(clause, "body", boost)
    return And([*known, _phrase(clause, "body", boost)])


def _word(field: str, exact: Sequence[str], near: Sequence[str], boost: float) -> Query:
    """Match one word in ``field``: any exact alternative, or (scored lower) a near miss."""
    terms = [Term(field, term, boost=boost) for term in exact]
    terms += [Term(field, term, boost=boost * NEAR_BOOST) for term in near]
    if not terms:
        return NullQuery
    return terms[0] if len(terms) == 1 else Or(terms)


# Opening, creating and locking


def _open_or_create(index_dir: Path, lock_timeout: float, common: frozenset[str]) -> FileIndex:
    """Open the index, creating it under the write lock if no process has created it yet.

    A new index records its meta first (``common``: its common terms, unless a rebuild
    recorded its collection's already).
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    storage = FileStorage(str(index_dir))
    if not storage.index_exists(INDEX_NAME):
        lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")

        def acquire() -> None:
            if not lock.acquire():
                raise LockError("index being created")

        retry_locked(acquire, time.monotonic() + lock_timeout, index_dir, LockError)
        try:
            # Creating clears any index files, so check again under the lock.
            if not storage.index_exists(INDEX_NAME):
                # First, so an index never lacks it.
                meta_for_new_index(index_dir, "whoosh", ANALYSIS_VERSION, common)
                storage.create_index(build_schema(), indexname=INDEX_NAME)
        finally:
            lock.release()
    return storage.open_index(INDEX_NAME)
