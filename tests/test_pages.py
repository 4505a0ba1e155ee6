"""Fixing a document's pages: add, replace, reorder, remove; only what changed is OCRed again.

Documents are real uploads of tiny synthetic pages (tests/synthetic.py), OCRed by real
Tesseract. The tasks a change sends after its commit are caught at the broker's door and run in
this process, so a test counts exactly which pages were OCRed again.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from mura.app.core import files, task_names
from mura.app.extensions import db
from mura.app.models import ArticleRegion, AuditEvent, Document, Page, ScanJob
from mura.app.modules.administration.accounts import get_user
from mura.app.modules.digitization import pages as page_service
from mura.app.modules.digitization import workflow
from mura.app.modules.digitization.ingest import Upload
from mura.app.modules.discovery import discovery
from mura.workers import tasks
from tests.auth_helpers import branch, logged_in, make_user
from tests.conftest import Stack, make_app
from tests.synthetic import FONT, ingest_pages, run_job


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple]]:
    """Tasks sent after a commit, caught instead of reaching the (worker-less) broker."""
    caught: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        "mura.app.core.queue.send_now", lambda name, *args: caught.append((name, args))
    )
    return caught


@pytest.fixture
def people(app: Flask) -> Iterator[dict[str, object]]:
    """Staff of "central" (where the books are made), staff of "b02", a reviewer; the services'
    messages are translated, so they run in a request (in English)."""
    branch("central")
    branch("b02", central=False)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield {
            "staff-a": make_user("staff-a", "staff", "central"),
            "staff-b": make_user("staff-b", "staff", "b02"),
            "reviewer": make_user("reviewer", "reviewer", None),
        }


def run_sent(sent: list[tuple[str, tuple]]) -> list[int]:
    """Run the caught tasks (and those they send) as the worker would; returns OCRed page ids."""
    ocred: list[int] = []
    runners = {
        task_names.OCR_PAGE: tasks.ocr_page,
        task_names.ASSEMBLE_PDF: tasks.assemble_pdf,
        task_names.INDEX_JOB: tasks.index_job,
        task_names.REINDEX_DOCUMENT: tasks.reindex_document,
    }
    while sent:
        name, args = sent.pop(0)
        if name == task_names.OCR_PAGE:
            ocred.append(args[0])
        if name in runners:
            runners[name].run(*args)
    db.session.expire_all()
    return ocred


def scan(folder: Path, name: str, words: str) -> Path:
    """A 600 x 200 page image at 300 dpi saying ``words``."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(image).text((30, 70), words, font=ImageFont.truetype(str(FONT), 44), fill=0)
    path = folder / name
    image.save(path, dpi=(300, 300))
    return path


def upload(path: Path) -> Upload:
    return Upload(path.name, io.BytesIO(path.read_bytes()))


def book(tmp_path: Path, sent: list, pages: int = 3) -> ScanJob:
    """A finished, published book of staff of "central" (its upload's tasks run here)."""
    job = ingest_pages(tmp_path / "book", "Pages book", pages, user=get_user("staff-a"))
    run_job(job)
    sent.clear()  # the upload's own tasks, run just now
    db.session.expire_all()
    return db.session.get(ScanJob, job.id)


def texts(job_id: int) -> list[str]:
    db.session.expire_all()
    pages = db.session.scalars(select(Page).where(Page.job_id == job_id).order_by(Page.seq))
    return [" ".join(page.best_text.split()) for page in pages]


def pdf_pages(document_id: int) -> int:
    document = db.session.get(Document, document_id)
    with pikepdf.open(files.local_path(document.pdf_file)) as pdf:
        return len(pdf.pages)


def found(word: str, document_id: int) -> list[int]:
    hits = discovery.search(word, per_page=50).hits
    return [p for hit in hits if hit.document_id == document_id for p in hit.pages]


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_add_pages_at_a_position_ocrs_only_them(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent)
    before = {p.id: p.finished_at for p in job.pages}
    new = scan(tmp_path / "new", "insert.png", "Zanzibar harbour")
    change = page_service.add_pages(job.id, [upload(new)], 2, people["staff-a"])
    assert change.queued == 1 and not change.held_for_review
    ocred = run_sent(sent)
    assert len(ocred) == 1 and ocred[0] not in before  # the others were not OCRed again
    assert texts(job.id) == ["Mura page 1", "Zanzibar harbour", "Mura page 2", "Mura page 3"]
    job = db.session.get(ScanJob, job.id)
    assert job.status == "done"
    assert {p.id: p.finished_at for p in job.pages if p.id in before} == before
    assert job.document.page_count == 4 and pdf_pages(job.document_id) == 4
    assert found("Zanzibar", job.document_id) == [2]
    assert found("Mura", job.document_id) == [1, 3, 4]
    (event,) = events("page.add")
    assert event.username == "staff-a" and event.details["position"] == 2


def test_replace_ocrs_that_page_only_and_drops_its_correction(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    from mura.app.modules.digitization.corrections import correct_page_text

    job = book(tmp_path, sent)
    second, third = job.pages[1], job.pages[2]
    correct_page_text(second.id, "Mura page two, corrected", "staff-a")
    correct_page_text(third.id, "Mura page three, corrected", "staff-a")
    run_sent(sent)
    rescan = scan(tmp_path / "rescan", "rescan.png", "Kilimanjaro summit")
    page_service.replace_page(second.id, upload(rescan), people["staff-a"])
    assert run_sent(sent) == [second.id]
    # The rescan's own text; the other page keeps its hand correction.
    assert texts(job.id) == ["Mura page 1", "Kilimanjaro summit", "Mura page three, corrected"]
    assert found("Kilimanjaro", job.document_id) == [2]
    (event,) = events("page.replace")
    assert event.details["new_file"] == "rescan.png" and event.details["seq"] == 2


def test_move_and_remove_renumber_without_ocr(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent)
    old_pdf = job.document.pdf_file_id
    third = job.pages[2]
    page_service.move_page(third.id, 1, people["staff-a"])
    assert run_sent(sent) == []  # no page OCRed: only the PDF and the index follow
    assert texts(job.id) == ["Mura page 3", "Mura page 1", "Mura page 2"]
    document = db.session.get(Document, job.document_id)
    assert document.pdf_file_id != old_pdf and pdf_pages(document.id) == 3
    # The IIIF manifest follows the new order.
    manifest = app.test_client().get(f"/iiif/{document.id}/manifest").get_json()
    labels = [c["label"]["none"][0] for c in manifest["items"]]
    assert labels == ["1", "2", "3"]

    page_service.remove_page(job.pages[1].id, people["staff-a"])  # "Mura page 1"
    assert run_sent(sent) == []
    assert texts(job.id) == ["Mura page 3", "Mura page 2"]
    assert db.session.get(Document, job.document_id).page_count == 2
    assert pdf_pages(job.document_id) == 2
    manifest = app.test_client().get(f"/iiif/{job.document_id}/manifest").get_json()
    assert len(manifest["items"]) == 2
    assert found("Mura", job.document_id) == [1, 2]
    assert [e.details["new_seq"] for e in events("page.move")] == [1]
    assert [e.details["seq"] for e in events("page.remove")] == [2]


def test_bad_files_and_bad_moments_are_refused_with_nothing_lost(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent, 2)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a scan")
    good = scan(tmp_path / "ok", "ok.png", "Fine page")
    with pytest.raises(page_service.PageEditError, match="notes.txt"):
        page_service.add_pages(job.id, [upload(good), upload(junk)], None, people["staff-a"])
    assert texts(job.id) == ["Mura page 1", "Mura page 2"] and sent == []
    page_service.remove_page(job.pages[0].id, people["staff-a"])
    run_sent(sent)
    job = db.session.get(ScanJob, job.id)
    with pytest.raises(page_service.PageEditError, match="at least one page"):
        page_service.remove_page(job.pages[0].id, people["staff-a"])
    # A job under way is not changed.
    job = db.session.get(ScanJob, job.id)
    page_service.add_pages(job.id, [upload(good)], None, people["staff-a"])
    with pytest.raises(page_service.PageEditError, match="still being processed"):
        page_service.move_page(job.pages[0].id, 2, people["staff-a"])
    run_sent(sent)
    assert texts(job.id) == ["Mura page 2", "Fine page"]


def test_a_clipped_page_is_neither_replaced_nor_removed(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent, 2)
    page = job.pages[0]
    article = Document(title="Clipped story", doc_type="newspaper_article", langs="eng")
    db.session.add(article)
    db.session.flush()
    db.session.add(
        ArticleRegion(
            article_id=article.id,
            position=1,
            source_document_id=job.document_id,
            source_page_id=page.id,
            x=0,
            y=0,
            w=100,
            h=100,
            clip_x=0,
            clip_y=0,
        )  # fmt: skip
    )
    db.session.commit()
    with pytest.raises(page_service.PageEditError, match="Clipped story"):
        page_service.remove_page(page.id, people["staff-a"])
    rescan = scan(tmp_path / "r", "r.png", "Other")
    with pytest.raises(page_service.PageEditError, match="Clipped story"):
        page_service.replace_page(page.id, upload(rescan), people["staff-a"])
    # Moving keeps the region on its page (regions name the page, not its number).
    page_service.move_page(page.id, 2, people["staff-a"])
    run_sent(sent)
    region = db.session.scalar(select(ArticleRegion))
    assert region.source_page_id == page.id and region.source_page.seq == 2
    # An article's own pages are changed on the clipping screen only.
    with pytest.raises(page_service.PageEditError):
        page_service.editable_job(ScanJob(document=article, langs="eng"), people["staff-a"])


def test_only_the_documents_branch_changes_its_pages(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent, 2)
    first = job.pages[0]
    for name in ("staff-b", "reviewer"):
        with pytest.raises(page_service.PageEditDenied):
            page_service.move_page(first.id, 2, people[name])
        client = logged_in(app, name)
        assert (
            client.post(f"/staff/pages/{first.id}/move", data={"direction": "down"}).status_code
            == 403
        )
        assert client.post(f"/staff/pages/{first.id}/remove").status_code == 403
        page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
        assert "add-pages-form" not in page
    assert texts(job.id) == ["Mura page 1", "Mura page 2"] and sent == []
    assert events("page.move") == []


def test_the_job_page_tools_work_without_script(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent, 2)
    client = logged_in(app, "staff-a")
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "add-pages-form" in page and 'name="direction" value="down"' in page
    first, second = job.pages[0].id, job.pages[1].id
    response = client.post(f"/staff/pages/{first}/move", data={"direction": "down"})
    assert response.status_code == 302
    run_sent(sent)
    assert texts(job.id) == ["Mura page 2", "Mura page 1"]
    new = scan(tmp_path / "w", "web.png", "Samarkand")
    with new.open("rb") as handle:
        response = client.post(
            f"/staff/jobs/{job.id}/pages/add",
            data={"position": "1", "files": [(handle, "web.png")]},
            content_type="multipart/form-data",
        )
    assert response.status_code == 302
    assert len(run_sent(sent)) == 1
    assert texts(job.id) == ["Samarkand", "Mura page 2", "Mura page 1"]
    assert "Remove page 3" in client.get(f"/staff/pages/{first}/remove").get_data(as_text=True)
    assert client.post(f"/staff/pages/{second}/remove").status_code == 302
    run_sent(sent)
    assert texts(job.id) == ["Samarkand", "Mura page 1"]
    bad = client.post(f"/staff/jobs/{job.id}/pages/add", data={"position": "x"})
    assert bad.status_code == 302
    assert "must be a page number" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)


def test_correction_screen_shows_the_page_image(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    job = book(tmp_path, sent, 1)
    page = job.pages[0]
    client = logged_in(app, "staff-b")  # another branch reads (and cannot save)
    html = client.get(f"/staff/pages/{page.id}/text?zoom=1").get_data(as_text=True)
    assert 'id="page-image"' in html and 'class="zoomed"' in html
    src = html.split('id="page-image"')[1].split('src="')[1].split('"')[0].replace("&amp;", "&")
    image = client.get(src)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert client.get(f"/staff/pages/{page.id}/image/777.jpg").status_code == 404
    assert app.test_client().get(src).status_code in (302, 401, 403)  # not for the public


def test_published_document_waits_for_approval_again(tmp_path: Path, sent: list) -> None:
    application = make_app(tmp_path / "home", REVIEW_REQUIRED=True)
    with application.app_context():
        branch("central")
        staff = make_user("staff-a", "staff", "central")
        admin = make_user("admin", "admin", None)
        job = book(tmp_path, sent, 2)
        document = job.document
        workflow.submit(document, staff)
        workflow.approve(document, admin)
        run_sent(sent)
        assert found("Mura", document.id) == [1, 2]
        change = page_service.move_page(job.pages[0].id, 2, staff)
        run_sent(sent)
        assert change.held_for_review
        assert db.session.get(Document, document.id).status == "reviewed"
        assert found("Mura", document.id) == []  # out of public search until approved
        db.session.remove()
        db.engine.dispose()


def wait_done(stack: Stack, job_id: int, timeout: float = 240) -> ScanJob:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.get(ScanJob, job_id)
        if job.status in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not finished: {job.status}")


def test_add_and_move_pages_with_a_real_worker(stack: Stack, tmp_path: Path) -> None:
    """On both stacks (SQLite + folder broker; PostgreSQL + Redis) with a real worker."""
    with stack.app.app_context():
        branch("central")
        staff = get_user("pages-staff") or make_user("pages-staff", "staff", "central")
        job = ingest_pages(tmp_path / "s", f"Stack pages {stack.name}", 2, user=staff)
        job = wait_done(stack, job.id)
        old = {p.id: p.finished_at for p in job.pages}
        new = scan(tmp_path / "n", "n.png", "Tashkent bazaar")
        page_service.add_pages(job.id, [upload(new)], 1, staff)
        job = wait_done(stack, job.id)
        assert job.status == "done"
        assert texts(job.id) == ["Tashkent bazaar", "Mura page 1", "Mura page 2"]
        assert {p.id: p.finished_at for p in job.pages if p.id in old} == old
        page_service.move_page(job.pages[0].id, 3, staff)
        job = wait_done(stack, job.id)
        assert texts(job.id) == ["Mura page 1", "Mura page 2", "Tashkent bazaar"]
        assert found("Tashkent", job.document_id) == [3]
        db.session.remove()


def test_two_changes_at_once_only_one_wins(
    app: Flask, tmp_path: Path, people: dict, sent: list
) -> None:
    """The second of two changes that both saw a finished job is refused by the database."""
    from sqlalchemy import update

    job = book(tmp_path, sent, 2)
    first = job.pages[0]
    assert job.status == "done"  # what the second change saw
    db.session.execute(  # the first change's claim, made meanwhile by another request
        update(ScanJob).where(ScanJob.id == job.id).values(status="running")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    with pytest.raises(page_service.PageEditError, match="still being processed"):
        page_service.move_page(first.id, 2, people["staff-a"])
    assert texts(job.id) == ["Mura page 1", "Mura page 2"] and sent == []
