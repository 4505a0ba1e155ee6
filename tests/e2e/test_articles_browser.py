"""Clipping an article in Debian's Chromium (issue 17): draw two regions, accept a proposal, save.

A generated newspaper page (tests/newspaper.py) is ingested as an issue by ``mura ingest``;
staff open the clipping screen from the job page, draw a rectangle around two of its boxed
articles, accept the OCR's text block of a third as a proposal, move it up in the order with
the keyboard, see the live text, draw a fourth in two halves and merge them (M), and save.
The article is made by the running worker; the public search finds it, and its text is the
regions' in the order chosen.

Drives a real ``mura serve`` (waitress + the embedded worker) on a free port.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import add_account, log_in, mura_cli, mura_env, mura_serve
from tests.newspaper import paragraphs, render_issue_page
from tests.test_articles import MAX_CER, cer, pdf_page_text, words

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
PASSWORD = "browser-password-1"
STAFF = "clip-staff"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("articles-browser-home")
    env = mura_env(home, DEFAULT_ACCESS="library_owned", REVIEW_REQUIRED="false")
    mura_cli(env, "branches", "add", "central", "Central library", "--central")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    return env


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[str]:
    with mura_serve(env) as url:
        yield url


def mura_json(env: dict[str, str], *args: str) -> list[dict]:
    """``mura ARGS --json`` on the installation of ``env``, its JSON lines."""
    done = subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args, "--json"],
        env=env, cwd=ROOT, text=True, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def drag(page, stage_box: dict, box: tuple[int, int, int, int], width: int) -> None:
    """Draw a rectangle over ``box`` (stored pixels) on the page image with the mouse."""
    scale = stage_box["width"] / width
    x, y, w, h = box
    page.mouse.move(stage_box["x"] + (x + 4) * scale, stage_box["y"] + (y + 4) * scale)
    page.mouse.down()
    page.mouse.move(
        stage_box["x"] + (x + w - 4) * scale, stage_box["y"] + (y + h - 4) * scale, steps=8
    )
    page.mouse.up()


def test_draw_accept_order_save(
    server: str, env: dict[str, str], browser, corpus: Path, tmp_path: Path
) -> None:
    texts = paragraphs(corpus, 6)
    arts = render_issue_page(tmp_path / "issue.png", texts[:4])
    [issue] = mura_json(
        env, "ingest", str(tmp_path / "issue.png"), "--title", "Дала жаңалықтары, № 7",
        "--type", "newspaper_issue", "--year", "2024", "--wait",
    )  # fmt: skip
    assert issue["status"] == "done", issue

    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, server, STAFF, PASSWORD, f"/staff/jobs/{issue['job_id']}?lang=en")
    page.click("a.clip-link")
    page.wait_for_selector("#clip-image")
    page.wait_for_function("document.getElementById('clip-image').complete")
    stage = page.locator("#clip-stage").bounding_box()
    width = 2000

    drag(page, stage, arts[0].box, width)
    drag(page, stage, arts[1].box, width)
    assert page.locator("#clip-regions li").count() == 2

    # Accept the OCR's block inside the third article's box (a proposal, dashed).
    scale = stage["width"] / width
    x, y, w, h = arts[2].box
    for proposal in page.locator(".clip-proposal").all():
        b = proposal.bounding_box()
        if b is None:  # a proposal not laid out (hidden, or of no size): not one to click
            continue
        cx, cy = (b["x"] - stage["x"] + b["width"] / 2) / scale, (b["y"] - stage["y"]) / scale
        if x <= cx <= x + w and y <= cy <= y + h:
            proposal.click()
            break
    else:
        raise AssertionError("no proposal inside the third article")
    assert page.locator("#clip-regions li").count() == 3

    # The accepted block is chosen: "[" moves it up, before the second article.
    page.keyboard.press("[")
    first_word = sorted(words(arts[0].text) - words(arts[1].text) - words(arts[2].text))[0]
    page.wait_for_function(
        "(w) => document.getElementById('clip-text').textContent.toLowerCase().includes(w)",
        arg=first_word,
    )
    live = page.locator("#clip-text").inner_text()
    assert cer(arts[0].text, live.split("\n\n")[0]) <= MAX_CER

    # The fourth article drawn in two halves, then merged: choose the first half, press M.
    x, y, w, h = arts[3].box
    page.evaluate("window.scrollTo(0, 0)")
    stage = page.locator("#clip-stage").bounding_box()  # clicking the proposal scrolled
    drag(page, stage, (x, y, w, h // 2), width)
    drag(page, stage, (x, y + h // 2, w, h - h // 2), width)
    assert page.locator("#clip-regions li").count() == 5
    page.mouse.click(stage["x"] + (x + w / 2) * scale, stage["y"] + (y + h / 4) * scale)
    page.keyboard.press("m")
    assert page.locator("#clip-regions li").count() == 4

    page.fill("#clip-title", "Кітапхана күні")
    page.fill("#clip-authors", "Автор Бір")
    page.click("#clip-save")
    page.wait_for_url(re.compile(r"/staff/jobs/\d+"))
    page.wait_for_selector("#open-document", timeout=120_000)  # the job page reloads when done
    job_id = int(re.search(r"/staff/jobs/(\d+)", page.url).group(1))
    [article] = mura_json(env, "jobs", str(job_id))
    assert article["status"] == "done" and article["pages"] == 4, article
    expected = [arts[0], arts[2], arts[1], arts[3]]  # the order chosen on the screen
    for number, part in enumerate(expected, start=1):
        assert cer(part.text, pdf_page_text(article["pdf_path"], number)) <= MAX_CER

    # The article appears with its text: the public search finds it, not the issue.
    reader = browser.new_context(locale="en-US")
    public = reader.new_page()
    public.goto(f"{server}/search?q={first_word}&lang=en")
    public.wait_for_selector("main")
    titles = [t.inner_text() for t in public.locator(".hit h2").all()]
    assert "Кітапхана күні" in titles and not any("№ 7" in t for t in titles)
    reader.close()
    context.close()


def test_split_two_articles_taken_as_one(
    server: str, env: dict[str, str], browser, corpus: Path, tmp_path: Path
) -> None:
    """One rectangle over two articles, split at the second one's first line, saved as two pages.

    The rectangle stands for a block in which layout analysis ran two articles together; the
    cut goes into the blank between them, wherever on the first line staff click.
    """
    from tests.newspaper import PADDING

    texts = paragraphs(corpus, 6)
    arts = render_issue_page(tmp_path / "issue.png", texts[2:4])
    [issue] = mura_json(
        env, "ingest", str(tmp_path / "issue.png"), "--title", "Дала жаңалықтары, № 8",
        "--type", "newspaper_issue", "--year", "2024", "--wait",
    )  # fmt: skip
    assert issue["status"] == "done", issue
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, server, STAFF, PASSWORD, f"/staff/jobs/{issue['job_id']}?lang=en")
    page.click("a.clip-link")
    page.wait_for_selector("#clip-image")
    page.wait_for_function("document.getElementById('clip-image').complete")
    width = 2000
    (x, y, w, _h), (_x2, y2, _w2, h2) = arts[0].box, arts[1].box
    stage = page.locator("#clip-stage").bounding_box()
    drag(page, stage, (x, y, w, y2 + h2 - y), width)
    assert page.locator("#clip-regions li").count() == 1
    [drawn] = json.loads(page.locator("#clip-regions-field").input_value())

    page.click("#clip-regions li .clip-split")
    assert "second article begins" in page.locator("#clip-status").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    stage = page.locator("#clip-stage").bounding_box()
    scale = stage["width"] / width
    line = y2 + PADDING + 12  # on the second article's first line
    page.mouse.click(stage["x"] + (x + w / 3) * scale, stage["y"] + line * scale)
    page.wait_for_function("() => document.querySelectorAll('#clip-regions li').length === 2")
    parts = json.loads(page.locator("#clip-regions-field").input_value())
    top, bottom = parts
    assert top["y"] == drawn["y"] and top["y"] + top["h"] == bottom["y"]
    assert bottom["y"] + bottom["h"] == drawn["y"] + drawn["h"]
    assert top["x"] == bottom["x"] == drawn["x"] and top["w"] == bottom["w"] == drawn["w"]
    last_line = y + PADDING + len(arts[0].lines) * 46
    assert last_line < bottom["y"] < y2 + PADDING, (last_line, bottom, y2)
    assert page.locator("#clip-status").inner_text() == ""
    # Escape leaves split mode without cutting.
    page.click("#clip-regions li:nth-child(2) .clip-split")
    page.keyboard.press("Escape")
    page.mouse.click(stage["x"] + (x + w / 3) * scale, stage["y"] + (y2 + h2 - 60) * scale)
    assert page.locator("#clip-regions li").count() == 2

    page.fill("#clip-title", "Екі мақала")
    page.click("#clip-save")
    page.wait_for_url(re.compile(r"/staff/jobs/\d+"))
    page.wait_for_selector("#open-document", timeout=120_000)
    job_id = int(re.search(r"/staff/jobs/(\d+)", page.url).group(1))
    [article] = mura_json(env, "jobs", str(job_id))
    assert article["status"] == "done" and article["pages"] == 2, article
    for number, part in enumerate(arts, start=1):
        assert cer(part.text, pdf_page_text(article["pdf_path"], number)) <= MAX_CER
    context.close()


def test_mirador_shows_the_article_on_its_issue_page(
    server: str, env: dict[str, str], browser, corpus: Path, tmp_path: Path
) -> None:
    """Mirador 4 (another origin) paints the article's canvas from the issue's page region.

    The issue is not public: Mirador gets the region (the article's pixels) and nothing else of
    the issue's image service (no info.json, no tile).
    """
    import functools
    import threading
    import urllib.request
    from http.server import ThreadingHTTPServer

    from PIL import Image

    from tests.e2e.conftest import free_port
    from tests.e2e.test_iiif_viewers_browser import MIRADOR_JS, VIEWER_PAGE, _Quiet

    texts = paragraphs(corpus, 6)
    arts = render_issue_page(tmp_path / "issue.png", texts[4:6])
    [issue] = mura_json(
        env, "ingest", str(tmp_path / "issue.png"), "--title", "Дала жаңалықтары, № 9",
        "--type", "newspaper_issue", "--year", "2024", "--wait",
    )  # fmt: skip
    [clipped] = mura_json(
        env, "articles", "clip", str(issue["document_id"]), "--region", f"1:{arts[1].region}",
        "--title", "Мирадор мақаласы", "--type", "newspaper_article", "--wait",
    )  # fmt: skip
    article = clipped["document_id"]
    root = tmp_path / "viewer"
    root.mkdir()
    (root / "mirador.min.js").symlink_to(MIRADOR_JS)
    manifest = f"{server}/iiif/{article}/manifest"
    (root / "index.html").write_text(VIEWER_PAGE % json.dumps(manifest), encoding="utf-8")
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_Quiet, directory=str(root))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(locale="en-US", viewport={"width": 1200, "height": 900})
        issue_images: dict[str, int] = {}
        base = f"{server}/iiif/image/{issue['document_id']}/"
        page.on(
            "response",
            lambda r: issue_images.__setitem__(r.url, r.status) if r.url.startswith(base) else None,
        )
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
        page.get_by_text("Мирадор мақаласы").first.wait_for(timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('.openseadragon-canvas canvas') !== null",
            timeout=30_000,
        )
        x, y, w, h = arts[1].box
        region = f"{base}1/{x},{y},{w},{h}/max/0/default.jpg"
        with urllib.request.urlopen(manifest) as answer:
            body = json.load(answer)["items"][0]["items"][0]["items"][0]["body"]
        assert body["id"] == region, body
        for _ in range(60):
            if region in issue_images:
                break
            page.wait_for_timeout(500)
        page.wait_for_timeout(1500)  # OpenSeadragon draws the image it received
        assert issue_images == {region: 200}, issue_images  # the region, nothing else
        shot = tmp_path / "mirador-article.png"
        page.locator(".openseadragon-canvas").screenshot(path=str(shot))
        ink = Image.open(shot).convert("L").point(lambda v: 255 if v < 100 else 0)
        assert ink.getbbox() is not None  # the article's text is drawn on the canvas
        page.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
