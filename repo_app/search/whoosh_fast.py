"""Mura's queries over a Whoosh index evaluated with numpy, a posting list at a time.

Whoosh walks matches one posting at a time in Python: scoring and grouping every matching page
of a common word (on two thirds of the pages) costs hundreds of milliseconds at 40,000 pages,
and exact totals and facets need all of them. Here each term's postings are read once, block by
block, straight from Whoosh's posting file into arrays (document numbers and term
frequencies); BM25F is computed over them as Whoosh computes it (the same statistics and
formula, so the same scores); a word is an OR (sum) of its alternatives in the title, authors
and page text, the groups of a query are intersected, and pages are grouped into documents,
filtered and counted per facet value, all over dense per-segment arrays. A phrase that its
grams (:mod:`mura.app.search.grams`) do not answer is checked on positions decoded only for the
entries that hold all its words and match the rest of the query.

What is read is kept for the next searches: the arrays of each segment (document id, page
number, facet values, field lengths), shared by every snapshot that holds the segment (only its
live entries are read again when its deletions change), and the postings of the terms read
last, up to :data:`POSTINGS_CACHE_BYTES` per index (:class:`FastCache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from pickle import loads
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from mura.app.search import grams
from mura.app.search.facets import ordered
from mura.app.search.grouping import ALL_FIELDS, BODY_ONLY, NEAR_BOOST, NO_PAGE
from mura.app.search.query import Clause, ParsedQuery
from mura.app.search.types import ANY_YEAR, FACET_KEYS, YearRange

#: Fields and their boosts, as in :mod:`~mura.app.search.grouping`.
Fields = Sequence[tuple[str, float]]
# A field length as Whoosh decodes its stored length byte.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_NO_VALUE = -1
#: Joins the values of a many-valued facet into one code's name (values never hold it).
_SET_JOIN = "\x1f"
#: The Whoosh field holding each facet's values (``whoosh_engine.build_schema``).
FACET_FIELDS = {
    "collection": "collection",
    "doc_type": "doc_type",
    "language": "languages",
    "decade": "decade",
    "year": "pubyear",
    "source": "source",
    "author": "author_facet",
    "subject": "subject",
}
#: Facets with several values per document: each set of values gets a code.
SET_FACETS = ("collection", "author", "subject")
#: The numeric field holding the sort date (a day number, 0: undated).
DAY_FIELD = "day"


class _Codes:
    """Small integer codes of facet values, shared by the segments of an index."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        self._members: tuple[int, np.ndarray, np.ndarray, list[str]] | None = None

    def find(self, value: str) -> int | None:
        """The code of a value already seen, ``None`` for another (it matches no entry)."""
        return self._codes.get(value)

    def code(self, value: str) -> int:
        known = self._codes.get(value)
        if known is None:
            known = self._codes[value] = len(self.names)
            self.names.append(value)
        return known

    def members(self) -> tuple[int, np.ndarray, np.ndarray, list[str]]:
        """For codes of sets (:data:`_SET_JOIN`): which value is in which set, as arrays.

        Returns the number of codes covered, then one ``(set code, value index)`` pair per
        member, and the values' names; made again only when new sets got codes. Filtering and
        counting by arrays, not by splitting thousands of set names in Python per search.
        """
        members = self._members
        if members is None or members[0] != len(self.names):
            index: dict[str, int] = {}
            sets, values = [], []
            names = list(self.names)
            for code, name in enumerate(names):
                for value in name.split(_SET_JOIN):
                    sets.append(code)
                    values.append(index.setdefault(value, len(index)))
            members = self._members = (
                len(names),
                np.array(sets, dtype=np.int64),
                np.array(values, dtype=np.int64),
                list(index),
            )
        return members


@dataclass
class _Segment:
    """Arrays of one segment's entries, indexed by the segment's document numbers."""

    key: _SegmentKey
    deleted: int
    size: int
    live: np.ndarray
    document_id: np.ndarray
    seq: np.ndarray
    facets: dict[str, np.ndarray]
    day: np.ndarray
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    term_hashes: dict[str, np.ndarray] = field(default_factory=dict)


#: Bytes of decoded postings kept between searches (ids and frequencies, 8 bytes a posting):
#: the postings of the terms asked most (a common word at 100,000 pages is 0.5 MB).
POSTINGS_CACHE_BYTES = 64 * 2**20
#: Postings whose positions a thread keeps between searches (a phrase's words, read again when
#: its near misses are looked up, or a results page's pages are matched).
POSITIONS_KEPT = 500_000
#: Fields whose postings hold positions, as Mura's schema makes them.
POSITIONAL_FIELDS = ("title", "authors", "body")

#: A segment's id: its postings never change (deleted entries stay in them, masked).
_SegmentKey = str


class FastCache:
    """The per-segment arrays and recently read postings of one index.

    Shared by the index's snapshots and threads; a segment whose deletions changed is another
    segment (its key has the deleted count), and segments no longer in the index are dropped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[_SegmentKey, _Segment] = {}
        self._postings: OrderedDict[tuple[_SegmentKey, str, str], tuple[np.ndarray, ...]]
        self._postings = OrderedDict()
        self._postings_bytes = 0
        # doc_type values get codes; each language gets a bit; each set of collections (a
        # document is in several, and there may be more collections than bits) gets a code.
        self.codes = {key: _Codes() for key in FACET_KEYS}

    def view(self, searcher: Searcher) -> FastView | None:
        """Return the evaluator of ``searcher``'s generation; ``None`` if it cannot serve it."""
        if type(searcher.weighting) is not BM25F or not all(
            isinstance(searcher.schema[name].format, Positions) for name in POSITIONAL_FIELDS
        ):
            return None
        parts = []
        with self._lock:
            for leaf, offset in searcher.leaf_searchers():
                reader = leaf.reader()
                segment = reader.segment() if hasattr(reader, "segment") else None
                if segment is None:
                    return None
                key = segment.segment_id()
                known = self._segments.get(key)
                if known is None:
                    known = self._segments[key] = _load_segment(key, reader, segment, self.codes)
                elif known.deleted != segment.deleted_count():
                    # Only the live entries changed: the arrays and postings are the same.
                    known = self._segments[key] = replace(
                        known, deleted=segment.deleted_count(), live=_live(segment, known.size)
                    )
                parts.append((reader, offset, known))
            current = {segment.key for _, _, segment in parts}
            for stale in set(self._segments) - current:
                del self._segments[stale]
            for stale in [k for k in self._postings if k[0] not in current]:
                self._forget(stale)
        return FastView(searcher, parts, self)

    def postings(
        self, reader: IndexReader, segment: _Segment, name: str, term: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's document numbers and frequencies in a segment (cached)."""
        key = (segment.key, name, term)
        with self._lock:
            known = self._postings.get(key)
            if known is not None:
                self._postings.move_to_end(key)
                return known  # type: ignore[return-value]
        ids, weights, _ = read_postings(reader, name, term)
        return self.remember(segment, name, term, ids, weights)

    def remember(
        self, segment: _Segment, name: str, term: str, ids: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keep a term's postings, read by the caller; return them as :meth:`postings` does."""
        key = (segment.key, name, term)
        found = (ids.astype(np.int32), weights.astype(np.float32))
        size = found[0].nbytes + found[1].nbytes
        if size * 4 <= POSTINGS_CACHE_BYTES:  # one term never takes more than a quarter
            with self._lock:
                if key not in self._postings:
                    self._postings[key] = found
                    self._postings_bytes += size
                while self._postings_bytes > POSTINGS_CACHE_BYTES:
                    self._forget(next(iter(self._postings)))
        return found

    def term_hashes(self, reader: IndexReader, segment: _Segment, name: str) -> np.ndarray:
        """The sorted hashes of a field's terms in a segment (read once)."""
        hashes = segment.term_hashes.get(name)
        if hashes is None:
            terms = reader.lexicon(name) if name in reader.schema else ()
            hashes = np.sort(np.fromiter(map(hash, terms), dtype=np.int64))
            segment.term_hashes[name] = hashes
        return hashes

    def _forget(self, key: tuple[_SegmentKey, str, str]) -> None:
        ids, weights = self._postings.pop(key)
        self._postings_bytes -= ids.nbytes + weights.nbytes


def _load_segment(
    key: _SegmentKey, reader: IndexReader, segment: Any, codes: Mapping[str, _Codes]
) -> _Segment:
    size = reader.doc_count_all()
    facets = {}
    for facet in FACET_KEYS:
        name = FACET_FIELDS[facet]
        if facet == "language":
            facets[facet] = _language_bits(reader, size, codes[facet])
        elif facet in SET_FACETS:
            facets[facet] = _set_codes(reader, name, size, codes[facet])
        else:
            facets[facet] = _value_codes(reader, name, size, codes[facet])
    return _Segment(
        key=key,
        deleted=segment.deleted_count(),
        size=size,
        live=_live(segment, size),
        document_id=_numeric_column(reader, "document_id", size),
        seq=_numeric_column(reader, "seq", size),
        facets=facets,
        day=_numeric_column(reader, DAY_FIELD, size),
    )


def _live(segment: Any, size: int) -> np.ndarray:
    """Which entries of a segment are not deleted."""
    live = np.ones(size, dtype=bool)
    deleted = list(segment.deleted_docs())
    if deleted:
        live[np.array(deleted, dtype=np.int64)] = False
    return live


def _numeric_column(reader: IndexReader, name: str, size: int) -> np.ndarray:
    """A sortable numeric field of every entry; zeros for a field the index lacks (older)."""
    if not size or name not in reader.schema:
        return np.zeros(size, dtype=np.int64)
    return np.fromiter((int(v) for v in reader.column_reader(name)), dtype=np.int64, count=size)


def _value_codes(reader: IndexReader, name: str, size: int, codes: _Codes) -> np.ndarray:
    """The code of each entry's value of a single-valued facet field (-1 without one)."""
    values = np.full(size, _NO_VALUE, dtype=np.int32)
    for term in _field_terms(reader, name):
        values[read_postings(reader, name, term)[0]] = codes.code(term)
    return values


def _set_codes(reader: IndexReader, name: str, size: int, codes: _Codes) -> np.ndarray:
    """The code of each entry's set of values of a many-valued facet field (-1 without any).

    A set's code names its values joined by :data:`_SET_JOIN`, in the lexicon's (sorted)
    order. Most entries have one value; only those with several are joined one by one.
    """
    values = np.full(size, _NO_VALUE, dtype=np.int32)
    terms = _field_terms(reader, name)
    if not terms:
        return values
    postings = [read_postings(reader, name, term)[0] for term in terms]
    ids = np.concatenate(postings).astype(np.int64)
    which = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(postings)])
    order = np.lexsort((which, ids))
    ids, which = ids[order], which[order]
    entries, starts, counts = np.unique(ids, return_index=True, return_counts=True)
    single = counts == 1
    one_code = np.array([codes.code(term) for term in terms], dtype=np.int32)
    values[entries[single]] = one_code[which[starts[single]]]
    for entry, start, count in zip(entries[~single], starts[~single], counts[~single], strict=True):
        joined = _SET_JOIN.join(terms[i] for i in which[start : start + count])
        values[entry] = codes.code(joined)
    return values


def _language_bits(reader: IndexReader, size: int, codes: _Codes) -> np.ndarray:
    """Each entry's languages as a bit mask (bit = the language's code)."""
    bits = np.zeros(size, dtype=np.int64)
    for term in _field_terms(reader, "languages"):
        bits[read_postings(reader, "languages", term)[0]] |= np.int64(1) << codes.code(term)
    return bits


def _field_terms(reader: IndexReader, name: str) -> list[str]:
    if name not in reader.schema:
        return []
    return [
        term.decode("utf-8") if isinstance(term, bytes) else term for term in reader.lexicon(name)
    ]


def read_postings(
    reader: IndexReader, name: str, term: str, *, values: bool = False
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Return a term's postings in one segment: document numbers, weights and values.

    The values (Whoosh's encoded positions) only when asked for. Deleted entries are included
    (the caller masks them). Whoosh's posting blocks are read directly: its matcher decodes
    the ids of a block one by one in Python.
    """
    try:
        matcher = reader.postings(name, term)
    except TermNotFound:
        return np.zeros(0, dtype=np.int64), np.zeros(0), []
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if type(matcher) is not W3LeafMatcher or matcher._byteids:
        return _walk_postings(matcher, values)
    ids_parts, weight_parts, value_list = [], [], []
    while not matcher._atend:
        matcher._read_data()
        raw_ids, raw_weights, raw_values = matcher._data
        ids = np.cumsum(np.array(raw_ids, dtype=np.int64))  # a block's ids are deltas from 0
        ids_parts.append(ids)
        if raw_weights is None:
            weight_parts.append(np.ones(len(ids)))
        elif isinstance(raw_weights, float):
            weight_parts.append(np.full(len(ids), raw_weights))
        else:
            weight_parts.append(np.array(raw_weights, dtype=np.float64))
        if values:
            value_list.extend(raw_values)
        matcher._next_block()
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0), []
    return np.concatenate(ids_parts), np.concatenate(weight_parts), value_list


def _walk_postings(matcher: Any, values: bool) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    ids, weights, value_list = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if values:
            value_list.append(matcher.value())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64), value_list


def _positions(ids: np.ndarray, values: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Decode Whoosh's positions of postings: ``(document number, position)`` of each.

    A value is the frequency (4 bytes) and the pickled list of position deltas.
    """
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    deltas = [loads(value[4:]) for value in values]
    counts = np.fromiter(map(len, deltas), dtype=np.int64, count=len(deltas))
    flat = np.fromiter(chain.from_iterable(deltas), dtype=np.int64, count=int(counts.sum()))
    running = np.cumsum(flat)
    starts = np.cumsum(counts) - counts
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
    return np.repeat(ids, counts), running - np.repeat(before, counts)


@dataclass
class Ranking:
    """The documents a query matches, after filters, best first, with the facet counts.

    Attributes:
        document_ids: Matching document ids, ranked (score descending, ties by id).
        scores: Each document's score: its best page's.
        docnums: Each document's best entry (Whoosh document number).
        facets: Facet name -> value -> number of documents (each without its own filter).
    """

    document_ids: np.ndarray
    scores: np.ndarray
    docnums: np.ndarray
    facets: dict[str, dict[str, int]]


class _Match:
    """Dense match of part of a query over one segment: which entries, with what score."""

    __slots__ = ("mask", "score")

    def __init__(self, size: int) -> None:
        self.mask = np.zeros(size, dtype=bool)
        self.score = np.zeros(size, dtype=np.float64)

    def add(self, ids: np.ndarray, scores: np.ndarray | float) -> None:
        """OR in entries ``ids`` (unique) with ``scores``; Whoosh's OR sums the scores."""
        self.mask[ids] = True
        self.score[ids] += scores

    def combine(self, other: _Match, *, both: bool) -> None:
        """AND (``both``) or OR another match into this one; scores add up either way."""
        if both:
            self.mask &= other.mask
        else:
            self.mask |= other.mask
        self.score += other.score


class FastView:
    """Evaluates queries over one generation (one searcher) of the index."""

    def __init__(
        self,
        searcher: Searcher,
        parts: list[tuple[IndexReader, int, _Segment]],
        cache: FastCache,
    ) -> None:
        self._searcher = searcher
        # Each segment's reader, the offset of its document numbers, and its arrays.
        self._parts = parts
        self._cache = cache
        self._facet_columns: dict[str, np.ndarray] | None = None
        self._day_column: np.ndarray | None = None
        self._values: OrderedDict[tuple[_SegmentKey, str, str], tuple[np.ndarray, list]]
        self._values = OrderedDict()
        self._values_kept = 0
        weighting = searcher.weighting
        self._b, self._k1 = weighting.B, weighting.K1
        self._field_b = weighting._field_B

    def rank(
        self,
        parsed: ParsedQuery,
        common: frozenset[str] | None,
        wanted: Mapping[str, frozenset[str]],
        *,
        years: YearRange = ANY_YEAR,
        sort: str = "relevance",
    ) -> Ranking:
        """Match ``parsed`` (pruned) in every field; group, filter, count and rank documents.

        Args:
            parsed: The query, pruned of terms the index lacks.
            common: The index's common terms (grams), ``None`` without grams.
            wanted: Facet filters.
            years: Years of publication kept (every facet counts within them).
            sort: ``relevance``, ``newest`` or ``oldest`` (undated documents last).
        """
        docnums, document_ids, scores = [], [], []
        for reader, offset, segment in self._parts:
            query = _SegmentQuery(self, reader, segment, common)
            found = query.run(parsed, ALL_FIELDS, segment.live)
            local = np.flatnonzero(found.mask)
            docnums.append(local + offset)
            document_ids.append(segment.document_id[local])
            scores.append(found.score[local])
        return self._group(
            np.concatenate(docnums),
            np.concatenate(document_ids),
            np.concatenate(scores),
            wanted,
            years,
            sort,
        )

    def pages(
        self,
        parsed: ParsedQuery,
        common: frozenset[str] | None,
        any_group: bool,
        document_ids: Sequence[int],
    ) -> list[tuple[int, int, float, int]]:
        """Return ``(document id, seq, score, docnum)`` of some documents' matching pages.

        A page matches when its text matches every group of the query (with ``any_group``,
        one of them) and no excluded clause.
        """
        wanted = np.array(list(document_ids), dtype=np.int64)
        found: list[tuple[int, int, float, int]] = []
        for reader, offset, segment in self._parts:
            within = segment.live & np.isin(segment.document_id, wanted) & (segment.seq != NO_PAGE)
            if not within.any():
                continue
            query = _SegmentQuery(self, reader, segment, common)
            match = query.run(parsed, BODY_ONLY, within, any_group=any_group)
            local = np.flatnonzero(match.mask)
            found.extend(
                zip(
                    segment.document_id[local].tolist(),
                    segment.seq[local].tolist(),
                    match.score[local].tolist(),
                    (local + offset).tolist(),
                    strict=True,
                )
            )
        return found

    def postings(
        self, reader: IndexReader, segment: _Segment, name: str, term: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's document numbers and frequencies in a segment."""
        return self._cache.postings(reader, segment, name, term)

    def with_values(
        self, reader: IndexReader, segment: _Segment, name: str, term: str
    ) -> tuple[np.ndarray, list[bytes]]:
        """Return a term's document numbers and encoded positions in a segment.

        The last terms read are kept (this view belongs to one thread): a phrase's words are
        read again for its near misses and for the pages of the results page.
        """
        key = (segment.key, name, term)
        known = self._values.get(key)
        if known is not None:
            self._values.move_to_end(key)
            return known
        ids, weights, values = read_postings(reader, name, term, values=True)
        self._cache.remember(segment, name, term, ids, weights)
        known = self._values[key] = (ids, values)
        self._values_kept += len(ids)
        while self._values_kept > POSITIONS_KEPT and len(self._values) > 1:
            self._values_kept -= len(self._values.popitem(last=False)[1][0])
        return known

    def doc_frequency(self, name: str) -> Callable[[str], int]:
        """Return the document frequency of a term of field ``name``, for the fuzzy fallback.

        Most terms asked for are not in the index (one edit away from a query word): the
        sorted hashes of each segment's terms answer those without a dictionary lookup.
        """
        reader = self._searcher.reader()
        tables: list[np.ndarray] = []

        def frequency(term: str) -> int:
            if not tables:  # read on the first near miss looked up
                tables.extend(
                    self._cache.term_hashes(leaf, segment, name) for leaf, _, segment in self._parts
                )
            key = hash(term.encode("utf-8"))
            for table in tables:
                at = int(table.searchsorted(key))
                if at < len(table) and table[at] == key:
                    return reader.doc_frequency(name, term)
            return 0

        return frequency

    def term_scores(
        self, reader: IndexReader, segment: _Segment, name: str, term: str, boost: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's postings in a segment, scored by BM25F as Whoosh scores them."""
        ids, weights = self.postings(reader, segment, name, term)
        if not len(ids):
            return ids, np.zeros(0)
        searcher = self._searcher
        idf = searcher.idf(name, term)
        avgfl = searcher.avg_field_length(name) or 1
        b, k1 = self._field_b.get(name, self._b), self._k1
        lengths = segment.lengths.get(name)
        if lengths is None:
            lengths = segment.lengths[name] = _field_lengths(reader, name, segment.size)
        tf = weights.astype(np.float64)
        fl = lengths[ids]
        scores = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))
        return ids, scores * boost if boost != 1.0 else scores

    def _group(
        self,
        docnums: np.ndarray,
        document_ids: np.ndarray,
        scores: np.ndarray,
        wanted: Mapping[str, frozenset[str]],
        years: YearRange,
        sort: str,
    ) -> Ranking:
        """Best entry per document (ties: the first in the index), filters, facets, order."""
        order = np.lexsort((docnums, -scores, document_ids))
        ids = document_ids[order]
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        best = order[first]
        doc_ids, doc_scores, doc_nums = document_ids[best], scores[best], docnums[best]
        values = {key: self._facet_column(key)[doc_nums] for key in FACET_KEYS}
        passing = {key: self._passes(key, values[key], wanted[key]) for key in wanted}
        if not years.is_open:  # not a facet: no facet ignores it
            passing[_YEARS] = self._in_years(values["year"], years)
        facets = {
            key: self._count(key, values[key], _all(passing, len(doc_ids), ignore=key))
            for key in FACET_KEYS
        }
        keep = _all(passing, len(doc_ids))
        doc_ids, doc_scores, doc_nums = doc_ids[keep], doc_scores[keep], doc_nums[keep]
        if sort in ("newest", "oldest"):
            days = self._days()[doc_nums]
            undated = days <= 0
            by_day = -days if sort == "newest" else days
            ranked = np.lexsort((doc_ids, -doc_scores, np.where(undated, 0, by_day), undated))
        else:
            ranked = np.lexsort((doc_ids, -doc_scores))
        return Ranking(doc_ids[ranked], doc_scores[ranked], doc_nums[ranked], facets)

    def _days(self) -> np.ndarray:
        """The sort day of every entry of the index, by Whoosh document number."""
        if self._day_column is None:
            self._day_column = np.concatenate([segment.day for _, _, segment in self._parts])
        return self._day_column

    def _in_years(self, values: np.ndarray, years: YearRange) -> np.ndarray:
        """Which documents (their ``year`` codes) are in ``years``; -1 (no year) never is."""
        names = self._cache.codes["year"].names
        numbers = np.array([int(name) for name in names] + [0], dtype=np.int64)
        year = numbers[values]
        keep = year > 0
        if years.first is not None:
            keep &= year >= years.first
        if years.last is not None:
            keep &= year <= years.last
        return keep

    def _facet_column(self, key: str) -> np.ndarray:
        """A facet's values (codes) of every entry of the index, by Whoosh document number."""
        if self._facet_columns is None:
            self._facet_columns = {
                name: np.concatenate([segment.facets[name] for _, _, segment in self._parts])
                for name in FACET_KEYS
            }
        return self._facet_columns[key]

    def _passes(self, key: str, values: np.ndarray, wanted: frozenset[str]) -> np.ndarray:
        codes = self._cache.codes[key]
        # Looked up, not given codes: a filter value no entry has must not grow the codes.
        known = [code for code in map(codes.find, wanted) if code is not None]
        if key == "language":
            return (values & np.int64(sum(1 << code for code in known))) != 0
        if key in SET_FACETS:
            # A set passes when one of its values is wanted; -1 (none) reads the last.
            size, sets, members, names = codes.members()
            chosen = [i for i, name in enumerate(names) if name in wanted]
            passing = np.zeros(size + 1, dtype=bool)
            passing[sets[np.isin(members, chosen)]] = True
            return passing[values]
        return np.isin(values, np.array(known, dtype=values.dtype))

    def _count(self, key: str, values: np.ndarray, selected: np.ndarray) -> dict[str, int]:
        names = self._cache.codes[key].names
        values = values[selected]
        counts: dict[str, int] = {}
        if key == "language":
            for code, name in enumerate(names):
                n = int(np.count_nonzero(values & (np.int64(1) << code)))
                if n:
                    counts[name] = n
        elif key in SET_FACETS:
            # A set of values (collections, authors) counts once in each of its values.
            size, sets, members, member_names = self._cache.codes[key].members()
            per_set = np.bincount(values[values >= 0], minlength=size)
            per_member = np.bincount(members, weights=per_set[sets], minlength=len(member_names))
            # Only the values counted are turned into Python (tens of thousands of authors).
            counts = {member_names[i]: int(per_member[i]) for i in np.flatnonzero(per_member)}
        else:
            per_value = np.bincount(values[values >= 0], minlength=len(names))
            counts = {names[code]: int(per_value[code]) for code in np.flatnonzero(per_value)}
        return ordered(key, counts)


#: The key of the range of years among a search's passing masks (never a facet's name).
_YEARS = "\x00years"


def _all(passing: Mapping[str, np.ndarray], size: int, *, ignore: str | None = None) -> np.ndarray:
    result = np.ones(size, dtype=bool)
    for key, passes in passing.items():
        if key != ignore:
            result &= passes
    return result


def _field_lengths(reader: IndexReader, name: str, size: int) -> np.ndarray:
    """Each entry's length of field ``name`` as Whoosh decodes it for scoring."""
    raw = np.zeros(size, dtype=np.uint8)
    perdoc = getattr(reader, "_perdoc", None)
    column = perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN) if perdoc else None
    if column is not None and hasattr(column, "_dbfile"):
        count = min(column._count, size)
        data = column._dbfile.get(column._basepos, count)
        raw[:count] = np.frombuffer(data, dtype=np.uint8)
        return _LENGTH_OF_BYTE[raw]
    return np.array([reader.doc_field_length(n, name, 0) or 0 for n in range(size)], dtype=float)


#: A word of a clause: its exact alternatives and its near misses.
_Word = tuple[Sequence[str], Sequence[str]]


class _SegmentQuery:
    """One query over one segment."""

    def __init__(
        self,
        view: FastView,
        reader: IndexReader,
        segment: _Segment,
        common: frozenset[str] | None,
    ) -> None:
        self._view = view
        self._reader = reader
        self._segment = segment
        self._common = common
        self._scores: dict[tuple[str, str, float], tuple[np.ndarray, np.ndarray]] = {}

    def run(
        self, parsed: ParsedQuery, fields_: Fields, within: np.ndarray, *, any_group: bool = False
    ) -> _Match:
        """Match every group (or one) in ``fields_`` among the entries ``within``.

        Excluded clauses are looked for in every field.
        """
        result = _Match(self._segment.size)
        if any_group:
            for group in parsed.groups:
                result.combine(self._group(group, fields_, within), both=False)
            result.mask &= within
        else:
            result.mask[:] = within
            # Groups needing positions last: checked only where the rest matched.
            for group in sorted(parsed.groups, key=lambda g: any(c.is_phrase for c in g)):
                result.combine(self._group(group, fields_, result.mask), both=True)
                if not result.mask.any():
                    return result
        for clause in parsed.excluded:
            if not result.mask.any():
                break
            result.mask &= ~self._clause(clause, ALL_FIELDS, result.mask).mask
        return result

    def _group(self, group: Sequence[Clause], fields_: Fields, within: np.ndarray) -> _Match:
        found = _Match(self._segment.size)
        for clause in group:
            found.combine(self._clause(clause, fields_, within), both=False)
        return found

    def _clause(self, clause: Clause, fields_: Fields, within: np.ndarray) -> _Match:
        found = _Match(self._segment.size)
        words = list(zip(clause.positions, clause.near_positions, strict=True))
        if any(not exact and not near for exact, near in words):
            return found  # a word the index lacks
        if not clause.is_phrase:
            for name, boost in fields_:
                self._add_word(found, name, words[0], boost)
            return found
        pairs = grams.phrase_grams(clause, self._common) if self._common is not None else []
        split = grams.split_pair(clause, self._common) if self._common is not None else None
        for name, boost in fields_:
            if name == "body" and len(pairs) == 1 and pairs[0] is not None:
                for gram in pairs[0]:
                    found.add(*self._scored("grams", gram, boost))
                continue
            if name == "body" and split is not None:
                self._split_phrase(found, split, boost, within)
                continue
            candidates = within & self._all_words(name, words)
            if name == "body":
                for pair in pairs:
                    if pair is not None:
                        candidates &= self._any_term("grams", pair)
            self._phrase(found, name, words, boost, candidates)
        return found

    def _split_phrase(
        self, found: _Match, split: grams.SplitPair, boost: float, within: np.ndarray
    ) -> None:
        """Add a two-word phrase answered in part by grams (:func:`split_pair`)."""
        some_grams, positional = split
        for gram in some_grams:
            found.add(*self._scored("grams", gram, boost))
        for first, second in positional:
            words = [((first,), ()), ((second,), ())]
            self._phrase(found, "body", words, boost, within & self._all_words("body", words))

    def _add_word(self, found: _Match, name: str, word: _Word, boost: float) -> None:
        exact, near = word
        for term in exact:
            found.add(*self._scored(name, term, boost))
        for term in near:
            found.add(*self._scored(name, term, boost * NEAR_BOOST))

    def _scored(self, name: str, term: str, boost: float) -> tuple[np.ndarray, np.ndarray]:
        key = (name, term, boost)
        known = self._scores.get(key)
        if known is None:
            known = self._scores[key] = self._view.term_scores(
                self._reader, self._segment, name, term, boost
            )
        return known

    def _any_term(self, name: str, terms: Sequence[str], *, positions: bool = False) -> np.ndarray:
        mask = np.zeros(self._segment.size, dtype=bool)
        view, reader, segment = self._view, self._reader, self._segment
        for term in terms:
            if positions:
                mask[view.with_values(reader, segment, name, term)[0]] = True
            else:
                mask[view.postings(reader, segment, name, term)[0]] = True
        return mask

    def _all_words(self, name: str, words: Sequence[_Word]) -> np.ndarray:
        mask = np.ones(self._segment.size, dtype=bool)
        for exact, near in words:
            mask &= self._any_term(name, (*exact, *near), positions=True)
            if not mask.any():
                break
        return mask

    def _phrase(
        self, found: _Match, name: str, words: Sequence[_Word], boost: float, candidates: np.ndarray
    ) -> None:
        """Add the entries among ``candidates`` holding the words next to each other, in order.

        Scored as Whoosh scores a phrase: the sum of its words' scores (each the sum of the
        alternatives the entry holds), times the boost.
        """
        todo = np.flatnonzero(candidates)
        keys: np.ndarray | None = None
        # The rarest word first: the others' positions are decoded only where it is.
        for offset in sorted(range(len(words)), key=lambda i: self._postings_count(name, words[i])):
            if not len(todo):
                return
            exact, near = words[offset]
            parts = [self._shifted_positions(name, term, todo, offset) for term in (*exact, *near)]
            here = _sorted_unique(np.concatenate(parts)) if len(parts) > 1 else parts[0]
            keys = here if keys is None else _intersect_sorted(keys, here)
            todo = _sorted_unique(keys >> 32)
        matched = todo
        score = _Match(self._segment.size)
        for word in words:
            self._add_word(score, name, word, 1.0)
        found.add(matched, score.score[matched] * boost)

    def _postings_count(self, name: str, word: _Word) -> int:
        view, reader, segment = self._view, self._reader, self._segment
        return sum(
            len(view.postings(reader, segment, name, term)[0]) for term in (*word[0], *word[1])
        )

    def _shifted_positions(self, name: str, term: str, todo: np.ndarray, offset: int) -> np.ndarray:
        """``docnum << 32 | position - offset`` of a term in the entries ``todo``, ascending."""
        ids, values = self._view.with_values(self._reader, self._segment, name, term)
        at = np.flatnonzero(np.isin(ids, todo, assume_unique=True))
        docs, positions = _positions(ids[at], [values[i] for i in at.tolist()])
        keep = positions >= offset
        return (docs[keep] << 32) | (positions[keep] - offset)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (cheaper than ``np.unique`` on sorted input)."""
    if len(values) and np.any(values[1:] < values[:-1]):
        values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _intersect_sorted(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The values of two ascending arrays of distinct values that are in both."""
    if len(first) > len(second):
        first, second = second, first
    if not len(first):
        return first
    at = np.minimum(np.searchsorted(second, first), len(second) - 1)
    return first[second[at] == first]
