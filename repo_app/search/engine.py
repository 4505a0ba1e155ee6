"""The search engine interface and the function that opens the configured engine.

Services and tasks use only :class:`SearchEngine` and :func:`open_engine`; the engine library
(Whoosh, the embedded default, or tantivy for large collections, chosen by
``MURA_SEARCH_ENGINE``) is imported only inside this package, and only when an engine of that
kind is opened.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from mura.app.search.analysis import DEFAULT_ANALYZER, Analyzer
from mura.app.search.types import (
    ANY_YEAR,
    DocumentEntry,
    PageEntry,
    Ranking,
    SearchResults,
    TextLoader,
    YearRange,
)

#: Engine kinds :func:`open_engine` knows.
ENGINE_KINDS = ("whoosh", "tantivy")


class SearchEngine(Protocol):
    """A full-text index of documents with one entry per page.

    Implementations are safe to share between the threads of a process; several processes may
    open the same index, and writes from one are seen by the next search of another.
    """

    def index_document(self, doc: DocumentEntry, pages: Iterable[PageEntry]) -> None:
        """Replace every entry of ``doc`` with one entry per page (idempotent).

        A document without pages gets one entry without text, so its title is still found.

        Raises:
            IndexBusyError: When another writer kept the index locked for too long.
        """
        ...

    def index_documents(self, items: Iterable[tuple[DocumentEntry, Iterable[PageEntry]]]) -> int:
        """Index many documents in one write (for rebuilds); return how many were indexed."""
        ...

    def remove_document(self, document_id: int) -> None:
        """Remove every entry of a document; removing an absent document does nothing."""
        ...

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
        """Search titles, authors and page text; one hit per document, best first.

        Everything the search page shows comes from the index: the total, every facet's counts
        (each without its own filter), the filters, the range of years and the date orders.
        Only the shown documents' snippets read page texts (the ``TextLoader``).

        Args:
            query: What the reader typed; any string is accepted (see ``query.parse_query``).
            page: 1-based results page.
            per_page: Documents per results page.
            filters: Facet name (``FACET_KEYS``) -> accepted values.
            years: Years of publication kept; a document without a year is outside a range.
            sort: ``relevance``, ``newest`` or ``oldest`` (``SORTS``; undated documents last).
        """
        ...

    def document_pages(self, document_id: int, query: str) -> list[int]:
        """Return the page numbers of one document whose text matches ``query``, ascending."""
        ...

    def ranked_documents(
        self, query: str, *, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[tuple[int, float]]:
        """Return ``(document id, score)`` of every matching document, best first (no snippets).

        The search page's facets and date sorting need every match, not one results page.
        """
        ...

    def rank(self, query: str) -> Ranking:
        """Run ``query`` once: every matching document, and the hits of those shown.

        What the search page uses (``modules/discovery/discovery.py``): one query to the index
        whatever the order the page shows its documents in.
        """
        ...

    def suggest(self, query: str) -> str | None:
        """Return ``query`` with its unknown words replaced by the closest indexed ones."""
        ...

    def generation(self) -> Hashable:
        """Return a token that changes whenever any process commits to the index.

        A rebuild's switch changes it too. What a cache of search results is keyed by.
        """
        ...

    def doc_frequency(self, term: str) -> int:
        """Return how many entries hold ``term`` in the title, authors or page text."""
        ...

    #: True when the index was built with another analysis version (``mura reindex`` fixes
    #: it; results stay usable meanwhile): the administrators' dashboard says so.
    needs_rebuild: bool

    def close(self) -> None:
        """Release open files; the engine must not be used afterwards."""
        ...

    def __enter__(self) -> SearchEngine: ...

    def __exit__(self, *exc_info: object) -> None: ...


def open_engine(
    kind: str,
    index_dir: Path,
    text_loader: TextLoader,
    *,
    analyzer: Analyzer = DEFAULT_ANALYZER,
    lock_timeout: float = 60.0,
) -> SearchEngine:
    """Open the index in ``index_dir``, creating it (and the folder) if missing.

    The engine follows ``mura reindex``: when ``index_dir`` holds a ``<kind>.current`` pointer,
    the index is in the folder it names, and the engine switches when a rebuild changes it
    (:mod:`mura.app.search.rebuild`).

    Args:
        kind: Engine kind, the value of ``MURA_SEARCH_ENGINE``: ``whoosh`` or ``tantivy``.
        index_dir: Folder of the index (the index root), usually ``MURA_HOME/index``.
        text_loader: Returns page texts by page id, for snippets.
        analyzer: Text analysis for indexing and queries; the default unless testing one.
        lock_timeout: Seconds a write waits for another process's write before giving up.

    Returns:
        The engine.

    Raises:
        ValueError: On an unknown engine kind.
    """
    from mura.app.search.rebuild import SwitchingEngine

    if kind not in ENGINE_KINDS:
        raise ValueError(f"unknown search engine {kind!r}; expected one of {ENGINE_KINDS}")
    return SwitchingEngine(
        kind,
        Path(index_dir),
        lambda folder: open_index(
            kind, folder, text_loader, analyzer=analyzer, lock_timeout=lock_timeout
        ),
    )


def open_index(
    kind: str,
    index_dir: Path,
    text_loader: TextLoader,
    *,
    analyzer: Analyzer = DEFAULT_ANALYZER,
    lock_timeout: float = 60.0,
) -> SearchEngine:
    """Open the index of ``kind`` in exactly ``index_dir`` (no pointer); see :func:`open_engine`.

    Raises:
        ValueError: On an unknown engine kind.
    """
    if kind == "whoosh":
        from mura.app.search.whoosh_engine import WhooshEngine

        return WhooshEngine(
            Path(index_dir), text_loader, analyzer=analyzer, lock_timeout=lock_timeout
        )
    if kind == "tantivy":  # for large collections (README, "Search at scale")
        from mura.app.search.tantivy_engine import TantivyEngine

        return TantivyEngine(
            Path(index_dir), text_loader, analyzer=analyzer, lock_timeout=lock_timeout
        )
    raise ValueError(f"unknown search engine {kind!r}; expected one of {ENGINE_KINDS}")
