"""The upload form (issue 16 item 9): OCR languages ticked by name, stored as Tesseract codes.

The browser side (drag and drop, the check before sending) is in
tests/e2e/test_upload_form_browser.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from PIL import Image

from mura.app.extensions import db
from mura.app.models import ScanJob
from tests.auth_helpers import logged_in, make_user


@pytest.fixture
def png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (400, 600), 255).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def _post(client: FlaskClient, png: bytes, **fields: object):
    data: dict[str, object] = {"title": "Қарағанды", "doc_type": "book", **fields}
    data["files"] = [(io.BytesIO(png), "p1.png")]
    return client.post("/staff/upload", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("lang", "names"),
    [
        ("kk", ["қазақ тілі", "орыс тілі", "қырғыз тілі", "ағылшын тілі"]),
        ("ru", ["казахский", "русский", "киргизский", "английский"]),
        ("en", ["Kazakh", "Russian", "Kyrgyz", "English"]),
    ],
)
def test_languages_are_checkboxes_named_in_the_readers_language(
    logged_in_client: FlaskClient, lang: str, names: list[str]
) -> None:
    refresh()
    html = logged_in_client.get(f"/staff/upload?lang={lang}").get_data(as_text=True)
    boxes = re.findall(
        r'<input (?:checked )?id="langs-\d" name="langs" type="checkbox" value="(\w+)"', html
    )
    assert boxes == ["kaz", "rus", "kir", "eng"]
    labels = re.findall(r'<label class="check"><input[^>]*> ([^<]+)</label>', html)
    assert labels == names
    ticked = re.findall(
        r'<input checked id="langs-\d" name="langs" type="checkbox" value="(\w+)"', html
    )
    assert ticked == ["kaz", "rus"]  # the default, as the old text field's "kaz+rus"
    assert "image/webp" in html and "image/bmp" in html and ".webp" in html and ".bmp" in html


def test_ticked_languages_are_stored_joined_as_before(
    logged_in_client: FlaskClient, png: bytes
) -> None:
    assert _post(logged_in_client, png, langs=["kir", "rus"]).status_code == 302
    job = db.session.scalars(db.select(ScanJob)).one()
    assert job.langs == "kir+rus"  # as ticked; a browser sends them in the table's order
    assert job.document.langs == job.langs


def test_a_script_posting_joined_codes_still_works(
    logged_in_client: FlaskClient, png: bytes
) -> None:
    assert _post(logged_in_client, png, langs="kaz+eng").status_code == 302
    assert db.session.scalars(db.select(ScanJob)).one().langs == "kaz+eng"


def test_no_language_ticked_is_an_error_that_keeps_the_fields(
    logged_in_client: FlaskClient, png: bytes
) -> None:
    response = _post(logged_in_client, png, authors="Сейітов Б.", year="1998")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose at least one OCR language." in html
    assert 'value="Қарағанды"' in html and "Сейітов Б." in html and 'value="1998"' in html
    assert db.session.scalars(db.select(ScanJob)).first() is None


def test_an_uninstalled_language_is_refused_by_name(
    logged_in_client: FlaskClient, png: bytes
) -> None:
    response = _post(logged_in_client, png, langs=["kaz", "xyz"])
    assert response.status_code == 400
    assert "OCR language “xyz” is not installed" in response.get_data(as_text=True)
    assert re.search(
        r'<input checked id="langs-0" name="langs" type="checkbox" value="kaz"',
        response.get_data(as_text=True),
    )


def _held_token(html: str) -> str:
    return re.search(r'id="held" name="held" type="hidden" value="([^"]*)"', html).group(1)


def test_files_are_kept_for_the_next_try_after_a_field_error(
    app, logged_in_client: FlaskClient, png: bytes
) -> None:
    """No title: the form comes back with the scans kept; the next send uses them."""
    data = {"title": "", "doc_type": "book", "langs": ["kaz"]}
    data["files"] = [(io.BytesIO(png), "page10.png"), (io.BytesIO(png), "page2.png")]
    first = logged_in_client.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert first.status_code == 400
    html = first.get_data(as_text=True)
    assert "Kept from your last try" in html and "page10.png, page2.png" in html
    token = _held_token(html)
    assert token and (Path(app.config["WORK_DIR"]) / "held-uploads" / token).is_dir()

    # Another account cannot use the token; nothing is sent without files.
    make_user("other-staff", "staff", "central")
    other = logged_in(app, "other-staff")
    stolen = other.post(
        "/staff/upload",
        data={"title": "X", "doc_type": "book", "langs": ["kaz"], "held": token},
        content_type="multipart/form-data",
    )
    assert stolen.status_code == 400 and "Kept from your last try" not in stolen.get_data(True)

    # One more page chosen now; the kept ones go with it, in page order.
    data = {"title": "Қарағанды", "doc_type": "book", "langs": ["kaz"], "held": token}
    data["files"] = [(io.BytesIO(png), "page1.png")]
    second = logged_in_client.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert second.status_code == 302
    job = db.session.scalars(db.select(ScanJob)).one()
    assert [p.source_file.original_name for p in job.pages] == [
        "page1.png",
        "page2.png",
        "page10.png",
    ]
    assert not any((Path(app.config["WORK_DIR"]) / "held-uploads").iterdir())


def test_bad_files_are_not_kept(logged_in_client: FlaskClient, png: bytes) -> None:
    data = {"title": "Қарағанды", "doc_type": "book", "langs": ["kaz"]}
    data["files"] = [(io.BytesIO(png), "good.png"), (io.BytesIO(b"text"), "notes.png")]
    response = logged_in_client.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "notes.png" in html and "Kept from your last try" not in html
    assert _held_token(html) == ""
