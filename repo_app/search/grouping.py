"""Pages grouped into documents, the same for every engine.

An index holds one entry per page; readers are shown documents. What turns the one into the
other is engine-independent and lives here, so Whoosh and tantivy answer alike:

- a document's score is the score of its best page (:func:`best_per_document`), documents are
  ranked by it, ties by id (:func:`ranked_ids`);
- a query that finds fewer than :data:`~mura.app.search.fuzzy.FUZZY_BELOW` documents is run
  again with the near misses of its words (:func:`with_fallback`);
- a document's pages are those whose text matches every part of the query, else any part
  (:func:`matching_pages`), so a document found by its title and one word of a page still shows
  that page;
- the snippet comes from the best of those pages, else from the entry that ranked the document,
  read from the page-text store (:func:`build_hits`) in one call per results page.

The engines provide the primitives: running a query over page entries, and naming the page of
an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from markupsafe import Markup

from mura.app.search import fuzzy
from mura.app.search.analysis import Analyzer
from mura.app.search.query import Clause, ParsedQuery
from mura.app.search.snippets import make_snippet
from mura.app.search.types import DocumentHit, TextLoader

_T = TypeVar("_T")
_R = TypeVar("_R", bound=Hashable)

#: Boosts of a match in the title and authors over a match in the page text.
TITLE_BOOST = 4.0
AUTHORS_BOOST = 2.0
#: Weight of a near miss (OCR error) against the exact word.
NEAR_BOOST = 0.5
#: At most this many page numbers are listed per document hit.
MAX_PAGES_PER_HIT = 50
#: At most this many documents per results page.
MAX_PER_PAGE = 100
#: No results page lies beyond this many documents: a reader never pages that far, and a crafted
#: ``page=100000000`` made tantivy allocate 64 GB for its top documents and abort the process.
MAX_RESULTS = 10_000
#: The searched fields and their boosts; the page text alone (for a document's pages).
ALL_FIELDS = (("title", TITLE_BOOST), ("authors", AUTHORS_BOOST), ("body", 1.0))
BODY_ONLY = (("body", 1.0),)
#: Sequence number of the entry of a document without pages.
NO_PAGE = 0

#: ``(page id, seq)`` of the page a snippet comes from.
PageSource = tuple[int, int]


@dataclass
class PageMatch:
    """A matching page of a document.

    Attributes:
        seq: Page number.
        score: The entry's score.
        ref: The engine's address of the entry (resolved to its page id only for a snippet).
    """

    seq: int
    score: float
    ref: Hashable


#: The pages of some documents that match a query: ``(query, any_group, document ids)`` ->
#: document id -> matches. ``any_group``: any group of the query is enough.
PageMatcher = Callable[[ParsedQuery, bool, Sequence[int]], dict[int, list[PageMatch]]]


@dataclass
class Candidate:
    """A document of a results page before its snippet is made.

    Attributes:
        document_id: Database id.
        title: Title as indexed.
        score: Its best page's score.
        languages: The document's OCR languages (its pages are analysed with them).
        matches: Its pages whose text matches (:func:`matching_pages`).
        fallback: The page of the entry that ranked it, ``None`` for a document without pages.
    """

    document_id: int
    title: str
    score: float
    languages: Sequence[str]
    matches: list[PageMatch]
    fallback: PageSource | None


class KnownTerms:
    """The terms of a query that are in the index, looked up once per search.

    Alternatives that no entry holds (most Latin spellings of a Cyrillic word, most stems by the
    other languages) are dropped before an engine's query is built: fewer terms to walk, and a
    phrase whose words are left with one term each is a plain phrase query instead of a
    sequence of alternatives, which costs ten times less on common words (both engines).

    Args:
        present: Whether any entry holds a term in any searched field.
    """

    def __init__(self, present: Callable[[str], bool]) -> None:
        self._present = present
        self._known: dict[str, bool] = {}

    def __contains__(self, term: str) -> bool:
        known = self._known.get(term)
        if known is None:
            known = self._known[term] = bool(self._present(term))
        return known

    def prune(self, parsed: ParsedQuery) -> ParsedQuery:
        """Return ``parsed`` with only the alternatives and near misses the index holds."""
        return ParsedQuery(
            tuple(tuple(self._clause(clause) for clause in group) for group in parsed.groups),
            tuple(self._clause(clause) for clause in parsed.excluded),
        )

    def pruning(self, match: PageMatcher) -> PageMatcher:
        """Return ``match`` run on the query pruned of the terms the index lacks."""
        return lambda parsed, any_group, doc_ids: match(self.prune(parsed), any_group, doc_ids)

    def _clause(self, clause: Clause) -> Clause:
        return replace(
            clause,
            alternatives=tuple(tuple(t for t in ts if t in self) for ts in clause.positions),
            near=tuple(tuple(t for t in ts if t in self) for ts in clause.near_positions),
        )


def best_per_document(entries: Iterable[tuple[int, float, _R]]) -> dict[int, tuple[float, _R]]:
    """Group matching entries ``(document id, score, ref)``: each document's best entry."""
    best: dict[int, tuple[float, _R]] = {}
    for doc_id, score, ref in entries:
        known = best.get(doc_id)
        if known is None or score > known[0]:
            best[doc_id] = (score, ref)
    return best


def ranked_ids(best: Mapping[int, tuple[float, object]]) -> list[int]:
    """Document ids best first (ties by id)."""
    return sorted(best, key=lambda doc_id: (-best[doc_id][0], doc_id))


def results_page(page: int, per_page: int) -> tuple[int, int]:
    """Return the results page number and size clamped to what may be asked (bounded work).

    Returns:
        ``page`` within 1 .. :data:`MAX_RESULTS` // ``per_page``, ``per_page`` within
        1 .. :data:`MAX_PER_PAGE`.
    """
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    return min(max(1, page), MAX_RESULTS // per_page), per_page


def with_fallback(
    parsed: ParsedQuery,
    run: Callable[[ParsedQuery], _T],
    found: Callable[[_T], int],
    doc_frequency: fuzzy.DocFrequency,
) -> tuple[ParsedQuery, _T]:
    """Run the query; with its near misses instead when it finds too few documents.

    Returns:
        The query that was answered (``parsed`` or the one with near misses) and its answer.
    """
    answer = run(parsed)
    if found(answer) < fuzzy.FUZZY_BELOW:
        near = fuzzy.with_near_misses(parsed, doc_frequency)
        if near is not parsed:
            return near, run(near)
    return parsed, answer


def matching_pages(
    match: PageMatcher, parsed: ParsedQuery, doc_ids: Sequence[int]
) -> dict[int, list[PageMatch]]:
    """Return the pages of ``doc_ids`` whose text matches all of the query, else any part."""
    if not doc_ids:
        return {}
    found = match(parsed, False, doc_ids)
    missing = [doc_id for doc_id in doc_ids if doc_id not in found]
    if missing:
        found.update(match(parsed, True, missing))
    return found


def document_pages(
    match: PageMatcher, parsed: ParsedQuery, document_id: int, doc_frequency: fuzzy.DocFrequency
) -> list[int]:
    """Return the matching page numbers of one document; near misses count if none match."""
    if parsed.is_empty:
        return []
    _, pages = with_fallback(
        parsed,
        lambda query: matching_pages(match, query, [document_id]).get(document_id, []),
        lambda matches: fuzzy.FUZZY_BELOW if matches else 0,
        doc_frequency,
    )
    return sorted(page.seq for page in pages)


def build_hits(
    candidates: Sequence[Candidate],
    terms: frozenset[str],
    *,
    page_of: Callable[[PageMatch], PageSource | None],
    text_loader: TextLoader,
    analyzer: Analyzer,
) -> list[DocumentHit]:
    """Return the hits: page numbers, and a snippet from the best matching page.

    The texts of every snippet's page are loaded in one call. A page is analysed with its
    document's languages, as when it was indexed, so the inflected forms that matched are
    marked.

    Args:
        candidates: The documents of the results page, in order.
        terms: The index terms to mark (the answered query's ``positive_terms()``).
        page_of: ``(page id, seq)`` of a matching entry, ``None`` if it has no page.
        text_loader: The page-text store.
        analyzer: The index's analysis.
    """
    sources: list[PageSource | None] = []
    for candidate in candidates:
        if candidate.matches:
            best = max(candidate.matches, key=lambda m: (m.score, -m.seq))
            sources.append(page_of(best))
        else:
            sources.append(candidate.fallback)
    page_ids = [source[0] for source in sources if source]
    texts = text_loader(page_ids) if page_ids else {}
    hits = []
    for candidate, source in zip(candidates, sources, strict=True):
        text = texts.get(source[0], "") if source else ""
        snippet = (
            make_snippet(text, terms, analyzer=analyzer, languages=candidate.languages)
            if text
            else Markup()
        )
        seqs = sorted(match.seq for match in candidate.matches)
        hits.append(
            DocumentHit(
                document_id=candidate.document_id,
                title=candidate.title,
                pages=seqs[:MAX_PAGES_PER_HIT],
                snippet=snippet,
                snippet_page=source[1] if source else None,
                score=candidate.score,
                page_count=len(seqs),
            )
        )
    return hits
