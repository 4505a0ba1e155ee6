"""The tantivy implementation of :class:`~mura.app.search.engine.SearchEngine` (large collections).

tantivy (a Rust search library, PyPI ``tantivy``) answers in milliseconds where Whoosh takes
seconds on a million pages (docs/design-notes.md, "Search"). It sees exactly what Whoosh sees:
Mura's own
analysis (:mod:`mura.app.search.analysis`) turns text into index terms (stems, by the document's
languages), the terms are joined by spaces and tantivy's ``whitespace`` tokenizer splits them
again, so terms and their positions (for phrases) are the same in both engines. Queries are built
from the parsed query (:mod:`mura.app.search.query`: each word an OR of its alternatives, near
misses scored lower), as for Whoosh; no reader input reaches tantivy's query parser. When the
exact query finds fewer than :data:`~mura.app.search.fuzzy.FUZZY_BELOW` documents, it runs
again with the near misses of its words (:mod:`mura.app.search.fuzzy`), looked up term by term
in the term dictionary: never an expansion over the whole OCR vocabulary.

The index holds one entry per page, grouped by document at query time: a document's score is the
score of its best page, its pages are those whose text matches. Page text is analysed but not
stored; snippets are made from the text the :data:`~mura.app.search.types.TextLoader` returns.

Phrases of common words: each page entry also holds, in its ``grams`` field, the pairs of
adjacent common terms (:mod:`mura.app.search.grams`), so such a two-word phrase is one term
lookup, and a longer phrase checks positions only on the entries holding its grams.

Counting, inside tantivy: each document also has one *document entry* holding every term and
gram of its title, authors and pages once (without positions) and its facet values. A query of
alternative words (one word, words joined by OR, or a two-word phrase of common words) matches a
document exactly when it matches one of its pages, so the number of documents and the facet
counts are aggregations over the document entries it matches, and their cost grows with the
matching documents, not pages. Other queries (words that must share a page, other phrases,
exclusions) first collect the ids of the documents whose pages match (a ``terms`` aggregation),
then aggregate over those documents' entries, unless they match so many pages
(:data:`EXACT_COUNT_PAGES`) that this costs more than the ranking: then the document entries
holding the words anywhere are counted and scaled by the share of them that match in a sample
of ids, an estimate (``SearchResults.total_exact`` false).
(tantivy's ``cardinality`` aggregation is a sketch, a few documents off already at 300: not
used.) tantivy releases the GIL, so the counting runs in a second thread while the calling
thread ranks.

Concurrency: tantivy allows one writer per index, guarded by a lock file. A write opens a writer,
commits and drops it, retrying with growing pauses while another process holds the lock, and gives
up with :class:`~mura.app.search.types.IndexBusyError` after ``lock_timeout`` seconds. Readers
never wait: the reader reloads when the index's ``meta.json`` changed, so a search sees what any
process committed before it started.
"""

from __future__ import annotations

import fcntl
import logging
import re
import threading
import time
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tantivy

from mura.app.search import fuzzy, grams
from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER, Analyzer
from mura.app.search.facets import Filters, normalize_filters, ordered
from mura.app.search.grouping import (
    ALL_FIELDS,
    BODY_ONLY,
    NEAR_BOOST,
    NO_PAGE,
    Candidate,
    KnownTerms,
    PageMatch,
    PageMatcher,
    build_hits,
    matching_pages,
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

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Writer memory: a single document's write, and a bulk load (rebuild), split over its threads.
WRITER_HEAP = 50_000_000
BULK_WRITER_HEAP = 256_000_000
BULK_WRITER_THREADS = 2
#: Documents added between progress log lines of a bulk load.
_BULK_LOG_EVERY = 10_000
#: Facet values counted per facet (more collections than this are not listed).
MAX_FACET_VALUES = 1_000

# Fast field holding each facet's values.
_FACET_FIELDS = {
    "collection": "collection",
    "doc_type": "doc_type",
    "language": "languages",
    "decade": "decade",
    "year": "pubyear",
    "source": "source",
    "author": "author",
    "subject": "subject",
}
#: Facets whose fields an index has only since FACETS_VERSION 2.
_NEWER_FACETS = ("decade", "year", "source", "author", "subject")
#: Fast fields ordering documents by date, both read descending: the day number, and
#: ``_DAY_FLIP`` minus it; an undated document has 0 in both, so it comes last either way.
_NEWEST, _OLDEST = "day_newest", "day_oldest"
_DAY_FLIP = 10_000_000
#: Years outside any range a reader may ask for (the bounds of an open range).
_YEAR_BOUNDS = (-100_000, 100_000)
# Values of the ``kind`` field: a page entry, a document entry (for counting).
_PAGE, _DOCUMENT = 0, 1
#: Most documents a query of the second kind counts exactly (tantivy's limit is 65,000 buckets);
#: beyond, its counts are those of the same words without the page condition (an upper bound;
#: scaled by a sample where the words must share a page, see :data:`EXACT_COUNT_PAGES`).
MAX_COUNTED_DOCUMENTS = 60_000
#: Past about this many matching entries (by :meth:`TantivyEngine._estimated_pages`), words
#: that must share a page are counted approximately, "about N" (Elasticsearch likewise counts
#: exactly only up to 10,000 hits by default): the documents holding them anywhere, scaled by
#: the share of those that match in a sample of about :data:`SAMPLE_COUNT_PAGES` matching
#: entries. Counting exactly costs about 1 ms per thousand matching pages (listing their
#: documents, then aggregating those): more than the ranking past 5,000.
EXACT_COUNT_PAGES = 5_000
SAMPLE_COUNT_PAGES = 2_000
#: Documents ``ranked_documents`` ranks by score (25 results pages of 20); the rest
#: follow in id order.
RANKED_EXACTLY = 500
# First number of top pages fetched to find a results page of documents; grows fourfold. The
# pages of one document crowd the top (a title match lifts them all); up to about a thousand,
# more pages cost no more than fewer: the query's evaluation dominates.
_FIRST_PAGE_LIMIT = 1024
_CREATE_LOCK = ".mura-create.lock"
# Threads that count while the calling thread ranks (shared by every engine of the process).
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mura-tantivy")


def build_schema() -> tantivy.Schema:
    """Return the schema of the entries; text fields receive Mura's terms joined by spaces.

    Page entries fill ``title``, ``authors`` and ``body``; document entries fill ``doc_terms``
    instead, so a text query of one kind never matches an entry of the other.
    """
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("document_id", indexed=True, fast=True)
    builder.add_unsigned_field("kind", indexed=True)
    builder.add_text_field("doc_terms", tokenizer_name="whitespace", index_option="basic")
    builder.add_unsigned_field("page_id", fast=True)
    builder.add_unsigned_field("seq", fast=True)
    for name in ("title", "authors", "body"):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    # Pairs of adjacent common terms of the body (grams.py): a common phrase is one term.
    builder.add_text_field("grams", tokenizer_name="whitespace", index_option="freq")
    builder.add_bytes_field("title_display", stored=True)
    for name in _FACET_FIELDS.values():
        # Languages are stored too: snippets analyse a page with its document's languages.
        stored = name == "languages"
        builder.add_text_field(
            name, stored=stored, tokenizer_name="raw", index_option="basic", fast=True
        )
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_unsigned_field(_NEWEST, fast=True)
    builder.add_unsigned_field(_OLDEST, fast=True)
    return builder.build()


@dataclass
class _Ranked:
    """A matching document: the score and address of its best entry."""

    document_id: int
    score: float
    address: tantivy.DocAddress


@dataclass
class _Counts:
    """The number of documents a query matches, and their facet counts."""

    total: int
    facets: dict[str, dict[str, int]]
    exact: bool = True


@dataclass
class _Found:
    """What a query found: the documents of the results page and up to it, and the counts."""

    ranked: list[_Ranked]
    total: int
    facets: dict[str, dict[str, int]]
    exact: bool = True


class _Reader:
    """Hands out searchers of the newest commit; reloads only when ``meta.json`` changed."""

    def __init__(self, index: tantivy.Index, index_dir: Path) -> None:
        self._index = index
        self._meta = index_dir / "meta.json"
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._last: tuple[object, int] | None = None

    def searcher(self) -> tantivy.Searcher:
        """Return a searcher that sees every commit made before this call."""
        stamp = self._current_stamp()
        if stamp != self._stamp:
            with self._lock:
                self._index.reload()
                self._stamp = stamp
        return self._index.searcher()

    def invalidate(self) -> None:
        """Make the next search reload (after this process committed)."""
        self._stamp = None

    def last_document_id(self, searcher: tantivy.Searcher) -> int:
        """Return the highest document id in the index (cached until the next reload)."""
        stamp = self._stamp
        if self._last is None or self._last[0] != stamp:
            result = searcher.aggregate(
                tantivy.Query.all_query(), {"last": {"max": {"field": "document_id"}}}
            )
            self._last = (stamp, round(result["last"]["value"] or 0))
        return self._last[1]

    def stamp(self) -> tuple[int, int, int] | None:
        """The current stamp of ``meta.json`` (inode, modification time, size)."""
        return self._current_stamp()

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self._meta.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class TantivyEngine:
    """Full-text search over page entries in a tantivy index.

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
        self._schema = self._index.schema
        self._reader = _Reader(self._index, index_dir)
        meta = read_meta(index_dir)
        # None: an index made before grams, without their field; phrases use positions only.
        self._common = meta.common_terms if meta else None
        # An index made before every facet was in it lacks their fields: they stay empty (and
        # the dates unsorted) until ``mura reindex``.
        self._all_facets = (meta.facets_version if meta else None) == FACETS_VERSION
        self.needs_rebuild = (
            meta.analysis_version if meta else None
        ) != ANALYSIS_VERSION or not self._all_facets
        if self.needs_rebuild:
            log.warning("search index %s was built with another analysis: rebuild it", index_dir)

    def __enter__(self) -> TantivyEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: tantivy closes its files when the last searcher goes."""

    # Writing

    def index_document(self, doc: DocumentEntry, pages: Iterable[PageEntry]) -> None:
        """Replace every entry of ``doc`` with one entry per page (see ``SearchEngine``).

        The pages are analysed before the write lock is taken, so other processes wait only for
        the write itself.
        """
        entries = list(self._entries(doc, pages))
        with self._writer(WRITER_HEAP, 1) as writer:
            writer.delete_documents_by_query(self._document_query(doc.document_id))
            for entry in entries:
                writer.add_document(entry)

    def index_documents(self, items: Iterable[tuple[DocumentEntry, Iterable[PageEntry]]]) -> int:
        """Replace the entries of many documents in one commit; return how many were indexed.

        For rebuilds: documents are read and analysed one at a time while the write lock is
        held; tantivy's writer threads build segments beside the analysis and merge them.

        Raises:
            ValueError: When a document comes twice (its entries would be doubled).
            IndexBusyError: When another writer kept the index locked for too long.
        """
        seen: set[int] = set()
        with self._writer(BULK_WRITER_HEAP, BULK_WRITER_THREADS) as writer:
            for doc, pages in items:
                if doc.document_id in seen:
                    raise ValueError(f"document {doc.document_id} given twice")
                seen.add(doc.document_id)
                writer.delete_documents_by_query(self._document_query(doc.document_id))
                for entry in self._entries(doc, pages):
                    writer.add_document(entry)
                if len(seen) % _BULK_LOG_EVERY == 0:
                    log.info("search index %s: %d documents added", self.index_dir, len(seen))
        return len(seen)

    def remove_document(self, document_id: int) -> None:
        """Remove every entry of a document; an absent document is not an error."""
        with self._writer(WRITER_HEAP, 1) as writer:
            writer.delete_documents_by_query(self._document_query(document_id))

    def _document_query(self, document_id: int) -> tantivy.Query:
        # A query, not ``delete_documents_by_term``: that makes a signed term from a Python int,
        # which never equals the unsigned term of ``document_id``.
        return tantivy.Query.term_query(self._schema, "document_id", document_id)

    def _entries(
        self, doc: DocumentEntry, pages: Iterable[PageEntry]
    ) -> Iterator[tantivy.Document]:
        title_terms = self._terms(doc.title, doc.languages)
        title = " ".join(title_terms)
        authors = " ".join(" ".join(self._terms(a, doc.languages)) for a in doc.authors)
        title_display = doc.title.encode("utf-8")
        # The document entry holds the grams of the title too: a phrase of common words is in
        # the document if and only if one of its grams is (see _document_clause).
        terms = {*title_terms, *authors.split(), *self._grams(title_terms)}
        empty = True
        for page in pages:
            empty = False
            body = self._terms(page.text, doc.languages) if page.text else []
            page_grams = self._grams(body)
            terms.update(body)
            terms.update(page_grams)
            yield self._entry(
                doc, title, authors, title_display, (page.page_id, page.seq), body, page_grams
            )
        if empty:
            yield self._entry(doc, title, authors, title_display, (NO_PAGE, NO_PAGE), [], [])
        yield self._document_entry(doc, " ".join(sorted(terms)))

    def _entry(
        self,
        doc: DocumentEntry,
        title: str,
        authors: str,
        title_display: bytes,
        page: tuple[int, int],
        body: list[str],
        page_grams: list[str],
    ) -> tantivy.Document:
        entry = tantivy.Document()
        entry.add_unsigned("document_id", doc.document_id)
        entry.add_unsigned("kind", _PAGE)
        entry.add_unsigned("page_id", page[0])
        entry.add_unsigned("seq", page[1])
        entry.add_text("title", title)
        entry.add_text("authors", authors)
        entry.add_text("body", " ".join(body))
        if self._common is not None:
            entry.add_text("grams", " ".join(page_grams))
        entry.add_bytes("title_display", title_display)
        _add_facets(entry, doc, all_facets=self._all_facets)
        return entry

    def _document_entry(self, doc: DocumentEntry, terms: str) -> tantivy.Document:
        """The entry that counts the document: each of its terms once, and its facet values."""
        entry = tantivy.Document()
        entry.add_unsigned("document_id", doc.document_id)
        entry.add_unsigned("kind", _DOCUMENT)
        entry.add_text("doc_terms", terms)
        _add_facets(entry, doc, all_facets=self._all_facets)
        return entry

    def _terms(self, text: str, languages: Sequence[str]) -> list[str]:
        return self._analyzer.index_terms(text, languages)

    def _grams(self, terms: list[str]) -> list[str]:
        return grams.index_grams(terms, self._common) if self._common is not None else []

    @contextmanager
    def _writer(self, heap: int, threads: int) -> Iterator[tantivy.IndexWriter]:
        """Yield a writer holding the index's lock; commit on success, roll back on error."""
        deadline = time.monotonic() + self._lock_timeout
        if not self._write_lock.acquire(timeout=self._lock_timeout):
            raise IndexBusyError(f"search index {self.index_dir} busy in this process")
        try:
            writer = retry_locked(
                lambda: _open_writer(self._index, heap, threads),
                deadline,
                self.index_dir,
                _LockBusy,
            )
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # also drops the writer and its lock
            self._reader.invalidate()
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

        In date order (``sort``), the results page's documents are the first of the matching
        document entries ordered by their date field; documents of the same day, and the undated
        ones (last), come in the index's order, not by score.

        Raises:
            ValueError: On a filter name that is not a facet (``FACET_KEYS``).
        """
        page, per_page = results_page(page, per_page)
        wanted = normalize_filters(filters)
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return SearchResults(query, 0, [], page, per_page, {key: {} for key in FACET_KEYS})
        searcher = self._reader.searcher()
        known = _known(searcher)

        def run(parsed: ParsedQuery) -> tuple[ParsedQuery, _Found]:
            pruned = known.prune(parsed)
            return pruned, self._find(searcher, pruned, wanted, page * per_page, years, sort)

        _, (pruned, found) = with_fallback(
            parsed, run, lambda answer: answer[1].total, self._body_frequency(searcher)
        )
        hits = self._hits(searcher, pruned, found.ranked[(page - 1) * per_page :])
        return SearchResults(
            query, found.total, hits, page, per_page, found.facets, total_exact=found.exact
        )

    def document_pages(self, document_id: int, query: str) -> list[int]:
        """Return the page numbers of one document whose text matches ``query``, ascending.

        Pages must contain every part of the query; if none does, pages containing any part are
        returned, so a document found through its title and one word of a page still shows that
        page. If no page contains any part, near misses of the words count (OCR errors), as in
        :meth:`search`.
        """
        searcher = self._reader.searcher()
        parsed = parse_query(query, self._analyzer)
        return grouped_document_pages(
            _known(searcher).pruning(self._page_matcher(searcher)),
            parsed,
            document_id,
            self._body_frequency(searcher),
        )

    # Other hooks: "did you mean", the cache's generation, and the whole ranked list of matching
    # documents (``ranked_documents``, ``rank``) for callers that filter or order it themselves.

    def ranked_documents(
        self, query: str, *, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[tuple[int, float]]:
        """Return ``(document id, score)`` of every matching document, best first (no snippets).

        The same matching and ranking as :meth:`search`, near misses included, for the first
        :data:`RANKED_EXACTLY` documents; any further matching documents follow in id order
        with score 0. Ranking them all would score and group every matching page (a common
        word on a million pages: half a second), and a reader never pages that far.
        """
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return []
        wanted = normalize_filters(filters)
        searcher = self._reader.searcher()
        known = _known(searcher)

        def run(parsed: ParsedQuery) -> list[tuple[int, float]]:
            pruned = known.prune(parsed)
            query = self._filtered(self._query(pruned, ALL_FIELDS), wanted)
            top = _top_documents(searcher, query, RANKED_EXACTLY + 1)
            ranked = [(found.document_id, found.score) for found in top[:RANKED_EXACTLY]]
            if len(top) <= RANKED_EXACTLY:
                return ranked
            matching, _ = self._matching_documents(searcher, pruned, estimate=False)
            documents = self._filtered(matching, wanted)
            addresses = [address for _, address in _all_hits(searcher, documents)]
            shown = {doc_id for doc_id, _ in ranked}
            rest = set(searcher.fast_field_values("document_id", addresses)) - shown
            return ranked + [(doc_id, 0.0) for doc_id in sorted(rest)]

        _, ranked = with_fallback(parsed, run, len, self._body_frequency(searcher))
        return ranked

    def rank(self, query: str) -> Ranking:
        """Every matching document and the hits of those shown (see ``SearchEngine``).

        Ranked as :meth:`ranked_documents`; the hits come from the same run of the query (its
        near misses included), so the search page asks the index once.
        """
        parsed = parse_query(query, self._analyzer)
        if parsed.is_empty:
            return NO_RANKING
        searcher = self._reader.searcher()
        known = _known(searcher)

        def run(parsed: ParsedQuery) -> tuple[ParsedQuery, list[_Ranked], list[int]]:
            pruned = known.prune(parsed)
            query = self._query(pruned, ALL_FIELDS)
            top = _top_documents(searcher, query, RANKED_EXACTLY + 1)[:RANKED_EXACTLY]
            if len(top) < RANKED_EXACTLY:
                return pruned, top, []
            matching, _ = self._matching_documents(searcher, pruned, estimate=False)
            addresses = [address for _, address in _all_hits(searcher, matching)]
            shown = {found.document_id for found in top}
            rest = set(searcher.fast_field_values("document_id", addresses)) - shown
            return pruned, top, sorted(rest)

        _, (pruned, top, rest) = with_fallback(
            parsed, run, lambda answer: len(answer[1]) + len(answer[2]),
            self._body_frequency(searcher),
        )  # fmt: skip
        best = {found.document_id: found for found in top}

        def hits(shown: Sequence[tuple[int, float]]) -> list[DocumentHit]:
            missing = [doc_id for doc_id, _ in shown if doc_id not in best]
            first = self._first_entries(searcher, missing)
            entries = [
                best.get(doc_id) or _Ranked(doc_id, score, first[doc_id]) for doc_id, score in shown
            ]
            return self._hits(searcher, pruned, entries)

        ranked = [(found.document_id, found.score) for found in top]
        return Ranking(ranked + [(doc_id, 0.0) for doc_id in rest], hits)

    def _first_entries(
        self, searcher: tantivy.Searcher, doc_ids: Sequence[int]
    ) -> dict[int, tantivy.DocAddress]:
        """A page entry of each document (the snippet's fallback page, its title, languages)."""
        if not doc_ids:
            return {}
        only = tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Must,
                    tantivy.Query.term_set_query(self._schema, "document_id", list(doc_ids)),
                ),
                (tantivy.Occur.Must, tantivy.Query.term_query(self._schema, "kind", _PAGE)),
            ]
        )
        addresses = [address for _, address in _all_hits(searcher, only)]
        found: dict[int, tantivy.DocAddress] = {}
        for doc_id, address in zip(
            searcher.fast_field_values("document_id", addresses), addresses, strict=True
        ):
            found.setdefault(doc_id, address)
        return found

    def generation(self) -> Hashable:
        """The stamp of the index's ``meta.json``, which every commit of any process replaces."""
        return (str(self.index_dir), self._reader.stamp())

    def doc_frequency(self, term: str) -> int:
        """Return how many entries hold ``term`` in the title, authors or page text."""
        searcher = self._reader.searcher()
        return sum(searcher.doc_freq(name, term) for name, _ in ALL_FIELDS)

    def suggest(self, query: str) -> str | None:
        """Return the query with unknown words corrected (:mod:`mura.app.search.suggest`).

        Only live entries count: a word of a removed (withdrawn, unpublished) document is
        neither known nor offered, though tantivy keeps it in the dictionary until a merge.
        """
        from mura.app.search.suggest import suggest

        searcher = self._reader.searcher()
        known = self._live_frequency(searcher, [name for name, _ in ALL_FIELDS])
        # As for Whoosh: replacements come from the page text, known words from every field.
        return suggest(query, self._live_frequency(searcher, ["body"]), self._analyzer, known=known)

    def _live_frequency(
        self, searcher: tantivy.Searcher, names: Sequence[str]
    ) -> fuzzy.DocFrequency:
        """Return the number of live entries holding a term in any of the fields ``names``.

        ``doc_freq`` still counts deleted entries until their segment is merged; a term it finds
        is counted again by a search, which skips them (in Rust: milliseconds for any term). Most
        terms looked up (one edit from a query word) are absent and cost one dictionary lookup.
        """

        def frequency(term: str) -> int:
            total = 0
            for name in names:
                if searcher.doc_freq(name, term):
                    query = tantivy.Query.term_query(self._schema, name, term)
                    total += searcher.search(query, limit=1, count=True).count
            return total

        return frequency

    def _find(
        self,
        searcher: tantivy.Searcher,
        parsed: ParsedQuery,
        wanted: Filters,
        need: int,
        years: YearRange = ANY_YEAR,
        sort: str = "relevance",
    ) -> _Found:
        """Run the query: the best (or first by date) ``need`` documents, their number, facets."""
        # tantivy releases the GIL: the counting runs on another core meanwhile.
        counting = _POOL.submit(self._counts, searcher, parsed, wanted, years)
        if sort in ("newest", "oldest") and self._all_facets:
            ranked = self._by_date(searcher, parsed, wanted, years, need, newest=sort == "newest")
        else:
            filtered = self._filtered(self._query(parsed, ALL_FIELDS), wanted, years)
            ranked = _top_documents(searcher, filtered, need)
        counts = counting.result()
        if counts.exact:
            return _Found(ranked, counts.total, counts.facets)
        if len(ranked) < need:  # the ranking met every matching document
            return _Found(ranked, len(ranked), counts.facets)
        return _Found(ranked, max(counts.total, len(ranked)), counts.facets, exact=False)

    def _by_date(
        self,
        searcher: tantivy.Searcher,
        parsed: ParsedQuery,
        wanted: Filters,
        years: YearRange,
        need: int,
        *,
        newest: bool,
    ) -> list[_Ranked]:
        """The first ``need`` matching documents by date, each with one of its page entries.

        Ordered by the document entries' date field, so the cost is one sorted collection of
        the matching documents, not a read of each one's date. Words that must share a page,
        in a query matching more documents than tantivy lists at once
        (:data:`MAX_COUNTED_DOCUMENTS`), are ordered among the documents holding them anywhere
        (an upper bound, as their count is).
        """
        documents, _ = self._matching_documents(searcher, parsed, estimate=False)
        result = searcher.search(
            self._filtered(documents, wanted, years),
            limit=max(1, need),
            count=False,
            order_by_field=_NEWEST if newest else _OLDEST,
        )
        addresses = [address for _, address in result.hits]
        doc_ids = searcher.fast_field_values("document_id", addresses) if addresses else []
        first = self._first_entries(searcher, doc_ids)
        return [_Ranked(doc_id, 0.0, first[doc_id]) for doc_id in doc_ids if doc_id in first]

    @staticmethod
    def _body_frequency(searcher: tantivy.Searcher) -> fuzzy.DocFrequency:
        """Return the document frequency of a term of the page text, for the fuzzy fallback."""
        return lambda term: searcher.doc_freq("body", term)

    def _counts(
        self,
        searcher: tantivy.Searcher,
        parsed: ParsedQuery,
        wanted: Filters,
        years: YearRange = ANY_YEAR,
    ) -> _Counts:
        """Return the number of matching documents and the facet counts.

        Exact, unless listing the matching documents would cost more than ranking them: then
        the documents holding the words anywhere are counted, and scaled by the share of them
        that match in a sample (:meth:`_sampled_share`).
        """
        documents, exact = self._matching_documents(searcher, parsed)
        counts = self._aggregate_counts(searcher, documents, wanted, years)
        if exact:
            return counts
        return _scaled(counts, self._sampled_share(searcher, parsed, wanted, documents, years))

    def _sampled_share(
        self,
        searcher: tantivy.Searcher,
        parsed: ParsedQuery,
        wanted: Filters,
        documents: tantivy.Query,
        years: YearRange = ANY_YEAR,
    ) -> float:
        """Return the share of the ``documents`` (holding the words) whose pages match.

        Measured on the documents of one range of ids chosen to hold about
        :data:`SAMPLE_COUNT_PAGES` matching pages, where listing them exactly is cheap; 1.0
        (the upper bound) when the sample lists too many or holds none.
        """
        last = self._reader.last_document_id(searcher)
        estimated = max(1.0, self._estimated_pages(searcher, parsed))
        upper = max(1, round(last * min(1.0, SAMPLE_COUNT_PAGES / estimated)))
        window = tantivy.Query.range_query(
            self._schema, "document_id", tantivy.FieldType.Unsigned, 0, upper, True, True
        )
        pages = self._filtered(self._query(parsed, ALL_FIELDS), wanted, years)
        listed = _document_ids(searcher, _both(pages, window))
        held = searcher.aggregate(
            _both(self._filtered(documents, wanted, years), window),
            {"n": {"value_count": {"field": "document_id"}}},
        )["n"]["value"]
        if listed is None or not held:
            return 1.0
        return min(1.0, len(listed) / held)

    def _aggregate_counts(
        self,
        searcher: tantivy.Searcher,
        documents: tantivy.Query,
        wanted: Filters,
        years: YearRange = ANY_YEAR,
    ) -> _Counts:
        """Count the document entries ``documents`` matches, in all and per facet value.

        A facet's counts ignore its own filter: the facets without a filter are counted with
        the total, over the filtered documents; each filtered facet needs one more aggregation.
        """
        spec: dict[str, Any] = {"total": {"value_count": {"field": "document_id"}}}
        counted = [key for key in FACET_KEYS if self._all_facets or key not in _NEWER_FACETS]
        spec |= {key: _facet_agg(key) for key in counted if key not in wanted}
        result = searcher.aggregate(self._filtered(documents, wanted, years), spec)
        facets = {key: {} for key in FACET_KEYS}
        facets |= {key: _facet_counts(key, result[key]) for key in counted if key not in wanted}
        for key in wanted:
            others = {other: values for other, values in wanted.items() if other != key}
            own = searcher.aggregate(
                self._filtered(documents, others, years), {key: _facet_agg(key)}
            )
            facets[key] = _facet_counts(key, own[key])
        total = round(result["total"]["value"])
        return _Counts(total, {key: facets[key] for key in FACET_KEYS})

    def _document_clause(self, clause: Clause) -> tantivy.Query:
        """Match the document entries holding every word of ``clause`` (any alternative).

        For a phrase, they must hold its grams too; for a two-word phrase of common words, that
        is exactly the documents with a page (or title) holding the phrase.
        """
        words = [
            self._any_term("doc_terms", [*exact, *near])
            for exact, near in zip(clause.positions, clause.near_positions, strict=True)
        ]
        words += [self._any_term("doc_terms", pair) for pair in self._phrase_grams(clause) if pair]
        if len(words) == 1:
            return words[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, word) for word in words])

    def _matching_documents(
        self, searcher: tantivy.Searcher, parsed: ParsedQuery, *, estimate: bool = True
    ) -> tuple[tantivy.Query, bool]:
        """Return a query matching the document entries of the documents ``parsed`` matches.

        Args:
            searcher: The searcher.
            parsed: The (pruned) query.
            estimate: Whether an upper bound will do past :data:`EXACT_COUNT_PAGES` matching
                entries (else the documents are listed exactly up to tantivy's limit).

        Returns:
            The query, and whether it matches exactly those documents (else it matches a few
            more: an upper bound).
        """
        # Every group's words in the document, anywhere: exact for alternatives of single words
        # (or of two-word phrases answered by grams), an upper bound otherwise.
        loose = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, self._any([self._document_clause(c) for c in group]))
                for group in parsed.groups
            ]
        )
        simple = len(parsed.groups) == 1 and not parsed.excluded
        if simple and all(self._by_document(clause) for clause in parsed.groups[0]):
            return loose, True  # any page holding a word <=> the document holding it
        # A phrase checked by positions matches few pages, whose documents are cheap to list;
        # words that must share a page may share hundreds of thousands.
        positional = any(
            not self._by_document(clause) for group in parsed.groups for clause in group
        )
        if (
            estimate
            and not positional
            and self._estimated_pages(searcher, parsed) > EXACT_COUNT_PAGES
        ):
            return loose, False
        listed = _document_ids(searcher, self._query(parsed, ALL_FIELDS))
        if listed is None:
            log.warning("search: too many documents to count exactly; counting an upper bound")
            return loose, False
        only = tantivy.Query.term_set_query(self._schema, "document_id", listed)
        kind = tantivy.Query.term_query(self._schema, "kind", _DOCUMENT)
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, only), (tantivy.Occur.Must, kind)]
        )
        return query, True

    def _by_document(self, clause: Clause) -> bool:
        """Whether the document entries answer ``clause`` exactly (see ``_document_clause``)."""
        if not clause.is_phrase:
            return True
        pairs = self._phrase_grams(clause)
        return len(pairs) == 1 and pairs[0] is not None

    def _estimated_pages(self, searcher: tantivy.Searcher, parsed: ParsedQuery) -> float:
        """Estimate how many entries match ``parsed``: its groups' shares multiplied.

        Words are taken as independent, which they are not quite; the estimate only decides
        whether counting the documents exactly is worth its cost.
        """
        entries = max(1, searcher.num_docs)
        share = 1.0
        for group in parsed.groups:
            matched = sum(self._clause_entries(searcher, clause) for clause in group)
            share *= min(1.0, matched / entries)
        return share * entries

    def _clause_entries(self, searcher: tantivy.Searcher, clause: Clause) -> int:
        """The most entries ``clause`` can match: its rarest word's (or gram's) entries."""
        counts = [
            sum(searcher.doc_freq(name, term) for name, _ in ALL_FIELDS for term in (*ex, *near))
            for ex, near in zip(clause.positions, clause.near_positions, strict=True)
        ]
        counts += [
            sum(searcher.doc_freq("grams", gram) for gram in pair)
            for pair in self._phrase_grams(clause)
            if pair
        ]
        return min(counts)

    def _phrase_grams(self, clause: Clause) -> list[tuple[str, ...] | None]:
        """The grams of each adjacent pair of a phrase's words (``grams.phrase_grams``)."""
        if self._common is None or not clause.is_phrase:
            return []
        return grams.phrase_grams(clause, self._common)

    def _any_term(self, name: str, terms: Sequence[str]) -> tantivy.Query:
        """Match entries holding any of ``terms`` in field ``name`` (none: nothing)."""
        queries = [tantivy.Query.term_query(self._schema, name, term, "basic") for term in terms]
        return self._any(queries or [tantivy.Query.empty_query()])

    def _hits(
        self, searcher: tantivy.Searcher, parsed: ParsedQuery, shown: list[_Ranked]
    ) -> list[DocumentHit]:
        doc_ids = [ranked.document_id for ranked in shown]
        pages = matching_pages(self._page_matcher(searcher), parsed, doc_ids)
        fallback = _page_of(searcher, [ranked.address for ranked in shown])
        candidates = []
        for ranked, (page_id, seq) in zip(shown, fallback, strict=True):
            stored = searcher.doc(ranked.address)
            candidates.append(
                Candidate(
                    document_id=ranked.document_id,
                    title=_title(stored),
                    score=ranked.score,
                    languages=stored.get_all("languages"),
                    matches=pages.get(ranked.document_id, []),
                    fallback=None if seq == NO_PAGE else (page_id, seq),
                )
            )
        return build_hits(
            candidates,
            parsed.positive_terms(),
            page_of=lambda match: (match.ref, match.seq),  # type: ignore[return-value]
            text_loader=self._text_loader,
            analyzer=self._analyzer,
        )

    def _page_matcher(self, searcher: tantivy.Searcher) -> PageMatcher:
        """The pages of some documents matching a query (see ``grouping.PageMatcher``)."""

        def match(
            parsed: ParsedQuery, any_group: bool, doc_ids: Sequence[int]
        ) -> dict[int, list[PageMatch]]:
            query = self._query(parsed, BODY_ONLY, any_group=any_group)
            return self._page_matches(searcher, query, doc_ids)

        return match

    def _page_matches(
        self, searcher: tantivy.Searcher, query: tantivy.Query, doc_ids: Sequence[int]
    ) -> dict[int, list[PageMatch]]:
        only = tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(self._schema, "document_id", list(doc_ids)), 0.0
        )
        both = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, only), (tantivy.Occur.Must, query)]
        )
        hits = _all_hits(searcher, both)
        addresses = [address for _, address in hits]
        columns = [
            searcher.fast_field_values(name, addresses)
            for name in ("document_id", "seq", "page_id")
        ]
        found: dict[int, list[PageMatch]] = {}
        for (score, _), doc_id, seq, page_id in zip(hits, *columns, strict=True):
            if seq != NO_PAGE:
                found.setdefault(doc_id, []).append(PageMatch(seq, score, page_id))
        return found

    # Building tantivy queries from the parsed query

    def _query(
        self,
        parsed: ParsedQuery,
        fields: Sequence[tuple[str, float]],
        *,
        any_group: bool = False,
    ) -> tantivy.Query:
        """Build the query: every group (or, with ``any_group``, one) in one of ``fields``.

        Excluded clauses are always looked for in every field: a word excluded by the reader
        excludes a document whose title contains it.
        """
        groups = [self._any([self._clause(c, fields) for c in group]) for group in parsed.groups]
        occur = tantivy.Occur.Should if any_group else tantivy.Occur.Must
        parts = [(occur, group) for group in groups]
        parts += [(tantivy.Occur.MustNot, self._clause(c, ALL_FIELDS)) for c in parsed.excluded]
        return tantivy.Query.boolean_query(parts)

    def _clause(self, clause: Clause, fields: Sequence[tuple[str, float]]) -> tantivy.Query:
        """Match the clause in any of ``fields``: each word by any of its alternatives.

        A phrase whose words have one term each is a phrase query; otherwise each word is a
        regular expression listing its terms (tantivy's regex phrase), like Whoosh's sequence of
        ORs. Near misses in a phrase count as much as the exact words (Whoosh scores them
        lower); they match the same pages.
        """
        words = list(zip(clause.positions, clause.near_positions, strict=True))
        if any(not exact and not near for exact, near in words):
            return tantivy.Query.empty_query()  # a word not in the index
        queries = []
        for name, boost in fields:
            if not clause.is_phrase:
                exact, near = words[0]
                queries.append(self._word(name, exact, near, boost))
                continue
            query = self._phrase(name, clause, words)
            queries.append(query if boost == 1.0 else tantivy.Query.boost_query(query, boost))
        return self._any(queries)

    def _phrase(
        self, name: str, clause: Clause, words: list[tuple[Sequence[str], Sequence[str]]]
    ) -> tantivy.Query:
        """Match the phrase ``clause`` (its ``words``) in field ``name``.

        In the page text, two common words are a gram lookup (their rarer spellings, if any,
        checked by positions), and a longer phrase checks positions only in the entries holding
        its grams.
        """
        common = self._common if name == "body" else None
        split = grams.split_pair(clause, common) if common is not None else None
        if split is not None:
            with_grams, positional = split
            return self._any(
                [tantivy.Query.term_query(self._schema, "grams", gram) for gram in with_grams]
                + [tantivy.Query.phrase_query(self._schema, name, list(p)) for p in positional]
            )
        pairs = grams.phrase_grams(clause, common) if common is not None else []
        if len(pairs) == 1 and pairs[0] is not None:
            return self._any(
                [tantivy.Query.term_query(self._schema, "grams", gram) for gram in pairs[0]]
            )
        if all(len(exact) == 1 and not near for exact, near in words):
            terms = [exact[0] for exact, _ in words]
            query = tantivy.Query.phrase_query(self._schema, name, terms)
        else:
            patterns = [_alternation([*exact, *near]) for exact, near in words]
            query = tantivy.Query.regex_phrase_query(self._schema, name, patterns)
        having = [
            tantivy.Query.const_score_query(self._any_term("grams", pair), 0.0)
            for pair in pairs
            if pair
        ]
        if not having:
            return query
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, part) for part in (query, *having)]
        )

    def _word(
        self, name: str, exact: Sequence[str], near: Sequence[str], boost: float
    ) -> tantivy.Query:
        """Match one word in field ``name``: any exact term, or (scored lower) a near miss."""
        weighted = [(term, boost) for term in exact] + [(t, boost * NEAR_BOOST) for t in near]
        if not weighted:
            return tantivy.Query.empty_query()
        queries = []
        for term, weight in weighted:
            query = tantivy.Query.term_query(self._schema, name, term)
            queries.append(query if weight == 1.0 else tantivy.Query.boost_query(query, weight))
        return self._any(queries)

    @staticmethod
    def _any(queries: list[tantivy.Query]) -> tantivy.Query:
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    def _filtered(
        self, query: tantivy.Query, wanted: Filters, years: YearRange = ANY_YEAR
    ) -> tantivy.Query:
        """Return ``query`` restricted to entries passing every filter and ``years`` (unscored)."""
        if not wanted and years.is_open:
            return query
        parts = [(tantivy.Occur.Must, query)]
        for key, values in sorted(wanted.items()):
            if key in _NEWER_FACETS and not self._all_facets:
                values = frozenset()  # an older index has no such values: nothing passes
            field = _FACET_FIELDS[key if values else "doc_type"]
            terms = tantivy.Query.term_set_query(self._schema, field, sorted(values) or [""])
            parts.append((tantivy.Occur.Must, tantivy.Query.const_score_query(terms, 0.0)))
        if not years.is_open:
            low, high = _YEAR_BOUNDS
            within = tantivy.Query.range_query(
                self._schema,
                "year",
                tantivy.FieldType.Integer,
                low if years.first is None else years.first,
                high if years.last is None else years.last,
                True,
                True,
            )
            parts.append((tantivy.Occur.Must, tantivy.Query.const_score_query(within, 0.0)))
        return tantivy.Query.boolean_query(parts)


def _known(searcher: tantivy.Searcher) -> KnownTerms:
    """The query terms any entry of ``searcher`` holds in a searched field."""
    return KnownTerms(lambda term: any(searcher.doc_freq(name, term) for name, _ in ALL_FIELDS))


def _top_documents(searcher: tantivy.Searcher, query: tantivy.Query, need: int) -> list[_Ranked]:
    """Return the best ``need`` documents (or all), best first, ties by document id.

    A document's score is its best page's score, so walking the top pages in order meets each
    document at its best page first; the walk widens until it has met ``need`` documents.
    """
    limit = max(_FIRST_PAGE_LIMIT, 4 * need)
    while True:
        result = searcher.search(query, limit=limit, count=False)
        hits = result.hits
        doc_ids = searcher.fast_field_values("document_id", [address for _, address in hits])
        best: dict[int, _Ranked] = {}
        for (score, address), doc_id in zip(hits, doc_ids, strict=True):
            if doc_id not in best:
                best[doc_id] = _Ranked(doc_id, score, address)
        if len(best) > need or len(hits) < limit:
            break
        limit *= 4
    # Documents not met score at most the last page walked: the first ``need`` are certain.
    return sorted(best.values(), key=lambda r: (-r.score, r.document_id))[:need]


def _scaled(counts: _Counts, share: float) -> _Counts:
    """Return ``counts`` times ``share`` (an estimate: not exact); values counting 0 dropped."""
    facets = {
        key: {value: round(n * share) for value, n in by.items() if round(n * share)}
        for key, by in counts.facets.items()
    }
    return _Counts(round(counts.total * share), facets, exact=False)


def _document_ids(searcher: tantivy.Searcher, pages: tantivy.Query) -> list[int] | None:
    """Return the ids of the documents of the entries ``pages`` matches; ``None``: too many."""
    spec = {"ids": {"terms": {"field": "document_id", "size": MAX_COUNTED_DOCUMENTS}}}
    try:
        ids = searcher.aggregate(pages, spec)["ids"]
    except ValueError:  # more buckets than tantivy allows in one aggregation
        return None
    if ids.get("sum_other_doc_count"):  # documents left out
        return None
    return [int(bucket["key"]) for bucket in ids["buckets"]]


def _both(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
    """Match what both queries match (scored by ``first`` only)."""
    return tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, first),
            (tantivy.Occur.Must, tantivy.Query.const_score_query(second, 0.0)),
        ]
    )


def _all_hits(
    searcher: tantivy.Searcher, query: tantivy.Query
) -> list[tuple[float, tantivy.DocAddress]]:
    """Return every entry matching ``query`` (for queries limited to a few documents)."""
    result = searcher.search(query, limit=1_000, count=True)
    if result.count is not None and result.count > len(result.hits):
        result = searcher.search(query, limit=result.count, count=False)
    return result.hits


def _page_of(
    searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]
) -> list[tuple[int, int]]:
    """Return ``(page_id, seq)`` of each entry."""
    if not addresses:
        return []
    page_ids = searcher.fast_field_values("page_id", addresses)
    seqs = searcher.fast_field_values("seq", addresses)
    return list(zip(page_ids, seqs, strict=True))


def _title(stored: tantivy.Document) -> str:
    title = stored.get_first("title_display")
    return bytes(title).decode("utf-8") if title else ""


def _alternation(terms: Sequence[str]) -> str:
    """A regular expression matching exactly one of ``terms`` (a whole term of the index)."""
    return "(?:" + "|".join(re.escape(term) for term in dict.fromkeys(terms)) + ")"


def _add_facets(entry: tantivy.Document, doc: DocumentEntry, *, all_facets: bool) -> None:
    """Add the document's facet values (each value once; it counts in each) and its date."""
    values = doc.facet_values()
    for key, field in _FACET_FIELDS.items():
        if key in _NEWER_FACETS and not all_facets:
            continue  # an index made before has no such field
        for value in values[key]:
            entry.add_text(field, value)
    if doc.year is not None:
        entry.add_integer("year", doc.year)
    if all_facets:
        day = doc.sort_day
        entry.add_unsigned(_NEWEST, day)
        entry.add_unsigned(_OLDEST, _DAY_FLIP - day if day else 0)


def _facet_agg(key: str) -> dict[str, Any]:
    """Aggregation counting document entries per value of facet ``key``."""
    return {"terms": {"field": _FACET_FIELDS[key], "size": MAX_FACET_VALUES}}


def _facet_counts(key: str, result: Mapping[str, Any]) -> dict[str, int]:
    counts = {
        bucket["key"]: bucket["doc_count"]
        for bucket in result.get("buckets", [])
        if bucket["doc_count"]
    }
    return ordered(key, counts)


# Opening, creating and locking


def _open_or_create(
    index_dir: Path, lock_timeout: float, default_common: frozenset[str]
) -> tantivy.Index:
    """Open the index, creating it under a lock if no process has created it yet.

    Without the lock, a process creating the index could overwrite the first commit of another.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    if not tantivy.Index.exists(str(index_dir)):
        with _file_lock(index_dir / _CREATE_LOCK, lock_timeout):
            if not tantivy.Index.exists(str(index_dir)):
                # First, so an index never lacks it; a rebuild's common terms are kept.
                meta_for_new_index(index_dir, "tantivy", ANALYSIS_VERSION, default_common)
                tantivy.Index(build_schema(), path=str(index_dir), reuse=True)
    index = tantivy.Index.open(str(index_dir))
    index.config_reader(reload_policy="Manual")
    return index


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    with open(path, "a") as handle:

        def acquire() -> None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise _LockBusy from exc

        retry_locked(acquire, time.monotonic() + timeout, path.parent, _LockBusy)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _LockBusy(Exception):
    """The index's writer lock is held by another writer."""


def _open_writer(index: tantivy.Index, heap: int, threads: int) -> tantivy.IndexWriter:
    """Open the index's writer; raise :class:`_LockBusy` while another process holds it."""
    try:
        return index.writer(heap_size=heap, num_threads=threads)
    except ValueError as exc:
        if "LockBusy" not in str(exc):
            raise
        raise _LockBusy from exc
