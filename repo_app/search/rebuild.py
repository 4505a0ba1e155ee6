"""Rebuild an index into a new folder, then switch every process to it; readers never wait.

Layout of the index root (``INDEX_DIR``), per engine kind ``K``::

    K.current      name of the folder in use (written atomically); absent: the root itself
    K-<stamp>/     an index folder; the one in use and the one before it are kept
    K.rebuilding   present while a rebuild runs: the name of the folder being built
    K.journal      ids of the documents written while a rebuild runs
    K.rebuild.lock held by the running rebuild (one at a time)

A rebuild loads every document into a new folder with one bulk write (one commit: few segments),
while the old index keeps answering and the indexing queue keeps writing to it. Each such write
is also noted in the journal, and the rebuild indexes those documents again (from the database,
so with their newest state) before and after it switches the pointer. Every engine opened with
:func:`~mura.app.search.engine.open_engine` is a :class:`SwitchingEngine`: it looks at the pointer
before each call (one ``stat``) and opens the new folder as soon as it changes.

Why the order is safe: a writer notes the document in the journal *before* it reads the pointer.
A note made before the rebuild's last look at the journal is replayed; a note made after it was
made after the switch, so that writer reads the new pointer and writes the new index itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mura.app.search import grams
from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER, Analyzer
from mura.app.search.index_meta import FACETS_VERSION, IndexMeta, write_meta
from mura.app.search.types import (
    ANY_YEAR,
    DocumentEntry,
    PageEntry,
    Ranking,
    SearchError,
    SearchResults,
    YearRange,
)

log = logging.getLogger(__name__)

#: An engine's index at exactly one folder (``mura.app.search.engine.open_index`` bound).
Opener = Callable[[Path], Any]
#: A document's index entry and pages from the database, ``None`` when it must not be indexed.
Source = Callable[[int], "tuple[DocumentEntry, list[PageEntry]] | None"]

#: Seconds an engine replaced by a switch stays open for searches already under way.
RETIRE_AFTER = 60.0
#: Pages a rebuild samples to find its collection's common terms, and at most per document.
SAMPLE_PAGES = 2_000
SAMPLE_PAGES_PER_DOCUMENT = 20


class RebuildRunningError(SearchError):
    """Another rebuild of the same engine kind is running."""


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did.

    Attributes:
        kind: Engine kind.
        directory: The new index folder, now in use.
        previous: The folder in use before, kept for readers that have not switched yet.
        documents: Documents loaded by the bulk write.
        caught_up: Documents indexed again because they were written during the rebuild.
        seconds: Duration of the rebuild.
    """

    kind: str
    directory: Path
    previous: Path
    documents: int
    caught_up: int
    seconds: float


def current_dir(index_root: Path, kind: str) -> Path:
    """Return the folder of the index in use for ``kind``: the pointer's, else the root."""
    name = _read_name(index_root / f"{kind}.current")
    return index_root / name if name else index_root


def rebuild(
    kind: str,
    index_root: Path,
    opener: Opener,
    document_ids: Sequence[int],
    source: Source,
    *,
    progress: Callable[[int], None] | None = None,
    analyzer: Analyzer = DEFAULT_ANALYZER,
) -> RebuildReport:
    """Index every document into a new folder, catch up with concurrent writes, switch to it.

    The new index gets the common terms of its collection (:func:`prepare_folder`).

    Args:
        kind: Engine kind (``whoosh`` or ``tantivy``).
        index_root: The index root, ``INDEX_DIR``.
        opener: Opens the engine of ``kind`` at a given folder.
        document_ids: Every document to index.
        source: Reads a document's entry and pages (``None``: leave it out).
        progress: Called with 1 after each document of the bulk load.
        analyzer: The engine's analysis (for the common terms).

    Returns:
        What was done.

    Raises:
        RebuildRunningError: When another rebuild of ``kind`` runs.
    """
    started = time.monotonic()
    index_root.mkdir(parents=True, exist_ok=True)
    with _rebuild_lock(index_root, kind):
        previous = current_dir(index_root, kind)
        new = index_root / f"{kind}-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        journal = index_root / f"{kind}.journal"
        marker = index_root / f"{kind}.rebuilding"
        journal.write_text("", encoding="utf-8")
        _write_atomically(marker, new.name)  # from here on, writers note what they write
        switched = False
        try:
            prepare_folder(new, kind, sample_pages(document_ids, source), analyzer)
            engine = opener(new)
            try:
                count = engine.index_documents(_bulk_items(document_ids, source, progress))
                seen, offset = _catch_up(engine, journal, 0, source)
                _write_atomically(index_root / f"{kind}.current", new.name)
                switched = True
                more, _ = _catch_up(engine, journal, offset, source)
            finally:
                engine.close()
        except BaseException:
            if not switched:  # the old index stays in use; the new folder is of no use
                shutil.rmtree(new, ignore_errors=True)
            raise
        finally:
            marker.unlink(missing_ok=True)
            journal.unlink(missing_ok=True)
        _remove_old_folders(index_root, kind, keep={new, previous})
    seconds = time.monotonic() - started
    log.info("search index %s rebuilt in %s: %d documents in %.0f s", kind, new, count, seconds)
    return RebuildReport(kind, new, previous, count, seen + more, seconds)


def prepare_folder(
    folder: Path,
    kind: str,
    pages: Iterable[tuple[str, Sequence[str]]],
    analyzer: Analyzer = DEFAULT_ANALYZER,
) -> None:
    """Make ``folder`` for a new index of ``kind`` whose common terms come from ``pages``.

    Args:
        folder: The new index's folder (created; must not hold an index yet).
        kind: Engine kind.
        pages: ``(text, OCR languages)`` of a sample of the collection's pages.
        analyzer: The engine's analysis.
    """
    folder.mkdir(parents=True, exist_ok=True)
    common = grams.sample_common_terms(pages, analyzer)
    write_meta(folder, IndexMeta(kind, ANALYSIS_VERSION, common, FACETS_VERSION))


def sample_pages(
    document_ids: Sequence[int], source: Source, pages: int = SAMPLE_PAGES
) -> Iterator[tuple[str, Sequence[str]]]:
    """Yield ``(text, languages)`` of up to ``pages`` pages of random documents (reproducibly)."""
    rng = random.Random(len(document_ids))
    order = list(document_ids)
    rng.shuffle(order)
    given = 0
    for document_id in order:
        item = source(document_id)
        if item is None:
            continue
        doc, doc_pages = item
        with_text = [page for page in doc_pages if page.text]
        for page in rng.sample(with_text, min(len(with_text), SAMPLE_PAGES_PER_DOCUMENT)):
            yield page.text, doc.languages
            given += 1
            if given >= pages:
                return


def _bulk_items(
    document_ids: Sequence[int], source: Source, progress: Callable[[int], None] | None
) -> Iterator[tuple[DocumentEntry, list[PageEntry]]]:
    for document_id in document_ids:
        item = source(document_id)
        if progress is not None:
            progress(1)
        if item is not None:
            yield item


def _catch_up(engine: Any, journal: Path, offset: int, source: Source) -> tuple[int, int]:
    """Index again the documents noted in ``journal`` after ``offset``, until none are new.

    Returns:
        How many documents were indexed again, and the journal offset reached.
    """
    done = 0
    while True:
        with open(journal, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        if not complete:
            return done, offset
        offset += len(complete)
        ids = list(dict.fromkeys(int(line) for line in complete.split()))
        items = []
        for document_id in ids:
            item = source(document_id)
            if item is None:
                engine.remove_document(document_id)
            else:
                items.append(item)
        if items:
            engine.index_documents(items)
        done += len(ids)


class SwitchingEngine:
    """The engine of the folder the pointer names, reopened when a rebuild switches it.

    Implements :class:`~mura.app.search.engine.SearchEngine` by delegating to the engine of
    the current folder; writes made while a rebuild runs are noted in its journal first.

    Args:
        kind: Engine kind.
        index_root: The index root, ``INDEX_DIR``.
        opener: Opens the engine of ``kind`` at a given folder.
    """

    def __init__(self, kind: str, index_root: Path, opener: Opener) -> None:
        self.kind = kind
        self.index_root = index_root
        self._opener = opener
        self._pointer = index_root / f"{kind}.current"
        self._marker = index_root / f"{kind}.rebuilding"
        self._journal = index_root / f"{kind}.journal"
        self._lock = threading.Lock()
        self._stamp = _stamp(self._pointer)
        self._engine = opener(current_dir(index_root, kind))
        self._retired: list[tuple[float, Any]] = []

    def __enter__(self) -> SwitchingEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        # Public attributes of the current engine, e.g. ``needs_rebuild`` and ``index_dir``.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._current(), name)

    def close(self) -> None:
        """Close the current engine and any replaced one."""
        with self._lock:
            for _, engine in self._retired:
                engine.close()
            self._retired.clear()
            self._engine.close()

    def index_document(self, doc: DocumentEntry, pages: Iterable[PageEntry]) -> None:
        """Replace every entry of ``doc`` (see ``SearchEngine``)."""
        self._note(doc.document_id)
        self._current().index_document(doc, pages)

    def index_documents(self, items: Iterable[tuple[DocumentEntry, Iterable[PageEntry]]]) -> int:
        """Index many documents in one write (see ``SearchEngine``)."""
        items = list(items)
        for doc, _ in items:
            self._note(doc.document_id)
        return self._current().index_documents(items)

    def remove_document(self, document_id: int) -> None:
        """Remove every entry of a document (see ``SearchEngine``)."""
        self._note(document_id)
        self._current().remove_document(document_id)

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
        """Search (see ``SearchEngine``)."""
        return self._current().search(
            query, page=page, per_page=per_page, filters=filters, years=years, sort=sort
        )

    def document_pages(self, document_id: int, query: str) -> list[int]:
        """Matching page numbers of one document (see ``SearchEngine``)."""
        return self._current().document_pages(document_id, query)

    def ranked_documents(
        self, query: str, *, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[tuple[int, float]]:
        """Every matching document with its score (see ``SearchEngine``)."""
        return self._current().ranked_documents(query, filters=filters)

    def rank(self, query: str) -> Ranking:
        """Every matching document and the hits of those shown (see ``SearchEngine``)."""
        return self._current().rank(query)

    def suggest(self, query: str) -> str | None:
        """The query with unknown words corrected (see ``SearchEngine``)."""
        return self._current().suggest(query)

    def doc_frequency(self, term: str) -> int:
        """Entries holding ``term`` (see ``SearchEngine``)."""
        return self._current().doc_frequency(term)

    def generation(self) -> Hashable:
        """The current index's generation (its folder changes with a rebuild's switch)."""
        return self._current().generation()

    @property
    def needs_rebuild(self) -> bool:
        """Whether the current index was built with another analysis (see ``SearchEngine``)."""
        return bool(self._current().needs_rebuild)

    def _note(self, document_id: int) -> None:
        """Note a write in the journal of a running rebuild (before the pointer is read)."""
        if self._marker.exists():
            with open(self._journal, "a", encoding="ascii") as journal:
                journal.write(f"{document_id}\n")

    def _current(self) -> Any:
        """Return the engine of the pointer's folder, reopening it when the pointer changed."""
        stamp = _stamp(self._pointer)
        if stamp == self._stamp and not self._retired:
            return self._engine
        with self._lock:
            now = time.monotonic()
            stamp = _stamp(self._pointer)
            if stamp != self._stamp:
                fresh = self._opener(current_dir(self.index_root, self.kind))
                self._retired.append((now, self._engine))
                self._engine, self._stamp = fresh, stamp
                log.info("search index %s switched to %s", self.kind, fresh.index_dir)
            for retired in [r for r in self._retired if now - r[0] > RETIRE_AFTER]:
                retired[1].close()
                self._retired.remove(retired)
            return self._engine


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


def _read_name(path: Path) -> str | None:
    try:
        name = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name and "/" not in name and name not in (".", "..") else None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


@contextmanager
def _rebuild_lock(index_root: Path, kind: str) -> Iterator[None]:
    with open(index_root / f"{kind}.rebuild.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RebuildRunningError(f"a rebuild of the {kind} index is running") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_old_folders(index_root: Path, kind: str, keep: set[Path]) -> None:
    """Remove this kind's index folders other than ``keep`` (older generations)."""
    for folder in index_root.glob(f"{kind}-*"):
        if folder.is_dir() and folder not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("search index %s: removed old folder %s", kind, folder)
