"""The main screens in Debian's Chromium: staff upload → live progress → public search.

Drives a real ``mura serve`` (waitress + the embedded worker) on a free port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import add_account, mura_cli, mura_env, mura_serve, scans_folder

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
STAFF, PASSWORD = "browser-staff", "e2e-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("browser-home")
    # This test is about OCR and search, not rights nor review: documents are library-owned
    # and published as soon as their OCR is done (test_workflow_browser.py reviews them).
    env = mura_env(home, DEFAULT_ACCESS="library_owned", REVIEW_REQUIRED="false")
    # The staff screens need an account: made the way an administrator makes one.
    mura_cli(env, "branches", "add", "central", "Central library", "--central")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    with mura_serve(env) as url:
        yield url


def test_upload_progress_and_public_search(
    server: str,
    browser,
    corpus: Path,
    tmp_path: Path,
) -> None:
    scans = scans_folder(corpus, tmp_path / "scans")
    broken = tmp_path / "p03-broken.png"
    broken.write_bytes(b"not an image at all")

    page = browser.new_page(locale="en-US")
    page.goto(server + "/staff/upload?lang=en")
    # Not logged in: the login form first, then back to the upload form.
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", STAFF)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/staff/upload?lang=en")
    page.fill("#title", "Өлкетану жинағы")
    page.fill("#authors", "Сейітов Б.")
    page.select_option("#doc_type", "book")
    page.check("#langs input[value=kaz]")
    page.check("#langs input[value=rus]")
    # A text file named .png is named on the form and nothing is sent: the fields stay.
    page.set_input_files("#files", [*sorted(str(p) for p in scans.iterdir()), str(broken)])
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#files-check li")
    assert "p03-broken.png" in page.locator("#files-check").inner_text()
    assert page.url.endswith("/staff/upload?lang=en")
    assert page.input_value("#title") == "Өлкетану жинағы"
    page.set_input_files("#files", sorted(str(p) for p in scans.iterdir()))
    page.wait_for_selector("#files-check", state="hidden")  # checked again, all usable
    page.click("form.upload button[type=submit]")

    page.wait_for_url("**/staff/jobs/*")
    assert page.locator("progress.job-progress").count() == 1
    page.wait_for_selector("#job-status[data-status=done]", timeout=240_000)
    page.screenshot(path=str(tmp_path / "job.png"), full_page=True)
    rows = page.locator("#pages tbody tr")
    assert rows.count() == 2
    assert page.locator("#pages tr.page-failed").count() == 0

    page.goto(server + "/")
    page.fill("#q", "кітапханалар")
    page.press("#q", "Enter")
    page.wait_for_selector(".hit")
    hit = page.locator(".hit").first
    assert "Өлкетану жинағы" in hit.inner_text()
    assert hit.locator(".page-hit").first.inner_text() == "1"
    assert hit.locator("mark").count() >= 1
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    # The document page opens, and its PDF is served.
    # The hit opens the reader; the document's own page links the PDF.
    document_id = re.search(r"/read/(\d+)", hit.locator("h2 a").get_attribute("href")).group(1)
    hit.locator("h2 a").click()
    page.wait_for_url(f"**/read/{document_id}**")
    page.goto(f"{server}/documents/{document_id}?lang=en")
    page.wait_for_selector("article.document")
    pdf_href = page.locator("a.button").first.get_attribute("href")
    response = page.request.get(server + pdf_href)
    assert response.ok and response.body()[:5] == b"%PDF-"

    # Logging out ends the staff session.
    page.click("#nav-logout")
    page.wait_for_selector("#nav-login")
    page.goto(server + "/staff/")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_language_switch(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(server + "/?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    page.click("nav.langs a[lang=kk]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "kk"
