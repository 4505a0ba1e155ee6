"""Fixing a document's pages in Debian's Chromium, in Kazakh and Russian, at 390 and 1366 px.

Staff of the document's branch add a page before page 1, move it down, OCR it again and open
the correction screen with the page image beside the text; no screen scrolls sideways
(``scrollWidth <= innerWidth``). Drives a real ``mura serve`` with its embedded worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import add_account, log_in, mura_cli, mura_env, mura_serve
from tests.synthetic import render_page, render_pages

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
PASSWORD = "browser-password-1"
STAFF = "pages-staff"
CASES = [("kk", 390), ("kk", 1366), ("ru", 390), ("ru", 1366)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict, Path]]:
    """A served installation with one two-page book per case, uploaded by staff of "central"."""
    home = tmp_path_factory.mktemp("pages-browser-home")
    env = mura_env(home, DEFAULT_ACCESS="library_owned", REVIEW_REQUIRED="false")
    mura_cli(env, "branches", "add", "central", "Central library", "--central")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    jobs = {}
    for lang, width in CASES:
        scans = render_pages(home.parent / f"scans-{lang}-{width}", 2)
        made = subprocess.run(
            [sys.executable, "-m", "mura.app.cli", "ingest", *map(str, scans),
             "--title", f"Беттер {lang} {width}", "--type", "book", "--lang", "eng",
             "--user", STAFF, "--wait", "--json"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        jobs[(lang, width)] = json.loads(made.stdout)["job_id"]
    with mura_serve(env) as url:
        yield url, jobs, home.parent


#: The elements that stick out of the window on the right (to name them when a test fails).
WIDE = """Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' +
                      Math.round(e.getBoundingClientRect().right))"""


def no_sideways_scroll(page) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url}: {scroll} px in {inner} px: {page.evaluate(WIDE)}"


def wait_done(page, url: str, timeout: float = 180) -> None:
    """Reload the job page until its job is done (the live progress reloads it too)."""
    deadline = time.monotonic() + timeout
    while page.locator("#job-status").get_attribute("data-status") != "done":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(1)
        page.goto(url)


def files_in_order(page) -> list[str]:
    return [cell.inner_text() for cell in page.locator("#pages tbody tr td:nth-child(2)").all()]


@pytest.mark.parametrize(("lang", "width"), CASES)
def test_add_move_reocr_and_correct_with_the_image(
    site: tuple[str, dict, Path], browser, lang: str, width: int
) -> None:
    server, jobs, scratch = site
    job_id = jobs[(lang, width)]
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, server, STAFF, PASSWORD)
    job_url = f"{server}/staff/jobs/{job_id}?lang={lang}"
    page.goto(job_url)
    assert page.locator("html").get_attribute("lang") == lang
    no_sideways_scroll(page)
    assert files_in_order(page) == ["page-001.png", "page-002.png"]

    # Add a page before page 1 (a plain form in a <details>).
    new = render_page(scratch / f"added-{lang}-{width}.png", 9)
    page.locator("#add-pages summary").click()
    page.set_input_files("#add-files", str(new))
    page.fill("#add-position", "1")
    no_sideways_scroll(page)
    page.locator("#add-pages-form button[type=submit]").click()
    page.wait_for_url(f"{server}/staff/jobs/{job_id}*")
    wait_done(page, job_url)
    assert files_in_order(page) == [new.name, "page-001.png", "page-002.png"]

    # Move it down one place with its row's button.
    page.locator("#pages tbody tr").first.locator("button[value=down]").click()
    page.wait_for_load_state()
    wait_done(page, job_url)
    assert files_in_order(page) == ["page-001.png", new.name, "page-002.png"]
    no_sideways_scroll(page)

    # OCR it again (page 2 only).
    page.locator("details.reocr summary").click()
    page.fill("#reocr-pages", "2")
    page.locator("details.reocr button[type=submit]").click()
    page.wait_for_load_state()
    wait_done(page, job_url)
    row = page.locator("#pages tbody tr").nth(1)
    assert "done" in (row.get_attribute("class") or "")

    # The correction screen shows the page image beside (or, on a phone, above) the text.
    page_id = row.get_attribute("data-page-id")
    page.goto(f"{server}/staff/pages/{page_id}/text?lang={lang}")
    page.wait_for_function(
        "document.getElementById('page-image').complete"
        " && document.getElementById('page-image').naturalWidth > 0"
    )
    assert "Mura page 9" in page.input_value("#text")
    image_box = page.locator("#page-image").bounding_box()
    text_box = page.locator("#text").bounding_box()
    if width >= 1000:
        assert image_box["x"] + image_box["width"] <= text_box["x"] + 1  # side by side
    else:
        assert image_box["y"] + image_box["height"] <= text_box["y"] + 1  # stacked
    no_sideways_scroll(page)
    page.locator("a.zoom-step[data-zoom='2']").click()  # zoomed in place: the frame scrolls
    page.wait_for_function("document.getElementById('page-image').classList.contains('zoomed')")
    no_sideways_scroll(page)
    page.goto(f"{server}/staff/pages/{page_id}/replace?lang={lang}")
    no_sideways_scroll(page)
    context.close()
