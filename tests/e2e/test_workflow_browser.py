"""The review workflow in Debian's Chromium, with review required (the product default).

Staff of a branch upload two corpus pages and watch the progress bar finish, check the OCR and
send the document for approval: the public search does not find it yet. A reviewer finds it in
the review queue, approves and publishes it: the public search finds it, on the right page.
An administrator sees the queue on the dashboard and opens the annual report.

Drives a real ``mura serve`` (waitress + the embedded worker) on a free port.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    add_account,
    log_in,
    log_out,
    mura_cli,
    mura_env,
    mura_serve,
    scans_folder,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
PASSWORD = "browser-password-1"
STAFF, REVIEWER, ADMIN = "wf-staff", "wf-reviewer", "wf-admin"
TITLE = "Кітапханалар жылнамасы"
#: On the second page only (p09_book_sans.png), not on the first (p01_book.png).
WORD = "цифрландыру"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("workflow-browser-home")
    # Rights are not the point here: documents are library-owned. Review is required.
    env = mura_env(home, DEFAULT_ACCESS="library_owned", REVIEW_REQUIRED="true")
    mura_cli(env, "branches", "add", "central", "Central library", "--central")
    mura_cli(env, "branches", "add", "b02", "Branch 2")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    add_account(env, REVIEWER, PASSWORD, "reviewer")
    add_account(env, ADMIN, PASSWORD, "admin")
    with mura_serve(env) as url:
        yield url


def public_hits(browser, server: str) -> list:
    """What an anonymous reader finds for :data:`WORD`: (title, first page hit) per hit."""
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{server}/search?q={WORD}&lang=en")
        page.wait_for_selector("main")
        return [
            (hit.locator("h2").inner_text(), hit.locator(".page-hit").first.inner_text())
            for hit in page.locator(".hit").all()
        ]
    finally:
        context.close()


def test_staff_check_reviewer_publishes(
    server: str,
    browser,
    corpus: Path,
    tmp_path: Path,
) -> None:
    scans = scans_folder(corpus, tmp_path / "scans")

    # Staff of the central library upload and watch the progress bar finish.
    staff = browser.new_context(locale="en-US")
    page = staff.new_page()
    log_in(page, server, STAFF, PASSWORD, "/staff/upload?lang=en")
    page.set_input_files("#files", sorted(str(p) for p in scans.iterdir()))
    page.fill("#title", TITLE)
    page.select_option("#doc_type", "book")
    page.check("#langs input[value=kaz]")
    page.check("#langs input[value=rus]")
    page.click("form.upload button[type=submit]")
    page.wait_for_url("**/staff/jobs/*")
    job_url = page.url
    assert page.locator("progress.job-progress").count() == 1
    page.wait_for_selector("#job-status[data-status=done]", timeout=240_000)
    # The page reloads itself when the job ends: now the document waits for its check.
    page.wait_for_selector("#document-status[data-status=ocr_done]", timeout=30_000)
    assert page.locator("progress.job-progress").get_attribute("value") == "2"
    assert "OCR done, to be checked" in page.locator("#document-status").inner_text()
    assert page.locator("#wf-approve").count() == 0  # staff do not approve
    page.click("#wf-submit")
    page.wait_for_selector("#document-status[data-status=reviewed]")
    assert "Sent for approval." in page.locator(".flash").inner_text()
    page.screenshot(path=str(tmp_path / "checked.png"), full_page=True)
    log_out(page)
    staff.close()

    # Not public yet: the search does not find it.
    assert public_hits(browser, server) == []

    # The reviewer finds it in the review queue and approves it.
    reviewer = browser.new_context(locale="en-US")
    page = reviewer.new_page()
    log_in(page, server, REVIEWER, PASSWORD)
    page.click("#nav-review")
    page.wait_for_selector("#review-counts")
    central = page.locator('#review-counts tr[data-branch="central"]')
    assert central.locator("td.to-approve").inner_text() == "1"
    waiting = page.locator("#to-approve")
    assert TITLE in waiting.inner_text()
    waiting.get_by_role("link", name=TITLE).click()
    page.wait_for_url(job_url)
    assert page.locator("#wf-submit").count() == 0  # reviewers do not check for staff
    page.click("#wf-approve")
    page.wait_for_selector("#document-status[data-status=published]")
    assert "Approved and published" in page.locator(".flash").inner_text()
    log_out(page)
    reviewer.close()

    # Published: the public search finds it (once the worker has indexed it), on page 2.
    deadline = time.monotonic() + 90
    while not (hits := public_hits(browser, server)) and time.monotonic() < deadline:
        time.sleep(2)  # the public search is rate-limited per client (60 per minute)
    assert hits == [(TITLE, "2")], hits


def test_administrator_dashboard_and_annual_report(server: str, browser, tmp_path: Path) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    log_in(page, server, ADMIN, PASSWORD, "/admin/reports/dashboard?lang=en")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("#review-counts").count() == 1
    assert page.locator("#review-total td.to-approve").inner_text() == "0"

    page.goto(f"{server}/admin/reports/?lang=en")
    table = page.locator("#report-table")
    table.wait_for()
    headers = table.locator("thead th")
    assert headers.count() == 9  # the row label and eight columns
    assert headers.nth(1).inner_text() == "Documents this year"
    rows = [r.get_attribute("data-row") for r in table.locator("tbody tr").all()]
    assert rows == ["total", "newspaper_article", "journal_article", "book_article", "book"]
    total = table.locator('tbody tr[data-row="total"]')
    assert total.locator("th").inner_text() == "Total"
    # The book reviewed in the first test (if it ran) or nothing: counted from the data.
    assert re.fullmatch(r"[01]", total.locator('td[data-col="documents_year"]').inner_text())
    assert table.locator('tfoot tr[data-row="megabytes_year"]').count() == 1
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    context.close()
