"""The public screens fit a phone and a desktop, in Kazakh and Russian (issue 16 items 2, 4).

Each page is loaded in Debian's Chromium at 390 px (a phone) and 1366 px (a laptop) wide, and
must not scroll sideways: ``scrollWidth <= innerWidth``. The 404 page is the site's own, in the
reader's language.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import mura_env, mura_serve, scans_folder

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
WIDTHS = (390, 1366)
LANGS = ("kk", "ru")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[tuple[str, int]]:
    """A served installation with one OCR'd, published two-page book."""
    home = tmp_path_factory.mktemp("widths-home")
    env = mura_env(home, DEFAULT_ACCESS="library_owned", REVIEW_REQUIRED="false")
    scans = scans_folder(corpus, home.parent / "widths-scans")
    made = subprocess.run(
        [sys.executable, "-m", "mura.app.cli", "ingest", *sorted(map(str, scans.iterdir())),
         "--title", "Қарағанды облыстық әмбебап ғылыми кітапханасының жылдық есебі",
         "--type", "book", "--authors", "Сейітов Б.", "--year", "2023", "--wait", "--json"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    document_id = json.loads(made.stdout)["document_id"]
    with mura_serve(env, "--no-worker") as url:
        yield url, document_id


def _pages(document_id: int) -> list[str]:
    return [
        "/search?q=кітапхана",
        "/search?q=кітапханалардың+жылдық+есебі&sort=newest",
        # The range of years with its explanation, the author facet chosen (issue 19).
        "/search?q=кітапхана&from=19x9&to=1850&author=Сейітов+Б.",
        "/search?q=кітапхана&from=2000&to=2030&author=Сейітов+Б.",
        f"/documents/{document_id}",
        f"/read/{document_id}/1?q=кітапхана",
        "/collections",
        "/no-such-page",
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_public_page_scrolls_sideways(
    site: tuple[str, int], browser, width: int, lang: str, tmp_path: Path
) -> None:
    server, document_id = site
    page = browser.new_page(viewport={"width": width, "height": 800})
    too_wide = {}
    for path in _pages(document_id):
        sep = "&" if "?" in path else "?"
        page.goto(f"{server}{path}{sep}lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            too_wide[path] = scroll
            page.screenshot(path=str(tmp_path / f"{width}-{lang}-{len(too_wide)}.png"))
    page.close()
    assert not too_wide, f"wider than {width} px: {too_wide}"


def test_404_is_the_sites_page_in_the_readers_language(site: tuple[str, int], browser) -> None:
    server, _ = site
    page = browser.new_page(viewport={"width": 390, "height": 800})
    response = page.goto(f"{server}/documents/999999?lang=kk")
    assert response.status == 404
    assert page.locator("html").get_attribute("lang") == "kk"
    assert "Бет табылмады" in page.inner_text("main")
    page.click("#error-home")
    page.wait_for_url(f"{server}/")
    page.close()
