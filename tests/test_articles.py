"""Articles clipped from the pages of a newspaper issue (issue 17; docs/workflow.md "Articles").

The page is generated (tests/newspaper.py): boxed articles whose text is a corpus paragraph, so
the article's text has an exact ground truth. In-process tests run the real tasks without a
broker; the end-to-end tests drive ``mura ingest`` and ``mura articles clip`` on both stacks.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from rapidfuzz.distance import Levenshtein

from tests.conftest import Stack
from tests.newspaper import LINE_PX, PADDING, Article, paragraphs, render_issue_page

MAX_CER = 0.03


def _norm(text: str) -> str:
    return " ".join(text.split())


def cer(expected: str, found: str) -> float:
    """Character error rate of ``found`` against ``expected`` (whitespace runs as one space)."""
    ref = _norm(expected)
    return Levenshtein.distance(ref, _norm(found)) / max(1, len(ref))


def words(text: str) -> set[str]:
    """Lower-case words of four letters or more."""
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) >= 4 and not w.isdigit()}


def pdf_page_text(pdf: str | Path, page: int) -> str:
    """The text layer of one page of a PDF (pdftotext, reading order of the layer)."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-raw", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def foreign_words(target: Article, others: list[Article]) -> set[str]:
    """Words of the other articles that the target article does not have."""
    own = words(target.text)
    return set().union(*(words(o.text) for o in others)) - own


# --- in process: the real tasks, no broker ---------------------------------------------


def _run_job(job_id: int) -> None:
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.workers import tasks

    job = db.session.get(ScanJob, job_id)
    for page in job.pages:
        assert tasks.ocr_page.run(page.id) == "processed"
    assert tasks.assemble_pdf.run(job_id) == "assembled"
    assert tasks.index_job.run(job_id) == "indexed"


def _ingest_issue(paths: list[Path], title: str = "Дала жаңалықтары, № 12") -> int:
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    streams = [open(p, "rb") for p in paths]  # noqa: SIM115
    try:
        job = ingest(
            [Upload(p.name, s) for p, s in zip(paths, streams, strict=True)],
            DocumentFields(title, "newspaper_issue", [], "kaz+rus", None, 2024),
        )
    finally:
        for stream in streams:
            stream.close()
    _run_job(job.id)
    return job.document_id


@pytest.fixture(scope="module")
def texts(corpus: Path) -> list[str]:
    return paragraphs(corpus, 6)


@pytest.fixture
def request_ctx(app: Flask):
    """Messages are translated for a request's language (English here)."""
    with app.test_request_context():
        yield app


def test_regions_are_checked(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    from mura.app.modules.digitization.articles import (
        ArticleError,
        ArticleFields,
        Region,
        clip_article,
        parse_region,
    )

    arts = render_issue_page(tmp_path / "page.png", texts[:2])
    issue = _ingest_issue([tmp_path / "page.png"])
    fields = ArticleFields("Мақала", "newspaper_article")
    assert parse_region(" 1: 10,20,30,40 ") == Region(1, 10, 20, 30, 40)
    for bad in ("1:10,20,30", "x:1,2,3,4", "", "1;1,2,3,4"):
        with pytest.raises(ArticleError, match="PAGE:X,Y,W,H"):
            parse_region(bad)
    cases = {
        "outside page 1": Region(1, 1900, 10, 200, 100),
        "is empty": Region(1, 10, 10, 0, 100),
        "Page 2 of document": Region(2, 10, 10, 100, 100),
    }
    for message, region in cases.items():
        with pytest.raises(ArticleError, match=message):
            clip_article(issue, [region], fields)
    with pytest.raises(ArticleError, match="document type"):
        clip_article(issue, [Region(1, *arts[0].box)], ArticleFields("T", "newspaper_issue"))
    with pytest.raises(ArticleError, match="No catalogue record 999"):
        clip_article(
            issue, [Region(1, *arts[0].box)], ArticleFields("T", "newspaper_article", [], 999)
        )
    from mura.app.extensions import db
    from mura.app.models import Document

    assert db.session.scalar(db.select(db.func.count(Document.id))) == 1  # nothing was made

    # Overlapping another article's region: a warning, allowed.
    first = clip_article(issue, [Region(1, *arts[0].box)], fields)
    assert first.warnings == []
    x, y, w, h = arts[0].box
    second = clip_article(issue, [Region(1, x + w // 2, y, w // 2, h)], fields)
    assert second.warnings and f"article {first.job.document_id}" in second.warnings[0]


def test_article_text_from_issue_ocr(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    """The clipping is the master's pixels; its text is the issue's words inside the box."""
    from PIL import Image

    from mura.app.core.files import local_path
    from mura.app.extensions import db
    from mura.app.models import Document, ScanJob
    from mura.app.modules.administration import reports
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article
    from mura.app.modules.discovery import discovery

    arts = render_issue_page(tmp_path / "page.png", texts[:4])
    before = reports.annual_report(date.today().year).as_dict()["rows"]
    issue = _ingest_issue([tmp_path / "page.png"])
    after_issue = reports.annual_report(date.today().year).as_dict()["rows"]
    assert after_issue == before  # an issue is a source: never counted
    assert db.session.get(Document, issue).access == "not_public"  # not public unless decided

    target = arts[1]
    done = clip_article(
        issue, [Region(1, *target.box)], ArticleFields("Мақала", "newspaper_article", ["Автор"])
    )
    job = db.session.get(ScanJob, done.job.id)
    [page] = job.pages
    clipping = Image.open(local_path(page.source_file))
    master = Image.open(tmp_path / "page.png")
    x, y, w, h = target.box
    assert clipping.size == (w, h)
    assert clipping.tobytes() == master.crop((x, y, x + w, y + h)).tobytes()  # lossless

    _run_job(job.id)
    db.session.expire_all()
    page = db.session.get(ScanJob, job.id).pages[0]
    assert page.state == "done", page.error_reason
    assert cer(target.text, page.text) <= MAX_CER, page.text
    assert not words(page.text) & foreign_words(target, [a for a in arts if a is not target])
    assert "ocr" not in (page.timings or {})  # no second OCR: no word was cut
    article = db.session.get(Document, job.document_id)
    assert article.status == "published" and article.access == "online"
    assert cer(target.text, pdf_page_text(local_path(article.pdf_file), 1)) <= MAX_CER

    word = sorted(words(target.text) - words(arts[0].text))[0]
    found = discovery.search(word)
    ids = [hit.document_id for hit in found.hits]
    assert job.document_id in ids and issue not in ids

    # The reader marks hits on the clipping: the word boxes are the clipping's pixels.
    from mura.app.modules.discovery.reader import page_words

    boxes = page_words(page)
    assert (boxes.width, boxes.height) == (w, h)
    hit = next(b for b in boxes.words if word in b.text.lower())
    assert 0 <= hit.box[0] < hit.box[2] <= w and 0 <= hit.box[1] < hit.box[3] <= h
    assert clipping.crop(hit.box).convert("L").getextrema()[0] < 100  # ink under the box

    # The article links to its host: dc:source and MARC 21 773 name the issue and its page.
    from mura.app.modules.catalogue import metadata

    source = metadata.dublin_core(article)["source"]
    assert source == ["Дала жаңалықтары, № 12. – 2024. – P. 1"]
    [field] = metadata.marc21(article, "oai:test:1").get_fields("773")
    assert field.get_subfields("t", "g") == ["Дала жаңалықтары, № 12", "2024, P. 1"]

    from mura.app.modules.administration import dashboard

    today = dashboard.local_today()  # the library's day, as the dashboard counts
    month = dashboard.month_bounds(today.year, today.month)
    assert dashboard.pages_between(*month) == 1  # the article's page, not the issue's

    rows = reports.annual_report(date.today().year).as_dict()["rows"]
    assert rows["newspaper_article"]["documents_year"] == 1
    assert rows["newspaper_article"]["pages_year"] == 1
    assert rows["total"]["documents_year"] == before["total"]["documents_year"] + 1
    assert rows["total"]["pages_year"] == before["total"]["pages_year"] + 1


def test_cut_word_read_again(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    """A region whose edge cuts through a line's words reads only that strip again."""
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article
    from tests.newspaper import LINE_PX, PADDING

    arts = render_issue_page(tmp_path / "page.png", texts[:1])
    issue = _ingest_issue([tmp_path / "page.png"])
    x, y, w, h = arts[0].box
    # Down to the middle of the third line: two whole lines, the third cut in half.
    cut_h = PADDING + 2 * LINE_PX + LINE_PX // 2 - 6
    done = clip_article(issue, [Region(1, x, y, w, cut_h)], ArticleFields("T", "newspaper_article"))
    _run_job(done.job.id)
    db.session.expire_all()
    [page] = db.session.get(ScanJob, done.job.id).pages
    assert page.state == "done", page.error_reason
    assert "ocr" in page.timings
    assert any("read again" in w for w in page.warnings)
    whole, cut = page.text.split("\n")[:2], page.text.split("\n")[2:]
    assert cer(" ".join(arts[0].lines[:2]), " ".join(whole)) <= MAX_CER
    assert len(cut) <= 1  # the cut line, as much of it as can be read


# --- end to end: ``mura ingest`` and ``mura articles clip`` on both stacks -----------------------


def _report_rows(stack: Stack) -> dict:
    out = stack.mura("report", "--year", str(date.today().year), "--format", "json").stdout
    return json.loads(out)["rows"]


def test_clip_article_end_to_end(stack: Stack, tmp_path: Path, texts: list[str]) -> None:
    arts = render_issue_page(tmp_path / "issue-p1.png", texts[:4])
    more = render_issue_page(tmp_path / "issue-p2.png", texts[4:6], title="ДАЛА ЖАҢАЛЫҚТАРЫ 2")
    before = _report_rows(stack)
    [issue] = stack.mura_json(
        "ingest",
        str(tmp_path / "issue-p1.png"),
        str(tmp_path / "issue-p2.png"),
        "--title",
        "Дала жаңалықтары, 2024, № 12",
        "--type",
        "newspaper_issue",
        "--year",
        "2024",
        "--wait",
    )
    assert issue["status"] == "done" and issue["pages"] == 2, issue
    assert _report_rows(stack) == before  # the issue is a source: not counted

    # Bad regions: a clear error, exit 2, nothing made.
    for region, message in (
        ("1:1900,10,300,100", "outside page 1"),
        ("1:10,10,0,50", "empty"),
        ("3:10,10,50,50", "Page 3"),
        ("1:10,10", "PAGE:X,Y,W,H"),
    ):
        proc = stack.mura(
            "articles", "clip", str(issue["document_id"]), "--region", region,
            "--title", "T", "--type", "newspaper_article", "--json", check=False,
        )  # fmt: skip
        assert proc.returncode == 2 and message in proc.stderr, (region, proc.stderr)

    target = arts[2]
    [article] = stack.mura_json(
        "articles", "clip", str(issue["document_id"]),
        "--region", f"1:{target.region}",
        "--title", "Мақала", "--type", "newspaper_article", "--authors", "Автор Бір",
        "--wait",
    )  # fmt: skip
    assert set(article) >= {"document_id", "job_id", "status", "pages", "pages_failed", "pdf_path"}
    assert article["status"] == "done" and article["pages"] == 1 and article["pages_failed"] == 0
    text = pdf_page_text(article["pdf_path"], 1)
    assert cer(target.text, text) <= MAX_CER, text
    assert not words(text) & foreign_words(target, [a for a in arts + more if a is not target])

    # Search finds the article on its page 1, not the issue (a source, not public).
    word = sorted(
        words(target.text) - set().union(*(words(a.text) for a in arts if a is not target))
    )[0]
    hits = stack.mura_json("search", word)
    ids = [h["document_id"] for h in hits]
    assert article["document_id"] in ids and issue["document_id"] not in ids
    assert next(h for h in hits if h["document_id"] == article["document_id"])["pages"] == [1]

    rows = _report_rows(stack)
    assert (
        rows["newspaper_article"]["documents_year"]
        == before["newspaper_article"]["documents_year"] + 1
    )
    assert rows["newspaper_article"]["pages_year"] == before["newspaper_article"]["pages_year"] + 1
    assert rows["total"]["documents_year"] == before["total"]["documents_year"] + 1

    # Overlapping another article: a warning, allowed.
    proc = stack.mura(
        "articles", "clip", str(issue["document_id"]), "--region", f"1:{target.region}",
        "--title", "Again", "--type", "newspaper_article", "--json",
    )  # fmt: skip
    assert f"overlaps a region of article {article['document_id']}" in proc.stderr

    # An article continued on the next page keeps the order of its regions.
    first, second = more[1], arts[3]
    [across] = stack.mura_json(
        "articles", "clip", str(issue["document_id"]),
        "--region", f"2:{first.region}", "--region", f"1:{second.region}",
        "--title", "Жалғасы", "--type", "newspaper_article", "--wait",
    )  # fmt: skip
    assert across["status"] == "done" and across["pages"] == 2
    with pikepdf.open(across["pdf_path"]) as pdf:
        assert len(pdf.pages) == 2
    assert cer(first.text, pdf_page_text(across["pdf_path"], 1)) <= MAX_CER
    assert cer(second.text, pdf_page_text(across["pdf_path"], 2)) <= MAX_CER
    # Derived again on demand (after the issue's OCR changed): same text.
    again = stack.mura("articles", "rederive", str(issue["document_id"]), "--wait")
    assert f"article {article['document_id']}: 1 page(s) queued" in again.stdout
    assert f"article {across['document_id']}: 2 page(s) queued" in again.stdout
    [rederived] = stack.mura_json("jobs", str(across["job_id"]))
    assert rederived["status"] == "done"
    assert cer(first.text, pdf_page_text(rederived["pdf_path"], 1)) <= MAX_CER

    rows_after = _report_rows(stack)
    assert (
        rows_after["newspaper_article"]["pages_year"]
        == rows["newspaper_article"]["pages_year"] + 1 + 2
    )


def test_an_issue_is_public_only_when_decided() -> None:
    """``DEFAULT_ACCESS`` alone never opens an issue; a mark does (rights.decide)."""
    from mura.app.modules.rights.rights import DocumentFacts, decide

    today = date(2026, 1, 1)
    by_default = DocumentFacts(default_mark="library_owned", has_record=False, is_source=True)
    decision = decide(by_default, today)
    assert decision.status == "not_public"
    assert "source for its articles" in decision.reason
    marked = DocumentFacts(mark="library_owned", default_mark="none", is_source=True)
    assert decide(marked, today).status == "online"
    article = DocumentFacts(default_mark="library_owned", has_record=False)
    assert decide(article, today).status == "online"


# --- the clipping screen (Flask test client) ---------------------------------------------


def test_clip_screen_endpoints(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    from mura.app.extensions import db
    from mura.app.models import Document, Page, ScanJob
    from tests.auth_helpers import english, login, make_user

    arts = render_issue_page(tmp_path / "page.png", texts[:3])
    issue = _ingest_issue([tmp_path / "page.png"])
    page = db.session.scalar(db.select(Page).where(Page.document_id == issue))
    clipper = make_user("clipper")
    page.job.branch_id = clipper.branch_id  # the issue was scanned at the clipper's branch
    db.session.commit()
    client = english(request_ctx.test_client())
    assert login(client, "clipper").status_code == 302

    screen = client.get(f"/staff/articles/pages/{page.id}")
    assert screen.status_code == 200
    html = screen.get_data(as_text=True)
    assert 'id="clip-stage"' in html and 'data-width="2000"' in html
    proposals = json.loads(re.search(r'id="clip-proposals">(.*?)</script>', html, re.S).group(1))
    x, y, w, h = arts[0].box
    assert any(x <= p["x"] and p["x"] + p["w"] <= x + w for p in proposals)  # its text block
    assert client.get(f"/staff/jobs/{page.job_id}").get_data(as_text=True).count("Clip articles")

    image = client.get(f"/staff/articles/pages/{page.id}/image.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"

    text = client.get(f"/staff/articles/pages/{page.id}/text?x={x}&y={y}&w={w}&h={h}").json
    assert cer(arts[0].text, text["text"]) <= MAX_CER
    assert client.get(f"/staff/articles/pages/{page.id}/text?x=a").status_code == 400

    # Staff of another branch neither see the issue's pages here nor clip from them.
    make_user("elsewhere", branch_code="b02")
    db.session.commit()
    other = english(request_ctx.test_client())
    assert login(other, "elsewhere").status_code == 302
    assert other.get(f"/staff/articles/pages/{page.id}").status_code == 404
    assert other.get(f"/staff/articles/pages/{page.id}/image.jpg").status_code == 404
    refused_elsewhere = other.post(
        f"/staff/articles/documents/{issue}/articles",
        data={"regions": json.dumps([{"page": 1, "x": x, "y": y, "w": w, "h": h}]), "title": "T",
              "doc_type": "newspaper_article"},
    )  # fmt: skip
    assert refused_elsewhere.status_code == 403
    anonymous_screen = request_ctx.test_client().get(f"/staff/articles/pages/{page.id}")
    assert anonymous_screen.status_code in (302, 401)

    # A refused save comes back to the screen with the reason (the regions stay in the browser).
    bad = [{"page": 1, "x": 1990, "y": 10, "w": 50, "h": 50}]
    refused = client.post(
        f"/staff/articles/documents/{issue}/articles",
        data={"regions": json.dumps(bad), "title": "T", "doc_type": "newspaper_article"},
    )
    assert refused.status_code == 302 and "retry=1" in refused.location
    assert "outside page 1" in client.get(refused.location).get_data(as_text=True)

    regions = [{"page": 1, "x": x, "y": y, "w": w, "h": h}]
    saved = client.post(
        f"/staff/articles/documents/{issue}/articles",
        data={
            "regions": json.dumps(regions),
            "title": "Мақала",
            "authors": "Автор Бір\nАвтор Екі",
            "doc_type": "newspaper_article",
        },
    )
    assert saved.status_code == 302 and "/staff/jobs/" in saved.location
    article = db.session.scalars(
        db.select(Document).where(Document.doc_type == "newspaper_article")
    ).one()
    assert article.authors == ["Автор Бір", "Автор Екі"]

    # Its page says where it was printed; staff may open the issue's page, the public may not.
    _run_job(db.session.scalar(db.select(ScanJob.id).where(ScanJob.document_id == article.id)))
    shown = client.get(f"/documents/{article.id}").get_data(as_text=True)
    assert "Дала жаңалықтары, № 12. – 2024. – P. 1" in shown
    assert f"/read/{issue}/1" in shown and "See it on the newspaper page" in shown
    anonymous = english(request_ctx.test_client())
    public = anonymous.get(f"/documents/{article.id}").get_data(as_text=True)
    assert "P. 1" in public and f"/read/{issue}/1" not in public  # the issue is not public
    assert db.session.scalar(db.select(ScanJob.id).where(ScanJob.document_id == article.id))


def test_issue_ocred_again_reaches_its_articles(
    request_ctx: Flask, tmp_path: Path, texts: list[str]
) -> None:
    """After the issue is OCRed again, its articles are derived again from the new words."""
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization import jobs
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article

    arts = render_issue_page(tmp_path / "page.png", texts[:2])
    issue = _ingest_issue([tmp_path / "page.png"])
    done = clip_article(issue, [Region(1, *arts[0].box)], ArticleFields("T", "newspaper_article"))
    _run_job(done.job.id)
    db.session.expire_all()
    [before] = db.session.get(ScanJob, done.job.id).pages
    first_finish = before.finished_at

    issue_job = db.session.scalar(db.select(ScanJob.id).where(ScanJob.document_id == issue))
    assert jobs.reocr(issue_job) == 1
    _run_job(issue_job)  # its indexing queues the article's pages again
    db.session.expire_all()
    article_job = db.session.get(ScanJob, done.job.id)
    assert article_job.status == "running" and article_job.pages[0].state == "queued"
    _run_job(done.job.id)
    db.session.expire_all()
    [after] = db.session.get(ScanJob, done.job.id).pages
    assert after.state == "done" and after.finished_at > first_finish
    assert cer(arts[0].text, after.text) <= MAX_CER


# --- masters other than an upright PNG ----------------------------------------------------


@pytest.mark.parametrize(
    ("rotation", "skew"), [(0, 0.0), (0, 1.2), (90, 0.0), (180, -0.7), (270, 0.4)]
)
def test_ocr_to_stored_inverts_the_page_placement(rotation: int, skew: float) -> None:
    """The map from hOCR pixels back to the stored image undoes what the page PDF did."""
    from mura.workers.pipeline.clipping import SourceGeometry, ocr_to_stored
    from mura.workers.pipeline.geometry import placement

    size, dpi, ocr_dpi = (1700, 2300), (200.0, 200.0), 300.0
    place = placement(size, dpi, rotation, skew)
    a, b, c, d, e, f = place.image_matrix
    geometry = SourceGeometry(size, place.width_pt, place.height_pt, ocr_dpi, rotation, skew)
    back = ocr_to_stored(geometry)
    for px, py in ((0, 0), (1700, 2300), (123, 1999), (850, 40)):
        u, v = px / size[0], 1 - py / size[1]  # PDF image space: v = 1 at the top
        x_pt, y_pt = a * u + c * v + e, b * u + d * v + f
        hocr = (x_pt * ocr_dpi / 72, (place.height_pt - y_pt) * ocr_dpi / 72)
        sx, sy = back(hocr)
        assert abs(sx - px) < 1e-3 and abs(sy - py) < 1e-3  # the matrix has 6 decimals


def test_sideways_scan_and_jpeg_master(
    request_ctx: Flask, tmp_path: Path, texts: list[str]
) -> None:
    """A scan lying on its side (turned for OCR) and a JPEG cut by jpegtran on its blocks."""
    from PIL import Image

    from mura.app.core.files import local_path
    from mura.app.extensions import db
    from mura.app.models import ArticleRegion, Page, ScanJob
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article

    arts = render_issue_page(tmp_path / "upright.png", texts[:2])
    upright = Image.open(tmp_path / "upright.png")
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png", dpi=(300, 300))
    upright.save(tmp_path / "page.jpg", quality=92, dpi=(300, 300))
    issue = _ingest_issue([tmp_path / "sideways.png", tmp_path / "page.jpg"])
    pages = db.session.scalars(db.select(Page).where(Page.document_id == issue)).all()
    assert {p.seq: p.rotation for p in pages}[1] == 90  # turned clockwise to be upright

    x, y, w, h = arts[1].box
    width = upright.width
    sideways = Region(1, y, width - x - w, h, w)  # the same box on the stored, sideways scan
    unaligned = Region(2, x + 5, y + 3, w - 5, h - 3)  # not on the JPEG's 8-pixel blocks
    done = clip_article(issue, [sideways, unaligned], ArticleFields("T", "newspaper_article"))
    _run_job(done.job.id)
    db.session.expire_all()
    first, second = db.session.get(ScanJob, done.job.id).pages
    assert first.state == second.state == "done", (first.error_reason, second.error_reason)
    assert first.rotation == 90  # shown upright: the article's width across
    assert (round(first.width_pt, 1), round(first.height_pt, 1)) == (w * 72 / 300, h * 72 / 300)
    assert cer(arts[1].text, first.text) <= MAX_CER, first.text
    assert cer(arts[1].text, second.text) <= MAX_CER, second.text
    pdf = local_path(db.session.get(ScanJob, done.job.id).document.pdf_file)
    assert cer(arts[1].text, pdf_page_text(pdf, 1)) <= MAX_CER  # the text layer of the turned page

    region = db.session.scalars(db.select(ArticleRegion).where(ArticleRegion.position == 2)).one()
    assert (region.clip_x, region.clip_y) == (x + 5 - (x + 5) % 8, y + 3 - (y + 3) % 8)
    clipping = Image.open(local_path(second.source_file))
    assert clipping.format == "JPEG"
    master = Image.open(tmp_path / "page.jpg")
    box = (
        region.clip_x,
        region.clip_y,
        region.clip_x + clipping.width,
        region.clip_y + clipping.height,
    )
    assert clipping.convert("L").tobytes() == master.crop(box).convert("L").tobytes()

    # IIIF: the JPEG page is painted with its clipping's box of the issue page (from the block
    # corner); the turned page keeps its own clipping (the issue's PDF pixels are turned).
    from urllib.parse import urlsplit

    from tests.test_iiif import check_manifest

    article = db.session.get(ScanJob, done.job.id).document_id
    client = request_ctx.test_client()
    canvases = check_manifest(client, client.get(f"/iiif/{article}/manifest").get_json())
    bodies = [c["items"][0]["items"][0]["body"] for c in canvases.values()]
    cx, cy, cw, ch = box[0], box[1], box[2] - box[0], box[3] - box[1]
    assert urlsplit(bodies[0]["id"]).path.startswith(f"/read/{article}/1/image/")
    assert urlsplit(bodies[1]["id"]).path == (
        f"/iiif/image/{issue}/2/{cx},{cy},{cw},{ch}/max/0/default.jpg"
    )


def test_bag_carries_the_regions(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    """An issue and its article exported as a bag come back linked, in another installation."""
    from mura.app.extensions import db
    from mura.app.modules.digitization.articles import (
        ArticleFields,
        Region,
        clip_article,
        host_link,
    )
    from mura.app.modules.preservation import preservation
    from tests.conftest import make_app

    arts = render_issue_page(tmp_path / "page.png", texts[:2])
    issue = _ingest_issue([tmp_path / "page.png"])
    done = clip_article(
        issue, [Region(1, *arts[1].box)], ArticleFields("Мақала", "newspaper_article")
    )
    _run_job(done.job.id)
    article = done.job.document_id
    preservation.export_bag([issue, article], tmp_path / "bag")
    desc = json.loads(
        (
            tmp_path / "bag" / "data" / "documents" / str(article) / "metadata" / "mura.json"
        ).read_text(encoding="utf-8")
    )
    assert desc["regions"] == [
        {"position": 1, "source_document_id": issue, "source_page": 1, "x": arts[1].box[0],
         "y": arts[1].box[1], "w": arts[1].box[2], "h": arts[1].box[3],
         "clip_x": arts[1].box[0], "clip_y": arts[1].box[1]}
    ]  # fmt: skip
    db.session.remove()

    other = make_app(tmp_path / "other")
    with other.test_request_context():
        report = preservation.import_bag(tmp_path / "bag")
        host = host_link(report.documents[article])
        assert host is not None and host.document_id == report.documents[issue]
        assert host.pages == (1,)
        db.session.remove()
        db.engine.dispose()


def test_host_link_in_marc_oai_and_bag(
    request_ctx: Flask, tmp_path: Path, texts: list[str]
) -> None:
    """The article names its issue: MARC 21 773, RUSMARC 463, dc:source, METS areas on the page."""
    import bagit
    import pymarc
    from lxml import etree

    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord, Document
    from mura.app.modules.catalogue import metadata, records
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article
    from mura.app.modules.preservation import preservation
    from tests.catalogue_helpers import oai_schema
    from tests.test_alto import alto_schema
    from tests.test_bags_restore import METS, mets_schema

    arts = render_issue_page(tmp_path / "page.png", texts[:3])
    issue = _ingest_issue([tmp_path / "page.png"])
    (x, y, w, h), (x2, y2, w2, h2) = arts[1].box, arts[2].box
    done = clip_article(
        issue,
        [Region(1, x, y, w, h), Region(1, x2, y2, w2, h2)],
        ArticleFields("Мақала", "newspaper_article", ["Әуезов, Мұхтар"]),
    )
    _run_job(done.job.id)
    article = db.session.get(Document, done.job.document_id)
    assert article.access == "online"

    # MARC 21: 773 $t $g and $w, the issue's control number in the same scheme as 001.
    rec = metadata.marc21(
        article, "oai:t:document/9", host_identifier=lambda i: f"oai:t:document/{i}"
    )
    [field] = rec.get_fields("773")
    assert field.get_subfields("t", "g", "w") == [
        "Дала жаңалықтары, № 12", "2024, P. 1", f"oai:t:document/{issue}"
    ]  # fmt: skip

    # RUSMARC: 463 with the issue embedded ($1001, $1200, $1210) and the pages in $v.
    rus = metadata.unimarc(article, "mura:document:9", host_identifier=lambda i: f"mura:{i}")
    data = rus.as_marc()
    again = next(pymarc.MARCReader(data, to_unicode=True, force_utf8=True))
    assert again.leader[7] == "a" and again.leader[20:24] == "450 "
    [host] = again.get_fields("463")
    assert [(s.code, s.value) for s in host.subfields] == [
        ("1", f"001mura:{issue}"), ("1", "2001 "), ("a", "Дала жаңалықтары, № 12"),
        ("1", "210  "), ("d", "2024"), ("v", "P. 1"),
    ]  # fmt: skip
    assert again.get_fields("700")[0].get_subfields("a", "b", "4") == ["Әуезов", "Мұхтар", "070"]
    (tmp_path / "marc21.mrc").write_bytes(rec.as_marc())
    dump21 = subprocess.run(
        ["yaz-marcdump", "-i", "marc", "-o", "line", "-f", "UTF-8", str(tmp_path / "marc21.mrc")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"773 0  $t Дала жаңалықтары, № 12 $g 2024, P. 1 $w oai:t:document/{issue}" in (
        dump21.stdout
    ), dump21.stdout
    (tmp_path / "rus.mrc").write_bytes(data)
    dump = subprocess.run(
        ["yaz-marcdump", "-i", "marc", "-o", "line", "-f", "UTF-8", str(tmp_path / "rus.mrc")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "463  1 $1 001mura:" in dump.stdout and "$v P. 1" in dump.stdout, dump.stdout
    assert "yaz_marc" not in dump.stderr, dump.stderr  # yaz reads the directory as written
    report = records.import_marc(data, flavour="unimarc")  # read back by Mura's own import
    assert report.created == 1, report.problems
    back = db.session.scalars(
        db.select(CatalogueRecord).where(CatalogueRecord.external_id == "mura:document:9")
    ).one()
    assert (back.host_title, back.host_year, back.host_pages) == (
        "Дала жаңалықтары, № 12", 2024, "P. 1"
    )  # fmt: skip

    # OAI-PMH: dc:source and 773 $w, valid against the schemas.
    client = request_ctx.test_client()
    schema = oai_schema()
    ns = {"oai": "http://www.openarchives.org/OAI/2.0/", "marc": "http://www.loc.gov/MARC21/slim",
          "dc": "http://purl.org/dc/elements/1.1/"}  # fmt: skip
    answers = {}
    for prefix in ("oai_dc", "marc21"):
        response = client.get(
            "/oai", query_string={"verb": "GetRecord", "metadataPrefix": prefix,
                                  "identifier": f"oai:mura.local:document/{article.id}"},
        )  # fmt: skip
        root = etree.fromstring(response.data)
        schema.assertValid(root)
        assert root.find("oai:error", ns) is None, response.get_data(as_text=True)
        answers[prefix] = root
    sources = [e.text for e in answers["oai_dc"].iterfind(".//dc:source", ns)]
    assert sources == ["Дала жаңалықтары, № 12. – 2024. – P. 1"]
    control = answers["marc21"].find(".//marc:datafield[@tag='773']/marc:subfield[@code='w']", ns)
    assert control.text == f"oai:mura.local:document/{issue}"

    # The bag: METS areas on the issue's page image, ALTO of the article's words, RUSMARC.
    preservation.export_bag([article.id], tmp_path / "bag")
    bagit.Bag(str(tmp_path / "bag")).validate()
    folder = tmp_path / "bag" / "data" / "documents" / str(article.id)
    mets = etree.parse(str(folder / "metadata" / "mets.xml"))
    mets_schema().assertValid(mets)
    [group] = mets.findall(".//m:fileGrp[@USE='host']", METS)
    [image] = group.findall("m:file", METS)
    assert image.get("CHECKSUM") == hashlib.sha256((tmp_path / "page.png").read_bytes()).hexdigest()
    href = image.find("m:FLocat", METS).get(f"{{{METS['xlink']}}}href")
    assert href == f"mura:document:{issue}:page:1"
    areas = {
        div.get("ORDER"): div.find(f"m:fptr/m:area[@FILEID='{image.get('ID')}']", METS)
        for div in mets.iterfind(".//m:div[@TYPE='page']", METS)
    }
    assert (
        areas["1"].get("SHAPE") == "RECT" and areas["1"].get("COORDS") == f"{x},{y},{x + w},{y + h}"
    )
    assert areas["2"].get("COORDS") == f"{x2},{y2},{x2 + w2},{y2 + h2}"
    assert areas["1"].get("BEGIN") is None  # one image, not a frame of a multi-page TIFF
    for seq, target in (("0001", arts[1]), ("0002", arts[2])):
        alto = etree.parse(str(folder / "pages" / f"{seq}.alto.xml"))
        alto_schema().assertValid(alto)
        found = " ".join(
            s.get("CONTENT")
            for s in alto.iterfind(".//{http://www.loc.gov/standards/alto/ns-v4#}String")
        )
        assert cer(target.text, found) <= MAX_CER, found
    rus_bag = next(
        pymarc.MARCReader(
            (folder / "metadata" / "rusmarc.mrc").read_bytes(), to_unicode=True, force_utf8=True
        )
    )
    assert rus_bag.get_fields("463")[0].get_subfields("1")[0] == f"001mura:document:{issue}"
    article.rights_uri = "http://rightsstatements.org/vocab/InC/1.0/"  # 371: terms of use
    [terms] = metadata.unimarc(article, "mura:document:9").get_fields("371")
    assert terms.indicator1 == "1" and terms.get_subfields("a") == [article.rights_uri]
    db.session.rollback()


def test_gap_nearest_cuts_between_ink_never_through_it() -> None:
    from mura.workers.pipeline.clipping import gap_nearest

    lines = [(10, 40), (56, 86), (102, 132), (200, 230)]
    assert gap_nearest(lines, 240, 150) == 166  # pointed at the blank: cut there
    assert gap_nearest(lines, 240, 80) == 48  # pointed at a line: cut above it
    assert gap_nearest(lines, 240, 215) == 166
    assert gap_nearest(lines, 240, 20) == 48  # the first line: the nearest gap
    assert gap_nearest([(10, 100), (50, 150)], 160, 90) is None  # overlapping: one run of ink
    assert gap_nearest([], 100, 50) is None


def test_split_a_merged_proposal(request_ctx: Flask, tmp_path: Path, texts: list[str]) -> None:
    """Two articles one above the other, taken as one block: split at the line pointed at."""
    from mura.app.extensions import db
    from mura.app.models import Page
    from mura.app.modules.digitization.articles import (
        ArticleError,
        Region,
        selection_text,
        split_region,
    )
    from tests.auth_helpers import english, login, make_user

    arts = render_issue_page(tmp_path / "page.png", texts[:2])
    issue = _ingest_issue([tmp_path / "page.png"])
    page = db.session.scalar(db.select(Page).where(Page.document_id == issue))
    (x, y, w, h), (_x2, y2, _w2, h2) = arts[0].box, arts[1].box
    merged = Region(1, x, y, w, y2 + h2 - y)  # what layout analysis gave for both

    # Pointed at the second article's first line (a little below its top): the cut falls in
    # the blank between the two boxes' text, and each part reads as its article alone.
    top, bottom = split_region(page, merged, y2 + 40)
    assert (top.x, top.w, bottom.x, bottom.w) == (x, w, x, w)
    assert top.y == y and top.y + top.h == bottom.y and bottom.y + bottom.h == y2 + h2
    last_line_end = y + PADDING + len(arts[0].lines) * LINE_PX
    assert last_line_end < bottom.y < y2 + PADDING, (last_line_end, bottom.y, y2)  # in the blank
    assert cer(arts[0].text, selection_text(page, top)) <= MAX_CER
    assert cer(arts[1].text, selection_text(page, bottom)) <= MAX_CER

    # Pointed in the middle of the first article: cut between two of its lines, no word lost.
    upper, lower = split_region(page, merged, y + h // 2)
    halves = selection_text(page, upper).split() + selection_text(page, lower).split()
    assert _norm(" ".join(halves)) == _norm(selection_text(page, merged))
    assert selection_text(page, upper) and arts[0].text.startswith(
        _norm(selection_text(page, upper))[:20]
    )

    # Vertical (a column cut) is offered too; bad requests say why.
    left, right = split_region(page, merged, x + w // 2, axis="x")
    assert left.x + left.w == right.x and right.x + right.w == x + w
    for at, axis, message in (
        (y - 5, "y", "inside the region"),
        (y + 10, "z", "across"),
    ):
        with pytest.raises(ArticleError, match=message):
            split_region(page, merged, at, axis)
    with pytest.raises(ArticleError, match="on the page"):
        split_region(page, Region(1, 1900, 10, 400, 100), 50)

    # Over HTTP: JSON for the screen, a translated reason for a bad request.
    clipper = make_user("splitter")
    page.job.branch_id = clipper.branch_id
    db.session.commit()
    client = english(request_ctx.test_client())
    assert login(client, "splitter").status_code == 302
    url = f"/staff/articles/pages/{page.id}/split"
    answer = client.get(url, query_string={"x": x, "y": y, "w": w, "h": y2 + h2 - y, "at": y2 + 40})
    assert answer.status_code == 200
    assert answer.json["regions"] == [
        {"page": 1, "x": r.x, "y": r.y, "w": r.w, "h": r.h} for r in (top, bottom)
    ]
    refused = client.get(url, query_string={"x": x, "y": y, "w": w, "h": h, "at": y - 5})
    assert refused.status_code == 400 and "inside the region" in refused.json["error"]
    assert client.get(url, query_string={"x": "a"}).status_code == 400
    from flask_babel import refresh

    russian = request_ctx.test_client()
    russian.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    assert login(russian, "splitter").status_code == 302
    refresh()  # the request context of this test keeps the locale it chose first
    said = russian.get(url, query_string={"x": x, "y": y, "w": w, "h": h, "at": y - 5}).json[
        "error"
    ]
    assert "inside" not in said and "област" in said


def test_iiif_article_on_its_issue_page(
    request_ctx: Flask, tmp_path: Path, texts: list[str]
) -> None:
    """The article's canvas paints its region of the issue's page; the rest stays shut."""
    import io
    from urllib.parse import urlsplit

    from iiif_prezi3 import Manifest
    from PIL import Image, ImageChops, ImageStat

    from mura.app.extensions import db
    from mura.app.models import Document
    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article
    from tests.test_iiif import check_manifest

    arts = render_issue_page(tmp_path / "page.png", texts[:2])
    issue = _ingest_issue([tmp_path / "page.png"])
    done = clip_article(
        issue, [Region(1, *arts[1].box)], ArticleFields("Мақала", "newspaper_article")
    )
    _run_job(done.job.id)
    article = done.job.document_id
    client = request_ctx.test_client()  # the public
    manifest = client.get(f"/iiif/{article}/manifest").get_json()
    canvases = check_manifest(client, manifest)  # every body image loads, at its stated size
    Manifest(**manifest)
    [canvas] = canvases.values()
    body = canvas["items"][0]["items"][0]["body"]
    x, y, w, h = arts[1].box
    path = f"/iiif/image/{issue}/1/{x},{y},{w},{h}/max/0/default.jpg"
    assert urlsplit(body["id"]).path == path
    assert "service" not in body  # Mirador would tile the whole issue page into the canvas
    assert (canvas["width"], canvas["height"]) == (w, h)

    with client.get(path) as response:  # a file response: closed, or a ResourceWarning
        shown = Image.open(io.BytesIO(response.data)).convert("L")
    master = Image.open(tmp_path / "page.png").convert("L").crop((x, y, x + w, y + h))
    assert shown.size == master.size
    assert ImageStat.Stat(ImageChops.difference(shown, master)).mean[0] < 8  # JPEG, same pixels

    # The issue is not public: a tile, another region, another size of this one are refused.
    assert db.session.get(Document, issue).access == "not_public"
    for refused in (
        f"/iiif/image/{issue}/1/0,0,512,512/512,512/0/default.jpg",
        f"/iiif/image/{issue}/1/{x + 1},{y},{w},{h}/max/0/default.jpg",
        f"/iiif/image/{issue}/1/{x},{y},{w},{h}/{w // 2},/0/default.jpg",
        f"/iiif/image/{issue}/1/info.json",
        f"/iiif/image/{issue}/2/{x},{y},{w},{h}/max/0/default.jpg",
    ):
        assert client.get(refused).status_code == 404, refused
    # Nor is the region once the article is not public either.
    db.session.get(Document, article).status = "ocr_done"
    db.session.commit()
    assert client.get(path).status_code == 404


def test_bag_area_names_the_frame_of_a_multi_page_tiff(
    request_ctx: Flask, tmp_path: Path, texts: list[str]
) -> None:
    """An issue uploaded as one two-page TIFF: the article's METS area says which frame."""
    from lxml import etree
    from PIL import Image

    from mura.app.modules.digitization.articles import ArticleFields, Region, clip_article
    from mura.app.modules.preservation import preservation
    from tests.test_bags_restore import METS, mets_schema

    render_issue_page(tmp_path / "p1.png", texts[:1])
    arts = render_issue_page(tmp_path / "p2.png", texts[1:3])
    first, second = Image.open(tmp_path / "p1.png"), Image.open(tmp_path / "p2.png")
    first.save(
        tmp_path / "issue.tif", save_all=True, append_images=[second], compression="tiff_lzw",
        dpi=(300, 300),
    )  # fmt: skip
    issue = _ingest_issue([tmp_path / "issue.tif"])
    done = clip_article(
        issue, [Region(2, *arts[1].box)], ArticleFields("Мақала", "newspaper_article")
    )
    _run_job(done.job.id)
    preservation.export_bag([done.job.document_id], tmp_path / "bag")
    mets = etree.parse(
        str(tmp_path / "bag" / "data" / "documents" / str(done.job.document_id) / "metadata"
            / "mets.xml")
    )  # fmt: skip
    mets_schema().assertValid(mets)
    [area] = mets.findall(".//m:div[@TYPE='page']/m:fptr/m:area[@SHAPE='RECT']", METS)
    x, y, w, h = arts[1].box
    assert area.get("COORDS") == f"{x},{y},{x + w},{y + h}"
    assert (area.get("BEGIN"), area.get("END")) == ("2", "2")
