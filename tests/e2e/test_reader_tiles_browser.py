"""Deep zoom in Mura's own reader, in Debian's Chromium: at "1:1" a large page is shown in IIIF
tiles that load only as the frame is scrolled to them (no script; tests/test_reader_tiles.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import make_app
from tests.e2e.conftest import mura_env, mura_serve
from tests.test_reader_tiles import publish_big_page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_reader_loads_only_the_tiles_scrolled_to(tmp_path: Path, browser) -> None:
    home = tmp_path / "home"
    app = make_app(home, DEFAULT_ACCESS="public_domain")
    document_id = publish_big_page(app, tmp_path)
    with app.app_context():
        from mura.app.extensions import db

        db.engine.dispose()
    env = mura_env(home, DEFAULT_ACCESS="public_domain", SECRET_KEY="test")
    with mura_serve(env, "--no-worker") as server:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        tiles: dict[str, int] = {}
        page.on(
            "response",
            lambda r: tiles.__setitem__(r.url, r.status) if "/iiif/image/" in r.url else None,
        )
        page.goto(f"{server}/read/{document_id}/1?zoom=4&lang=en")
        page.wait_for_load_state("networkidle")
        first = dict(tiles)
        assert first and all(status == 200 for status in first.values()), first
        assert len(first) < 8 * 11 / 2, len(first)  # the top left of the page, not all of it
        corner = "/3584,5120,416,480/416,480/0/default.jpg"
        assert not any(url.endswith(corner) for url in first)
        # Scrolling the frame to the bottom right brings that corner's tiles.
        page.evaluate(
            "() => { const v = document.querySelector('.scan-viewport');"
            " v.scrollTo(v.scrollWidth, v.scrollHeight); }"
        )
        deadline = time.monotonic() + 20
        while not any(url.endswith(corner) for url in tiles) and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert any(url.endswith(corner) for url in tiles), sorted(tiles)
        assert len(tiles) < 8 * 11, len(tiles)
        image = page.locator(f"img[src$='{corner}']")
        page.wait_for_function(
            "s => { const i = document.querySelector(`img[src$='${s}']`);"
            " return i && i.complete && i.naturalWidth === 416; }",
            arg=corner,
        )
        box = image.bounding_box()
        assert box and round(box["width"]) == 416
        page.screenshot(path=str(tmp_path / "reader-tiles.png"))
        page.close()
