"""The whole slice on both stacks: ingest → real worker → real Tesseract → PDF → search.

Runs on ``embedded`` (SQLite + filesystem broker) and ``production`` (PostgreSQL + Redis).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pytest

from tests.conftest import SHARED, Stack, copy_page

pytestmark = pytest.mark.timeout(600)


def _cer(corpus: Path, pdf: str, stems: str, tmp_path: Path) -> float:
    out = tmp_path / "score.json"
    subprocess.run(
        [
            sys.executable,
            str(SHARED / "bench" / "ocr_score.py"),
            str(corpus),
            "--pdf",
            pdf,
            "--pages",
            stems,
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.read_text())["overall"]["cer"]


def test_ingest_ocr_search(stack: Stack, corpus: Path, pages_dir: Path, tmp_path: Path) -> None:
    page = copy_page(corpus, "p01_book.png", pages_dir)
    [result] = stack.mura_json(
        "ingest",
        str(page),
        "--title",
        "Кітапхана есебі",
        "--type",
        "book",
        "--authors",
        "Автор Бір; Автор Екі",
        "--lang",
        "kaz+rus",
        "--wait",
    )
    assert result["status"] == "done", result
    assert (result["pages"], result["pages_failed"]) == (1, 0)
    pdf = result["pdf_path"]
    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) == 1
        assert "Кітапхана есебі" in str(doc.docinfo.get("/Title"))
    assert _cer(corpus, pdf, "p01_book", tmp_path) <= 0.05

    # A word of the page is found, on page 1 of that document.
    word = "кітапханалар"
    gt = (corpus / "p01_book.gt.txt").read_text(encoding="utf-8").lower()
    assert word in gt
    hits = stack.mura_json("search", word)
    hit = next(h for h in hits if h["document_id"] == result["document_id"])
    assert hit["pages"] == [1]
    assert hit["title"] == "Кітапхана есебі"
    assert "кітапхана" in hit["snippet"].lower()  # a form of the word, highlighted

    [listed] = stack.mura_json("jobs", str(result["job_id"]))
    assert listed["status"] == "done"
    assert (listed["pages_total"], listed["pages_done"]) == (1, 1)


def test_bad_pages_fail_alone(stack: Stack, corpus: Path, pages_dir: Path) -> None:
    good = copy_page(corpus, "p09_book_sans.png", pages_dir)
    empty = pages_dir / "02-empty.png"
    empty.write_bytes(b"")
    not_image = pages_dir / "03-notes.png"
    not_image.write_text("this is a text file, not a scan\n")
    truncated = pages_dir / "04-truncated.png"
    truncated.write_bytes((corpus / "p01_book.png").read_bytes()[:40000])

    [result] = stack.mura_json(
        "ingest",
        str(good),
        str(empty),
        str(not_image),
        str(truncated),
        "--title",
        "Mixed upload",
        "--type",
        "book_article",
        "--wait",
        check=False,
    )
    assert result["status"] == "done", result
    assert result["pages"] == 4
    assert result["pages_failed"] == 3
    codes = {f["page"]: f["code"] for f in result["failures"]}
    assert codes == {2: "empty_file", 3: "not_an_image", 4: "truncated_image"}
    assert all(f["reason"] for f in result["failures"])
    with pikepdf.open(result["pdf_path"]) as doc:
        assert len(doc.pages) == 4  # failed pages keep their place

    # Every upload was kept unchanged, the broken ones too.
    from mura.app.core.files import local_path
    from mura.app.extensions import db
    from mura.app.models import Page, ScanJob

    with stack.app.app_context():
        job = db.session.get(ScanJob, result["job_id"])
        kept = {p.seq: local_path(p.source_file).read_bytes() for p in job.pages}
        assert kept[1] == good.read_bytes()
        assert kept[4] == truncated.read_bytes()
        assert db.session.get(Page, job.pages[0].id).state == "done"


def test_unknown_language_is_refused(stack: Stack, corpus: Path, pages_dir: Path) -> None:
    page = copy_page(corpus, "p01_book.png", pages_dir)
    proc = stack.mura(
        "ingest", str(page), "--title", "X", "--type", "book", "--lang", "kaz+xyz", check=False
    )
    assert proc.returncode == 2
    assert "xyz" in proc.stderr and "not installed" in proc.stderr


def test_reocr_with_other_languages_keeps_the_correction(
    stack: Stack, corpus: Path, pages_dir: Path, tmp_path: Path
) -> None:
    page = copy_page(corpus, "p07_book_kir.png", pages_dir)
    [first] = stack.mura_json(
        "ingest",
        str(page),
        "--title",
        "Кыргыз китеби",
        "--type",
        "book",
        "--lang",
        "kaz+rus",
        "--wait",
    )
    assert first["status"] == "done"
    cer_kaz = _cer(corpus, first["pdf_path"], "p07_book_kir", tmp_path)

    # A hand correction goes into search at once (a reindex task, not a new OCR).
    from mura.app.extensions import db
    from mura.app.models import Page
    from mura.app.modules.digitization.corrections import correct_page_text

    with stack.app.app_context():
        page_id = db.session.scalars(db.select(Page.id).where(Page.job_id == first["job_id"])).one()
        correct_page_text(page_id, "Түзетілген мәтін: жергиликтүү тарых мұрағаты", "tester")
    deadline = time.monotonic() + 60
    while not any(
        h["document_id"] == first["document_id"] for h in stack.mura_json("search", "мұрағаты")
    ):
        assert time.monotonic() < deadline, "correction never reached search"
        time.sleep(0.5)

    # OCR again with the page's real language: better text, the correction still wins.
    [again] = stack.mura_json("reocr", str(first["job_id"]), "--lang", "kir+rus", "--wait")
    assert again["status"] == "done"
    assert _cer(corpus, again["pdf_path"], "p07_book_kir", tmp_path) < cer_kaz
    with stack.app.app_context():
        db.session.expire_all()
        row = db.session.get(Page, page_id)
        assert row.langs == "kir+rus"
        assert row.text_corrected.startswith("Түзетілген")
    hits = stack.mura_json("search", "мұрағаты")
    assert any(h["document_id"] == first["document_id"] for h in hits)


def test_pdf_page_with_its_own_text_is_kept_then_ocred_on_request(
    stack: Stack, corpus: Path, tmp_path: Path
) -> None:
    from fpdf import FPDF

    from mura.app.extensions import db
    from mura.app.models import Page

    typeset = FPDF(unit="pt", format=(419.53, 595.28))
    typeset.add_page()
    typeset.add_font("DejaVuSerif", fname="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    typeset.set_font("DejaVuSerif", size=9)
    typeset.multi_cell(w=0, h=12, text=(corpus / "p03_book_rus_lowcontrast.gt.txt").read_text())
    source = tmp_path / "typeset.pdf"
    source.write_bytes(bytes(typeset.output()))
    assert typeset.page_no() == 1
    [kept] = stack.mura_json(
        "ingest", str(source), "--title", "Жинақ", "--type", "book", "--lang", "kaz+rus", "--wait"
    )
    assert kept["status"] == "done" and kept["pages_flagged"] == 0, kept

    def page_row() -> Page:
        with stack.app.app_context():
            return db.session.scalars(db.select(Page).where(Page.job_id == kept["job_id"])).one()

    row = page_row()
    assert row.mean_confidence is None and "ocr" not in row.timings
    assert any("kept as it is" in warning for warning in row.warnings)
    with pikepdf.open(source) as original, pikepdf.open(kept["pdf_path"]) as document:
        page = document.pages[0]
        assert page.Contents.read_bytes() == original.pages[0].Contents.read_bytes()
    word = max(row.text.split(), key=len).strip(".,;:()«»")
    assert any(h["document_id"] == kept["document_id"] for h in stack.mura_json("search", word))

    [again] = stack.mura_json("reocr", str(kept["job_id"]), "--ocr-text-pages", "--wait")
    assert again["status"] == "done"
    row = page_row()
    assert row.mean_confidence is not None and "ocr" in row.timings
