"""The web screens without a worker: forms, errors, what the public may and may not reach."""

from __future__ import annotations

import io
import json
import re
from html import unescape
from pathlib import Path

import flask_babel
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.models import Document, Page, ScanJob, User
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app


@pytest.fixture
def png() -> bytes:
    """A small real PNG (the request body stays in memory: Werkzeug's test client does not
    close the temporary file it spools large bodies to)."""
    out = io.BytesIO()
    Image.new("L", (400, 600), 255).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


@pytest.fixture
def staff(logged_in_client: FlaskClient) -> FlaskClient:
    """The staff screens need a login (tests/auth_helpers.py)."""
    return logged_in_client


def _upload(client: FlaskClient, files: list[tuple[bytes, str]], **fields: str):
    data = {"title": "Қарағанды", "doc_type": "book", "langs": "kaz+rus", "authors": "", **fields}
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/staff/upload", data=data, content_type="multipart/form-data")


def test_home_and_empty_search(client: FlaskClient) -> None:
    assert client.get("/").status_code == 200
    response = client.get("/search?q=кітап")
    assert response.status_code == 200
    assert 'id="result-count"' in response.get_data(as_text=True)


def test_upload_creates_a_job_in_page_order(staff: FlaskClient, png: bytes) -> None:
    response = _upload(staff, [(png, "page10.png"), (png, "page2.png"), (png, "page1.png")])
    assert response.status_code == 302
    job = db.session.scalars(db.select(ScanJob)).one()
    assert response.headers["Location"].endswith(f"/staff/jobs/{job.id}")
    names = [p.source_file.original_name for p in job.pages]
    assert names == ["page1.png", "page2.png", "page10.png"]
    assert [p.state for p in job.pages] == ["queued", "queued", "queued"]
    api = staff.get(f"/api/jobs/{job.id}").get_json()
    assert (api["pages_total"], api["pages_failed"], api["status"]) == (3, 0, "queued")
    assert "pdf_path" not in api


def test_files_that_cannot_be_pages_are_refused_on_the_form(staff: FlaskClient, png: bytes) -> None:
    """A text file renamed .png, an empty file, a 0-byte PDF: refused, nothing saved (issue 16)."""
    response = _upload(
        staff,
        [(png, "good.png"), (b"just some text\n", "notes.png"), (b"", "empty.png"),
         (b"", "scan.pdf")],
        title="Кеңес кезеңі",
    )  # fmt: skip
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Not accepted, nothing was saved" in html
    for named in ("notes.png (Not an image)", "empty.png (Empty file)", "scan.pdf (Empty file)"):
        assert named in html
    assert "good.png" not in html.split("nothing was saved")[1].split("Remove")[0]
    assert 'value="Кеңес кезеңі"' in html  # the fields stay as they were
    assert db.session.scalars(db.select(ScanJob)).all() == []
    assert db.session.scalars(db.select(Document)).all() == []


def test_upload_errors_are_shown_on_the_form(staff: FlaskClient, png: bytes) -> None:
    response = _upload(staff, [])
    assert response.status_code == 400
    assert "at least one page image" in response.get_data(as_text=True)
    response = _upload(staff, [(png, "a.png")], langs="kaz+klingon")
    assert response.status_code == 400
    assert "klingon" in response.get_data(as_text=True)
    response = _upload(staff, [(png, "a.png")], title="  ")
    assert response.status_code == 400
    assert db.session.scalars(db.select(ScanJob)).all() == []


def test_unfinished_documents_are_not_public(
    staff: FlaskClient, client: FlaskClient, png: bytes
) -> None:
    _upload(staff, [(png, "a.png")])
    document_id = db.session.scalars(db.select(Page.document_id)).first()
    assert client.get(f"/documents/{document_id}").status_code == 404
    assert client.get(f"/documents/{document_id}/pdf").status_code == 404
    assert client.get("/documents/999999/pdf").status_code == 404


def test_titles_are_escaped(staff: FlaskClient, png: bytes) -> None:
    _upload(
        staff, [(png, "a.png")], title='<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    )
    body = staff.get("/staff/").get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;" in body


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_forms_need_a_csrf_token(tmp_path: Path, png: bytes) -> None:
    app: Flask = make_app(tmp_path / "csrf", WTF_CSRF_ENABLED=True)
    with app.app_context():
        staff = logged_in(app, make_user("csrf-tester"))  # logs in with the form's token
        response = _upload(staff, [(png, "a.png")])
        assert response.status_code == 400
        assert db.session.scalars(db.select(ScanJob)).all() == []
        db.engine.dispose()


def test_ui_language_follows_the_reader(client: FlaskClient) -> None:
    assert 'lang="ru"' in client.get("/?lang=ru").get_data(as_text=True)
    # the choice is kept in a cookie
    assert 'lang="ru"' in client.get("/").get_data(as_text=True)
    assert 'lang="en"' in client.get("/", headers={"Cookie": "lang=en"}).get_data(as_text=True)


def test_job_states_and_failures_speak_the_readers_language(staff: FlaskClient, png: bytes) -> None:
    """Codes ("queued", "empty_file") never reach the screen: labels come from the catalogue."""
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    # The form refuses an empty file; `mura ingest` (bulk work) keeps it as a failed page.
    fields = DocumentFields("Қарағанды", "book", [], "kaz+rus")
    uploader = db.session.scalars(db.select(User)).first()  # the logged-in staff member
    job = ingest(
        [Upload("page1.png", io.BytesIO(png)), Upload("page2.png", io.BytesIO(b""))],
        fields,
        user=uploader,
    )
    flask_babel.refresh()  # the test client shares one app context, where the locale is cached
    html = staff.get(f"/staff/jobs/{job.id}?lang=ru").get_data(as_text=True)
    assert "В очереди" in html and "Пустой файл" in html
    assert 'data-status="queued"' in html  # the code stays for scripts and tests
    [labels] = re.findall(r'data-labels="([^"]*)"', html)  # for the live update (job.js)
    assert json.loads(unescape(labels))["queued"] == "В очереди"
    flask_babel.refresh()
    listing = staff.get("/staff/?lang=kk").get_data(as_text=True)
    assert "Кезекте" in listing and ">queued<" not in listing
