"""Tests of rebuilding a search index into a new folder while it is searched and written."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from mura.app.modules.discovery import discovery
from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, SearchEngine, open_engine
from mura.app.search.engine import open_index
from mura.app.search.rebuild import RebuildRunningError, current_dir, rebuild

Item = tuple[DocumentEntry, list[PageEntry]]


class Catalogue:
    """Stands in for the database: documents with their pages, and the page-text store."""

    def __init__(self) -> None:
        self.items: dict[int, Item] = {}
        self.reads: list[int] = []

    def put(self, doc_id: int, title: str, *page_texts: str) -> Item:
        doc = DocumentEntry(doc_id, title, [], "book", ["kaz"], "karaganda", 2023)
        pages = [PageEntry(doc_id * 100 + n, n, text) for n, text in enumerate(page_texts, 1)]
        self.items[doc_id] = (doc, pages)
        return doc, pages

    def source(self, doc_id: int) -> Item | None:
        self.reads.append(doc_id)
        return self.items.get(doc_id)

    def texts(self, page_ids: list[int]) -> dict[int, str]:
        pages = {page.page_id: page.text for _, ps in self.items.values() for page in ps}
        return {pid: pages[pid] for pid in page_ids if pid in pages}

    def ids(self) -> list[int]:
        return sorted(self.items)


@pytest.fixture(params=ENGINE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def catalogue() -> Catalogue:
    catalogue = Catalogue()
    catalogue.put(1, "Қарағанды кітапханалары", "Қарағанды облыстық кітапханасы ашылды")
    catalogue.put(2, "Газет", "Алматы қаласының оқырмандары", "Астана кітап көрмесі")
    return catalogue


@pytest.fixture
def engine(tmp_path: Path, kind: str, catalogue: Catalogue) -> Iterator[SearchEngine]:
    """The engine every process of the installation uses, with the catalogue indexed."""
    with open_engine(kind, tmp_path / "index", catalogue.texts) as engine:
        for doc_id in catalogue.ids():
            engine.index_document(*catalogue.items[doc_id])
        yield engine


def run_rebuild(kind: str, root: Path, catalogue: Catalogue, **kw: object):
    opener = lambda folder: open_index(kind, folder, catalogue.texts)  # noqa: E731
    return rebuild(kind, root, opener, catalogue.ids(), catalogue.source, **kw)  # type: ignore[arg-type]


def found(engine: SearchEngine, query: str) -> list[int]:
    return sorted(hit.document_id for hit in engine.search(query, per_page=100).hits)


def test_rebuild_switches_every_open_engine(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    root = tmp_path / "index"
    other = open_engine(kind, root, catalogue.texts)  # another process's engine, say
    assert found(other, "Алматы") == [2]
    del catalogue.items[2]  # the database changed since the index was written
    catalogue.put(3, "Жаңа құжат", "Балқаш кітапханасы")

    report = run_rebuild(kind, root, catalogue)

    assert (report.documents, report.previous) == (2, root)
    assert current_dir(root, kind) == report.directory != root
    for reader in (engine, other):
        assert found(reader, "кітапханасы") == [1, 3]
        assert found(reader, "Алматы") == []
        hit = reader.search("Балқаш").hits[0]
        assert "<mark>Балқаш</mark>" in hit.snippet and hit.pages == [1]
    other.close()


def test_old_folders_are_removed_but_the_previous_one_is_kept(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    root = tmp_path / "index"
    first = run_rebuild(kind, root, catalogue).directory
    second = run_rebuild(kind, root, catalogue)
    assert second.previous == first and first.is_dir()
    third = run_rebuild(kind, root, catalogue)
    assert not first.exists() and second.directory.is_dir() and third.directory.is_dir()
    assert found(engine, "Астана") == [2]


def test_searching_during_a_rebuild_keeps_answering(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    for doc_id in range(10, 40):
        catalogue.put(doc_id, f"Құжат {doc_id}", "Қарағанды туралы очерк")
    answers: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        try:
            while not done.is_set():
                answers.append(engine.search("Қарағанды").total)
                time.sleep(0.002)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def slow_source(doc_id: int) -> Item | None:
        time.sleep(0.01)
        return catalogue.source(doc_id)

    readers = [threading.Thread(target=search) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        report = rebuild(
            kind,
            tmp_path / "index",
            lambda folder: open_index(kind, folder, catalogue.texts),
            catalogue.ids(),
            slow_source,
        )
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert errors == []
    assert len(answers) >= 20 and min(answers) >= 1  # the old index answered throughout
    assert report.documents == 32
    assert engine.search("Қарағанды").total == 31


def test_writes_during_a_rebuild_reach_the_new_index(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    for doc_id in range(10, 20):
        catalogue.put(doc_id, f"Құжат {doc_id}", "мәтін")

    written: list[bool] = []

    def source(doc_id: int) -> Item | None:
        # The indexing queue writes while the rebuild runs (once: the rebuild may read a
        # document twice, to sample the collection's common words first).
        if doc_id == 12 and not written:
            written.append(True)
            engine.index_document(*catalogue.put(50, "Кеш келген", "Балқаш кітапханасы"))
            engine.index_document(*catalogue.put(1, "Қарағанды кітапханалары", "Жаңартылды"))
            del catalogue.items[2]
            engine.remove_document(2)
        return catalogue.source(doc_id)

    report = rebuild(
        kind,
        tmp_path / "index",
        lambda folder: open_index(kind, folder, catalogue.texts),
        catalogue.ids(),
        source,
    )
    assert report.caught_up == 3
    assert found(engine, "Балқаш") == [50]
    assert found(engine, "Жаңартылды") == [1]
    assert found(engine, "облыстық") == []  # document 1's old page
    assert found(engine, "Астана") == []  # document 2 removed
    assert not (tmp_path / "index" / f"{kind}.rebuilding").exists()


def test_one_rebuild_at_a_time(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    catalogue.put(1, "Бір", "мәтін")
    started, release = threading.Event(), threading.Event()

    def blocking(doc_id: int) -> Item | None:
        started.set()
        release.wait(10)
        return catalogue.source(doc_id)

    first = threading.Thread(
        target=rebuild,
        args=(kind, tmp_path / "index", lambda f: open_index(kind, f, catalogue.texts)),
        kwargs={"document_ids": [1], "source": blocking},
    )
    first.start()
    started.wait(10)
    try:
        with pytest.raises(RebuildRunningError):
            run_rebuild(kind, tmp_path / "index", catalogue)
    finally:
        release.set()
        first.join()
    assert found(engine, "мәтін") == [1]


def test_a_failed_rebuild_leaves_the_index_in_use(
    engine: SearchEngine, kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    root = tmp_path / "index"

    def failing(doc_id: int) -> Item | None:
        if doc_id == 2:
            raise OSError("database went away")
        return catalogue.source(doc_id)

    with pytest.raises(OSError, match="went away"):
        rebuild(kind, root, lambda f: open_index(kind, f, catalogue.texts), [1, 2], failing)
    assert current_dir(root, kind) == root
    assert not list(root.glob(f"{kind}-*")) and not (root / f"{kind}.rebuilding").exists()
    assert found(engine, "Алматы") == [2]
    engine.index_document(*catalogue.put(3, "Кейін", "Балқаш"))  # writes are not journalled
    assert found(engine, "Балқаш") == [3]


def test_moving_to_the_other_engine(tmp_path: Path, catalogue: Catalogue) -> None:
    root = tmp_path / "index"
    with open_engine("whoosh", root, catalogue.texts) as whoosh:
        for doc_id in catalogue.ids():
            whoosh.index_document(*catalogue.items[doc_id])
        report = run_rebuild("tantivy", root, catalogue)
        assert current_dir(root, "whoosh") == root  # the whoosh index is untouched
        assert found(whoosh, "Алматы") == [2]
    with open_engine("tantivy", root, catalogue.texts) as tantivy_engine:
        assert tantivy_engine.index_dir == report.directory
        assert found(tantivy_engine, "Алматы") == [2]
        assert found(tantivy_engine, "Қарағанды") == [1]


def test_a_pointer_outside_the_root_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "whoosh.current").write_text("../elsewhere\n")
    assert current_dir(tmp_path, "whoosh") == tmp_path


# The command, on a real app and database


def _published_document(title: str, *page_texts: str) -> int:
    from mura.app.extensions import db
    from mura.app.models import Document, Page, ScanJob, StoredFile

    def stored(kind: str) -> StoredFile:
        return StoredFile(sha256=f"{title}{kind}".encode().hex()[:64], size=1, kind=kind)

    document = Document(title=title, authors=[], doc_type="book", langs="kaz", page_count=0)
    document.pdf_file = stored("document_pdf")  # a searchable PDF is what makes it public
    db.session.add(document)
    db.session.flush()
    job = ScanJob(document_id=document.id, status="done", langs="kaz")
    db.session.add(job)
    db.session.flush()
    source = stored("source")
    for seq, text in enumerate(page_texts, 1):
        db.session.add(
            Page(job=job, document_id=document.id, seq=seq, source_file=source, state="done",
                 text=text)
        )  # fmt: skip
    db.session.commit()
    return document.id


@pytest.mark.parametrize("target", ENGINE_KINDS)
def test_reindex_command(app: Flask, target: str) -> None:
    from mura.app.cli import cli
    from mura.app.modules.discovery import search as search_service

    first = _published_document("Қарағанды кітапханалары", "Облыстық кітапхана", "Балқаш")
    search_service.index_document(first)
    second = _published_document("Жаңа кітап", "Балқаш көлі туралы")  # never indexed

    result = CliRunner().invoke(
        cli, ["reindex", "--engine", target], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert "2 document(s) indexed" in result.output
    assert ("set it to tantivy" in result.output) == (target == "tantivy")

    app.config["SEARCH_ENGINE"] = target
    app.extensions.pop("mura_search").close()
    results = discovery.search("Балқаш")
    assert sorted(hit.document_id for hit in results.hits) == [first, second]
    assert [hit.pages for hit in results.hits if hit.document_id == first] == [[2]]
