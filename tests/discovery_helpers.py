"""A small published library for the reader, IIIF and search-page tests, made once per session.

Two corpus pages are uploaded through the real ingest, OCR'd by the real ``ocr_page`` task (run
in this process, two pages at once), assembled and indexed by the real stage tasks: what a
worker does, without a broker in between. Rights: ``DEFAULT_ACCESS=public_domain``.

- a **book** of two pages (p01_book.png, p09_book_sans.png; 2023, collection ``olketanu``), by
  "Әлімжанов С.";
- a **newspaper article** (p08_book_jpeg.jpg) linked to a catalogue record: "Индустриальная
  Караганда", 14.11.1998, № 45, С. 3, by "Сейітов, Бауыржан".

All three pages contain "кітапхана". The browser test serves the same MURA_HOME with ``mura serve``.
The fixture is made visible to every test module by an import at the end of
``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

#: Settings of the library's app (and of the browser test's server); the tests search more
#: often than the public search limit allows.
LIBRARY_CONFIG = {"DEFAULT_ACCESS": "public_domain", "SEARCH_RATE_LIMIT": "1000 per minute"}
BOOK_PAGES = ("p01_book.png", "p09_book_sans.png")
ARTICLE_PAGE = "p08_book_jpeg.jpg"


@dataclass
class Library:
    """The published library: its app, MURA_HOME and the ids tests need."""

    app: Flask
    home: Path
    book_id: int
    article_id: int
    record_id: int
    collection_slug: str = "olketanu"


def _publish(app: Flask, corpus: Path) -> tuple[int, int, int]:
    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord, Collection, RecordAgent
    from mura.app.modules.catalogue import records
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
    from mura.workers import tasks

    with app.app_context():
        db.session.add(
            Collection(
                slug="olketanu",
                title="Өлкетану",
                title_kk="Өлкетану",
                title_ru="Краеведение",
                title_en="Local lore",
            )
        )
        record = CatalogueRecord(
            doc_type="newspaper_article",
            title="Кітапхана-филиалында іс-шаралар",
            host_title="Индустриальная Караганда",
            host_year=1998,
            host_date=date(1998, 11, 14),
            host_issue="№ 45",
            host_pages="С. 3",
            languages=["kaz"],
            agents=[RecordAgent(name="Сейітов, Бауыржан", role="aut", position=0)],
        )
        db.session.add(record)
        db.session.commit()
        scans = [open(corpus / name, "rb") for name in BOOK_PAGES]  # noqa: SIM115
        try:
            book = ingest(
                [Upload(name, scan) for name, scan in zip(BOOK_PAGES, scans, strict=True)],
                DocumentFields(
                    "Қарағанды кітапханалары", "book", ["Әлімжанов С."], "kaz", "olketanu", 2023
                ),
            )
        finally:
            for scan in scans:
                scan.close()
        with open(corpus / ARTICLE_PAGE, "rb") as scan:
            article = ingest(
                [Upload(ARTICLE_PAGE, scan)],
                DocumentFields("?", "newspaper_article", [], "kaz", "olketanu", None),
            )
        records.link_document(article.document_id, record.id)
        jobs = [(book.id, book.document_id), (article.id, article.document_id)]
        page_ids = [page.id for job in (book, article) for page in job.pages]
        record_id = record.id

    def ocr(page_id: int) -> str:
        with app.app_context():
            return tasks.ocr_page.run(page_id)

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(ocr, page_ids)) == ["processed"] * len(page_ids)
    with app.app_context():
        for job_id, _ in jobs:
            assert tasks.assemble_pdf.run(job_id) == "assembled"
            assert tasks.index_job.run(job_id) == "indexed"
        db.session.remove()
    return jobs[0][1], jobs[1][1], record_id


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[Library]:
    """The published library (built once per session: three pages of OCR, ~20 s)."""
    from tests.conftest import make_app

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    home = tmp_path_factory.mktemp("discovery-home")
    app = make_app(home, **LIBRARY_CONFIG)
    book_id, article_id, record_id = _publish(app, corpus)
    yield Library(app, home, book_id, article_id, record_id)
    from mura.app.extensions import db

    with app.app_context():
        db.engine.dispose()
