"""Plain data that goes into and comes out of a search engine.

Nothing here depends on Flask, the database models or a search library: the services build a
:class:`DocumentEntry` and its :class:`PageEntry` objects from the database, and the views render
:class:`SearchResults`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup

#: Page text by page id, for the pages asked for; a missing id means the page has no text. The
#: index does not store page text (see docs/design-notes.md, "Search"), so snippets come from here.
TextLoader = Callable[[Sequence[int]], dict[int, str]]

#: The filter and facet names a search accepts. Each engine keeps every one of them in its index
#: (one value or several per document), so the search page's facets, filters and date order
#: never read the database for the matching documents (docs/discovery.md, "Search page").
FACET_KEYS = (
    "collection",
    "doc_type",
    "language",
    "decade",
    "year",
    "source",
    "author",
    "subject",
)
#: Facets counted in chronological order (newest first) rather than by frequency.
CHRONOLOGICAL_FACETS = ("decade", "year")
#: Orders of the results: by score, or by the document's date (undated documents last).
SORTS = ("relevance", "newest", "oldest")
#: Values of a facet a document may carry are cut to this many characters (index terms).
MAX_FACET_VALUE = 200


@dataclass(frozen=True)
class YearRange:
    """Years of publication a search keeps, both ends included; ``None``: open on that side.

    A document without a year is outside any range that is not open on both sides.
    """

    first: int | None = None
    last: int | None = None

    @property
    def is_open(self) -> bool:
        """Whether the range keeps every document (no bound)."""
        return self.first is None and self.last is None

    def keeps(self, year: int | None) -> bool:
        """Whether a document of ``year`` is in the range."""
        if self.is_open:
            return True
        if year is None:
            return False
        return (self.first is None or year >= self.first) and (
            self.last is None or year <= self.last
        )


ANY_YEAR = YearRange()


@dataclass(frozen=True)
class DocumentEntry:
    """What the index knows about a document; each of its page entries carries these fields.

    Attributes:
        document_id: Database id of the document.
        title: Title, searched and boosted.
        authors: Author names, searched and boosted.
        doc_type: ``book``, ``newspaper_article``, ``journal_article`` or ``book_article``.
        languages: Tesseract language codes, e.g. ``['kaz', 'rus']``.
        collection: Slugs of every collection the document is in (a tuple); one slug or
            ``None`` are accepted as before and read as one collection or none. Read
            :attr:`collections`.
        year: Year of publication, if known (the document's, else its host item's).
        source: The newspaper or journal an article comes from (the record's host item).
        creators: Author names for the ``author`` facet, as the catalogue record names them
            (``None``: the document's own ``authors``).
        subjects: Subject headings of the catalogue record.
        sort_date: The date the results are sorted by (the host item's date, else 1 January of
            ``year``); ``None``: undated, sorted last.
    """

    document_id: int
    title: str
    authors: list[str]
    doc_type: str
    languages: list[str]
    collection: str | Sequence[str] | None
    year: int | None
    source: str = ""
    creators: Sequence[str] | None = None
    subjects: Sequence[str] = ()
    sort_date: date | None = None

    def facet_values(self) -> dict[str, tuple[str, ...]]:
        """The document's values of every facet (:data:`FACET_KEYS`), as both engines index them.

        One place, so the index's counts are the database's counts (tests compare them).
        """
        year = self.year
        creators = self.authors if self.creators is None else self.creators
        return {
            "collection": self.collections,
            "doc_type": (self.doc_type,) if self.doc_type else (),
            "language": tuple(dict.fromkeys(code for code in self.languages if code)),
            "decade": (str(year // 10 * 10),) if year else (),
            "year": (str(year),) if year else (),
            "source": _clean((self.source,)),
            "author": _clean(creators),
            "subject": _clean(self.subjects),
        }

    @property
    def sort_day(self) -> int:
        """The sort date as a day number (``date.toordinal``); 0 when undated."""
        if self.sort_date is not None:
            return self.sort_date.toordinal()
        return date(self.year, 1, 1).toordinal() if self.year else 0

    @property
    def collections(self) -> tuple[str, ...]:
        """The slugs of the document's collections, each once, in the order given."""
        value = self.collection
        if not value:
            return ()
        if isinstance(value, str):
            return (value,)
        return tuple(dict.fromkeys(slug for slug in value if slug))


def _clean(values: Sequence[str]) -> tuple[str, ...]:
    """Facet values trimmed, bounded, without control characters, each once."""
    cleaned = (
        " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())[:MAX_FACET_VALUE]
        for value in values
        if value
    )
    return tuple(dict.fromkeys(value for value in cleaned if value))


@dataclass(frozen=True)
class PageEntry:
    """One page of a document as the index sees it.

    Attributes:
        page_id: Database id of the page; the key given to the :data:`TextLoader`.
        seq: 1-based page number in the document.
        text: The page's text (OCR output), analysed but not stored by the index.
    """

    page_id: int
    seq: int
    text: str


@dataclass
class DocumentHit:
    """One matching document.

    Attributes:
        document_id: Database id of the document.
        title: Its title, as indexed.
        pages: Page numbers (``seq``) whose text matches, ascending, at most
            ``MAX_PAGES_PER_HIT``; empty when only the title or authors match.
        snippet: Escaped page text with the matches in ``<mark>`` elements.
        snippet_page: Page number the snippet comes from, ``None`` without a snippet.
        score: Relevance: the score of the document's best page.
        page_count: How many pages match in all (``pages`` may be cut short).
    """

    document_id: int
    title: str
    pages: list[int]
    snippet: Markup
    snippet_page: int | None
    score: float
    page_count: int = 0


@dataclass(frozen=True)
class Ranking:
    """One query's answer for the search page: every matching document, and hits on demand.

    The engine runs the query once (:meth:`SearchEngine.rank`); the search page filters, counts
    and sorts :attr:`ranked` with facts of its own, then asks for the hits (matching pages and
    a snippet) of just the documents it shows, in its own order: the same hits
    (:func:`mura.app.search.grouping.build_hits`) the engine's own ``search`` gives.

    Attributes:
        ranked: ``(document id, score)`` of every matching document, best first.
    """

    ranked: list[tuple[int, float]]
    _hits: Callable[[Sequence[tuple[int, float]]], list[DocumentHit]]

    def hits(self, shown: Sequence[tuple[int, float]]) -> list[DocumentHit]:
        """The hits of ``shown`` (documents of :attr:`ranked`), in that order."""
        return self._hits(shown) if shown else []


NO_RANKING = Ranking([], lambda shown: [])


@dataclass
class SearchResults:
    """One page of search results.

    Attributes:
        query: The query as typed.
        total: Number of matching documents (after filters).
        hits: The documents of this results page, best first.
        page: 1-based results page number.
        per_page: Documents per results page.
        facets: For each facet of :data:`FACET_KEYS`, the number of matching documents per
            value. Each facet counts with the other facets' filters
            applied but not its own, so the counts show what choosing another value would give.
        total_exact: Whether ``total`` and the facet counts are exact. Counting every matching
            document of a query whose words are on most pages of a large index would cost more
            than the ranking; then the engine gives an estimate ("about N").
    """

    query: str
    total: int
    hits: list[DocumentHit]
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total_exact: bool = True


class SearchError(Exception):
    """Base class of the search package's errors."""


class IndexBusyError(SearchError):
    """Another process held the index's write lock for longer than we were willing to wait.

    Transient: a Celery task may retry on it.
    """
