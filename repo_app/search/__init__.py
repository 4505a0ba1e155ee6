"""Full-text search of documents and their pages, behind one engine-independent interface.

This package is the only place that imports a search library. Callers use plain data::

    from mura.app.search import DocumentEntry, PageEntry, open_engine

    engine = open_engine("whoosh", index_dir, load_page_texts)
    engine.index_document(DocumentEntry(...), [PageEntry(page_id, 1, text), ...])
    results = engine.search("Қарағанды кітапханасы", filters={"language": ["kaz"]})

Importing it does not import the engine library; :func:`open_engine` does.
"""

from __future__ import annotations

from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER, Analyzer, tokenize
from mura.app.search.engine import ENGINE_KINDS, SearchEngine, open_engine
from mura.app.search.types import (
    FACET_KEYS,
    DocumentEntry,
    DocumentHit,
    IndexBusyError,
    PageEntry,
    SearchError,
    SearchResults,
    TextLoader,
)

__all__ = [
    "ANALYSIS_VERSION",
    "DEFAULT_ANALYZER",
    "ENGINE_KINDS",
    "FACET_KEYS",
    "Analyzer",
    "DocumentEntry",
    "DocumentHit",
    "IndexBusyError",
    "PageEntry",
    "SearchEngine",
    "SearchError",
    "SearchResults",
    "TextLoader",
    "open_engine",
    "tokenize",
]
