"""Deep zoom in Mura's own reader (issue 15, item 4): a large page at full resolution in tiles.

A page wider than the reader's widest image (2600 px; here a 4,000 × 5,600 px page at 400 dpi)
gets one more zoom step, "1:1": the page as rows of IIIF Image API tiles, each an ``<img
loading="lazy">`` with its size, so the browser fetches only the tiles near what is on screen in
the scrolled frame — no script, no ``style`` attribute, and the search highlights (an SVG over
the whole figure) stay on their words. Chromium checks that only some tiles load until the frame
is scrolled (``tests/e2e/test_iiif_viewers_browser.py`` shows the same tiles in Mirador).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw, ImageFont

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import Document, Page, ScanJob
from tests.conftest import make_app

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WIDTH, HEIGHT, DPI = 4000, 5600, 400


def big_page_pdf(folder: Path, mode: str = "L") -> Path:
    """A one-page PDF of a 4,000 × 5,600 px scan at 400 dpi with words in its four corners."""
    image = Image.new(mode, (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 120)
    for x, y in (
        (100, 100),
        (WIDTH - 1400, 100),
        (100, HEIGHT - 300),
        (WIDTH - 1400, HEIGHT - 300),
    ):
        draw.text((x, y), "Қарағанды", font=font, fill="black" if mode == "L" else "red")
    path = folder / "big.pdf"
    image.save(path, "PDF", resolution=DPI)
    return path


def publish_big_page(app: Flask, folder: Path, mode: str = "L") -> int:
    """A published document of one big page (its page PDF; no OCR needed); returns its id."""
    with app.app_context():
        pdf = files.keep_file(big_page_pdf(folder, mode), "page_pdf", mime="application/pdf")
        db.session.flush()
        document = Document(
            title="Газет", authors=[], doc_type="newspaper_article", langs="kaz",
            access="online", access_reason="test", pdf_file_id=pdf.id, page_count=1,
            status="published",
        )  # fmt: skip
        job = ScanJob(document=document, langs="kaz", options={}, status="done")
        db.session.add_all([document, job])
        db.session.flush()
        page = Page(
            job=job, document_id=document.id, seq=1, source_file_id=pdf.id, frame=0,
            state="done", text="Қарағанды", pdf_file_id=pdf.id,
            width_pt=WIDTH * 72 / DPI, height_pt=HEIGHT * 72 / DPI, dpi=float(DPI),
        )  # fmt: skip
        db.session.add(page)
        db.session.commit()
        return document.id


def _tiles(html: str) -> list[str]:
    return re.findall(
        r'<img src="([^"]*/iiif/image/[^"]+)" width="\d+" height="\d+" loading="lazy"', html
    )


def test_a_large_page_gets_a_full_resolution_step_in_lazy_tiles(tmp_path: Path) -> None:
    app = make_app(tmp_path / "home", DEFAULT_ACCESS="public_domain")
    document_id = publish_big_page(app, tmp_path)
    client: FlaskClient = app.test_client()
    with app.app_context():
        top = client.get(f"/read/{document_id}/1?zoom=3").get_data(as_text=True)
        assert 'zoom=4"' in top and 'class="zoom-in"' in top  # one more step
        html = client.get(f"/read/{document_id}/1?zoom=4").get_data(as_text=True)
        assert 'class="scan zoom-4 tiled"' in html and "1:1" in html
        tiles = _tiles(html)
        assert len(tiles) == 8 * 11  # ceil(4000 / 512) × ceil(5600 / 512)
        assert 'class="zoom-in"' not in html  # the last step
        assert " style=" not in html.split('<div class="scan-viewport"')[1].split("</figure>")[0]
        # Every tile is one the image service answers: the last one, at the corner.
        last = client.get(tiles[-1])
        assert last.status_code == 200 and last.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(last.data)).size == (
            4000 - 7 * 512,
            5600 - 10 * 512,
        )
        last.close()
        # A page no wider than the widest image keeps the four steps.
        page = db.session.get(Page, 1)
        page.width_pt, page.height_pt = 2000 * 72 / DPI, 2800 * 72 / DPI
        db.session.commit()
        small = client.get(f"/read/{document_id}/1?zoom=4").get_data(as_text=True)
        assert "tiled" not in small and not _tiles(small)
