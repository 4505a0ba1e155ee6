"""Mura's queries over a Whoosh index evaluated with numpy, a posting list at a time.

Whoosh walks matches one posting at a time in Python: scoring and grouping every matching page
of a common word (on two thirds of the pages) costs hundreds of milliseconds at 40,000 pages,
and exact totals and facets need all of them. Here each term's postings are read once, block by
block, straight from Whoosh's posting file into arrays (document numbers and term
frequencies); BM25F is computed over them as Whoosh computes it (the same statistics, the same
formula, so the same scores), a word is an OR (sum) of its alternatives in the title, authors
and page text, the groups of a query are intersected, and pages are grouped into documents,
filtered and counted per facet value, all vectorised over dense per-segment arrays.

Positions are not read here: a phrase that its grams (:mod:`repo_app.search.grams`) do not
answer is checked by Whoosh's own phrase matcher, but only on the entries that hold all its
words and match the rest of the query (it skips to each of them).

The arrays of a segment (document id, page number, facet values, field lengths) are read once
and shared by every snapshot that holds the segment (:class:`FastCache`); a segment whose
deletions changed is a new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Query
from whoosh.reading import IndexReader, TermNotFound
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from repo_app.search import grams
from repo_app.search.grouping import ALL_FIELDS, NEAR_BOOST
from repo_app.search.query import Clause, ParsedQuery
from repo_app.search.types import FACET_KEYS

#: Builds Whoosh's positional query of a phrase in a field, with a boost.
PhraseQuery = Callable[[Clause, str, float], Query]

# A field length as Whoosh decodes its stored length byte.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_NO_VALUE = -1


class _Codes:
    """Small integer codes of facet values, shared by the segments of an index."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        known = self._codes.get(value)
        if known is None:
            known = self._codes[value] = len(self.names)
            self.names.append(value)
        return known


@dataclass
class _Segment:
    """Arrays of one segment's entries, indexed by the segment's document numbers."""

    size: int
    live: np.ndarray
    document_id: np.ndarray
    seq: np.ndarray
    facets: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)


class FastCache:
    """The per-segment arrays of one index, shared by its snapshots and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[tuple[str, int], _Segment] = {}
        # collection and doc_type values get codes; each language gets a bit.
        self.codes = {key: _Codes() for key in FACET_KEYS}

    def view(self, searcher: Searcher) -> FastView | None:
        """Return the evaluator of ``searcher``'s generation; ``None`` if it cannot serve it.

        Segments no longer in the index are forgotten.
        """
        if type(searcher.weighting) is not BM25F:
            return None
        leaves = searcher.leaf_searchers()
        with self._lock:
            keys, segments = [], []
            for leaf, _ in leaves:
                reader = leaf.reader()
                segment = reader.segment() if hasattr(reader, "segment") else None
                if segment is None:
                    return None
                key = (segment.segment_id(), segment.deleted_count())
                known = self._segments.get(key)
                if known is None:
                    known = self._segments[key] = _load_segment(reader, self.codes)
                keys.append(key)
                segments.append(known)
            for stale in set(self._segments) - set(keys):
                del self._segments[stale]
        return FastView(searcher, [(leaf, offset) for leaf, offset in leaves], segments, self)


def _load_segment(reader: IndexReader, codes: Mapping[str, _Codes]) -> _Segment:
    size = reader.doc_count_all()
    live = np.ones(size, dtype=bool)
    deleted = list(reader.segment().deleted_docs())
    if deleted:
        live[np.array(deleted, dtype=np.int64)] = False
    facets = {
        "collection": _value_codes(reader, "collection", size, codes["collection"]),
        "doc_type": _value_codes(reader, "doc_type", size, codes["doc_type"]),
        "language": _language_bits(reader, size, codes["language"]),
    }
    return _Segment(
        size=size,
        live=live,
        document_id=_numeric_column(reader, "document_id", size),
        seq=_numeric_column(reader, "seq", size),
        facets=facets,
    )


def _numeric_column(reader: IndexReader, name: str, size: int) -> np.ndarray:
    if not size:
        return np.zeros(0, dtype=np.int64)
    return np.fromiter((int(v) for v in reader.column_reader(name)), dtype=np.int64, count=size)


def _value_codes(reader: IndexReader, name: str, size: int, codes: _Codes) -> np.ndarray:
    """The code of each entry's value of a single-valued facet field (-1 without one)."""
    values = np.full(size, _NO_VALUE, dtype=np.int32)
    for term in _field_terms(reader, name):
        ids, _ = read_postings(reader, name, term)
        values[ids] = codes.code(term)
    return values


def _language_bits(reader: IndexReader, size: int, codes: _Codes) -> np.ndarray:
    """Each entry's languages as a bit mask (bit = the language's code)."""
    bits = np.zeros(size, dtype=np.int64)
    for term in _field_terms(reader, "languages"):
        ids, _ = read_postings(reader, "languages", term)
        bits[ids] |= np.int64(1) << codes.code(term)
    return bits


def _field_terms(reader: IndexReader, name: str) -> list[str]:
    if name not in reader.schema:
        return []
    return [
        term.decode("utf-8") if isinstance(term, bytes) else term for term in reader.lexicon(name)
    ]


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


def read_postings(reader: IndexReader, name: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a term's postings in one segment: document numbers and weights (frequencies).

    Deleted entries are included (the caller masks them). Whoosh's blocks are read directly:
    its matcher decodes the ids of a block one by one in Python.
    """
    try:
        matcher = reader.postings(name, term)
    except TermNotFound:
        return _EMPTY
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if type(matcher) is not W3LeafMatcher or matcher._byteids:
        return _walk_postings(matcher)
    ids_parts, weight_parts = [], []
    while not matcher._atend:
        matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        ids = np.cumsum(np.array(raw_ids, dtype=np.int64))  # a block's ids are deltas from 0
        ids_parts.append(ids)
        if raw_weights is None:
            weight_parts.append(np.ones(len(ids)))
        elif isinstance(raw_weights, float):
            weight_parts.append(np.full(len(ids), raw_weights))
        else:
            weight_parts.append(np.array(raw_weights, dtype=np.float64))
        matcher._next_block()
    if not ids_parts:
        return _EMPTY
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


def _walk_postings(matcher: object) -> tuple[np.ndarray, np.ndarray]:
    ids, weights = [], []
    while matcher.is_active():  # type: ignore[attr-defined]
        ids.append(matcher.id())  # type: ignore[attr-defined]
        weights.append(matcher.weight())  # type: ignore[attr-defined]
        matcher.next()  # type: ignore[attr-defined]
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


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


class FastView:
    """Evaluates queries over one generation (one searcher) of the index."""

    def __init__(
        self,
        searcher: Searcher,
        leaves: list[tuple[Searcher, int]],
        segments: list[_Segment],
        cache: FastCache,
    ) -> None:
        self._searcher = searcher
        self._leaves = leaves
        self._segments = segments
        self._cache = cache
        weighting = searcher.weighting
        self._b, self._k1 = weighting.B, weighting.K1
        self._field_b = weighting._field_B

    def rank(
        self,
        parsed: ParsedQuery,
        common: frozenset[str] | None,
        wanted: Mapping[str, frozenset[str]],
        phrase_query: PhraseQuery,
    ) -> Ranking:
        """Match ``parsed`` (pruned) in every field; group, filter, count and rank documents."""
        docnums, document_ids, scores = [], [], []
        for (leaf, offset), segment in zip(self._leaves, self._segments, strict=True):
            found = _SegmentQuery(self, leaf, segment, common, phrase_query).run(parsed)
            local = np.flatnonzero(found.mask)
            docnums.append(local + offset)
            document_ids.append(segment.document_id[local])
            scores.append(found.score[local])
        return self._group(
            np.concatenate(docnums) if docnums else np.zeros(0, dtype=np.int64),
            np.concatenate(document_ids) if document_ids else np.zeros(0, dtype=np.int64),
            np.concatenate(scores) if scores else np.zeros(0),
            wanted,
        )

    def term_scores(
        self, reader: IndexReader, segment: _Segment, name: str, term: str, boost: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's postings in a segment, scored by BM25F as Whoosh scores them."""
        ids, weights = read_postings(reader, name, term)
        if not len(ids):
            return ids, weights
        searcher = self._searcher
        idf = searcher.idf(name, term)
        avgfl = searcher.avg_field_length(name) or 1
        b, k1 = self._field_b.get(name, self._b), self._k1
        lengths = segment.lengths.get(name)
        if lengths is None:
            lengths = segment.lengths[name] = _field_lengths(reader, name, segment.size)
        lengths = lengths[ids]
        scores = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))
        return ids, scores * boost if boost != 1.0 else scores

    def _group(
        self,
        docnums: np.ndarray,
        document_ids: np.ndarray,
        scores: np.ndarray,
        wanted: Mapping[str, frozenset[str]],
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
        facets = {
            key: self._count(key, values[key], _all(passing, len(doc_ids), ignore=key))
            for key in FACET_KEYS
        }
        keep = _all(passing, len(doc_ids))
        doc_ids, doc_scores, doc_nums = doc_ids[keep], doc_scores[keep], doc_nums[keep]
        ranked = np.lexsort((doc_ids, -doc_scores))
        return Ranking(doc_ids[ranked], doc_scores[ranked], doc_nums[ranked], facets)

    def _facet_column(self, key: str) -> np.ndarray:
        columns = getattr(self, "_facet_columns", None)
        if columns is None:
            columns = self._facet_columns = {
                name: np.concatenate([segment.facets[name] for segment in self._segments])
                if self._segments
                else np.zeros(0, dtype=np.int64)
                for name in FACET_KEYS
            }
        return columns[key]

    def _passes(self, key: str, values: np.ndarray, wanted: frozenset[str]) -> np.ndarray:
        codes = self._cache.codes[key]
        known = [codes.code(value) for value in wanted]
        if key == "language":
            bits = np.int64(sum(1 << code for code in known))
            return (values & bits) != 0
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
        else:
            for code, n in enumerate(np.bincount(values[values >= 0], minlength=len(names))):
                if n:
                    counts[names[code]] = int(n)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


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


class _SegmentQuery:
    """One query over one segment."""

    def __init__(
        self,
        view: FastView,
        leaf: Searcher,
        segment: _Segment,
        common: frozenset[str] | None,
        phrase_query: PhraseQuery,
    ) -> None:
        self._view = view
        self._leaf = leaf
        self._reader = leaf.reader()
        self._segment = segment
        self._common = common
        self._phrase_query = phrase_query
        self._postings: dict[tuple[str, str, float], tuple[np.ndarray, np.ndarray]] = {}

    def run(self, parsed: ParsedQuery) -> _Match:
        """Every group must match; excluded clauses (in every field) must not."""
        result = _Match(self._segment.size)
        result.mask[:] = self._segment.live
        # Groups needing positions last, so that they are checked only where the rest matched.
        for group in sorted(parsed.groups, key=lambda g: any(c.is_phrase for c in g)):
            found = self._group(group, result.mask)
            result.mask &= found.mask
            result.score += found.score
            if not result.mask.any():
                break
        for clause in parsed.excluded:
            if not result.mask.any():
                break
            result.mask &= ~self._clause(clause, result.mask).mask
        return result

    def _group(self, group: Sequence[Clause], within: np.ndarray) -> _Match:
        found = _Match(self._segment.size)
        for clause in group:
            match = self._clause(clause, within)
            found.mask |= match.mask
            found.score += match.score
        return found

    def _clause(self, clause: Clause, within: np.ndarray) -> _Match:
        found = _Match(self._segment.size)
        words = list(zip(clause.positions, clause.near_positions, strict=True))
        if any(not exact and not near for exact, near in words):
            return found  # a word the index lacks
        if not clause.is_phrase:
            exact, near = words[0]
            for name, boost in ALL_FIELDS:
                for term in exact:
                    found.add(*self._scored(name, term, boost))
                for term in near:
                    found.add(*self._scored(name, term, boost * NEAR_BOOST))
            return found
        pairs = grams.phrase_grams(clause, self._common) if self._common is not None else []
        for name, boost in ALL_FIELDS:
            if name == "body" and len(pairs) == 1 and pairs[0] is not None:
                for gram in pairs[0]:
                    found.add(*self._scored("grams", gram, boost))
                continue
            candidates = within & self._all_words(name, words)
            if name == "body":
                for pair in pairs:
                    if pair is not None:
                        candidates &= self._any_term("grams", pair)
            self._positions(self._phrase_query(clause, name, boost), candidates, found)
        return found

    def _scored(self, name: str, term: str, boost: float) -> tuple[np.ndarray, np.ndarray]:
        key = (name, term, boost)
        known = self._postings.get(key)
        if known is None:
            known = self._postings[key] = self._view.term_scores(
                self._reader, self._segment, name, term, boost
            )
        return known

    def _any_term(self, name: str, terms: Sequence[str]) -> np.ndarray:
        mask = np.zeros(self._segment.size, dtype=bool)
        for term in terms:
            mask[self._scored(name, term, 1.0)[0]] = True
        return mask

    def _all_words(
        self, name: str, words: Sequence[tuple[Sequence[str], Sequence[str]]]
    ) -> np.ndarray:
        mask = np.ones(self._segment.size, dtype=bool)
        for exact, near in words:
            mask &= self._any_term(name, (*exact, *near))
        return mask

    def _positions(self, query: Query, candidates: np.ndarray, found: _Match) -> None:
        """Add the entries among ``candidates`` where Whoosh's phrase matcher matches."""
        todo = np.flatnonzero(candidates)
        if not len(todo):
            return
        context = self._view._searcher.context(needs_current=True)
        matcher = query.matcher(self._leaf, context)
        ids, scores = [], []
        for docnum in todo.tolist():
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
            if matcher.id() == docnum:
                ids.append(docnum)
                scores.append(matcher.score())
        if ids:
            found.add(np.array(ids, dtype=np.int64), np.array(scores))
