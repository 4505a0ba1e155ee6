"""A document that would stay hidden says so on the review screens, in Kazakh and Russian.

With no rights of the library's own (``DEFAULT_ACCESS=none``, the product default) and review
required, a checked document awaits approval. In Debian's Chromium at 1366 px and 390 px:

- its job page (the staff's review screen) shows the rights outlook as a warning
  (``#public-outlook``, ``data-access="not_public"``) with the reason in the page's language;
- the reviewer's queue marks it "stays hidden" in the page's language;
- neither page scrolls sideways (``scrollWidth <= innerWidth``), nor do the rights, audit and
  report screens of the administrator.

The search results, document, reader and 404 pages are covered by test_widths_browser.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import add_account, log_in, mura_cli, mura_env, mura_serve, scans_folder

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
PASSWORD = "browser-password-1"
STAFF, REVIEWER, ADMIN = "ro-staff", "ro-reviewer", "ro-admin"
WIDTHS = (390, 1366)
#: What each language says (kk/ru catalogues): the warning's reason and the queue's badge.
SAYS = {
    "kk": {"reason": "белгісі жоқ", "badge": "жасырын қалады", "after": "Мақұлдаудан кейін:"},
    "ru": {"reason": "Нет отметки", "badge": "останется скрытым", "after": "После утверждения:"},
}


@dataclass
class Site:
    """The served installation and the ids of its document awaiting approval."""

    url: str
    job_id: int
    document_id: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("outlook-home")
    env = mura_env(home, DEFAULT_ACCESS="none", REVIEW_REQUIRED="true")
    mura_cli(env, "branches", "add", "central", "Орталық кітапхана", "--central")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    add_account(env, REVIEWER, PASSWORD, "reviewer")
    add_account(env, ADMIN, PASSWORD, "admin")
    scans = scans_folder(corpus, home.parent / "outlook-scans", ("p01_book.png",))
    made = subprocess.run(
        [sys.executable, "-m", "mura.app.cli", "ingest", *map(str, scans.iterdir()),
         "--title", "Қарқаралы өңірінің тарихы", "--type", "book", "--authors", "Мұқанов С.",
         "--year", "2019", "--user", STAFF, "--wait", "--json"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    job = json.loads(made.stdout)
    with mura_serve(env, "--no-worker") as url:
        yield Site(url, job["job_id"], job["document_id"])


def _fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.fixture(scope="module")
def submitted(site: Site, browser) -> Site:
    """The staff member checks the text and sends it for approval (once for the module)."""
    page = browser.new_page()
    log_in(page, site.url, STAFF, PASSWORD, f"/staff/jobs/{site.job_id}")
    page.click("#wf-submit")
    page.wait_for_selector('#document-status[data-status="reviewed"]')
    page.close()
    return site


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ("kk", "ru"))
def test_the_review_screens_warn_that_it_stays_hidden(
    submitted: Site, browser, lang: str, width: int, tmp_path: Path
) -> None:
    site = submitted
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, site.url, REVIEWER, PASSWORD, f"/staff/jobs/{site.job_id}")
    page.goto(f"{site.url}/staff/jobs/{site.job_id}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    warning = page.locator("#public-outlook")
    assert warning.get_attribute("data-access") == "not_public"
    assert "warning" in (warning.get_attribute("class") or "")
    assert warning.is_visible()
    text = warning.inner_text()
    assert SAYS[lang]["after"] in text and SAYS[lang]["reason"] in text, text
    assert "No public-domain" not in text and "not_public" not in text
    too_wide = {}
    scroll, inner = _fits(page)
    if scroll > inner:
        too_wide["job"] = scroll
        page.screenshot(path=str(tmp_path / f"job-{lang}-{width}.png"), full_page=True)

    page.goto(f"{site.url}/staff/review/?lang={lang}")
    row = page.locator(f'#to-approve tr:has(a[href*="/{site.document_id}"])').first
    badge = row.locator(".stays-hidden")
    assert badge.is_visible(), page.inner_text("main")
    assert SAYS[lang]["badge"] in badge.inner_text()
    scroll, inner = _fits(page)
    if scroll > inner:
        too_wide["review"] = scroll
        page.screenshot(path=str(tmp_path / f"review-{lang}-{width}.png"), full_page=True)
    context.close()
    assert not too_wide, f"wider than {width} px in {lang}: {too_wide}"


@pytest.mark.parametrize("width", WIDTHS)
def test_administration_screens_fit_in_russian(submitted: Site, browser, width: int) -> None:
    """The screens this work changed (audit log, rights, report) fit a phone and a laptop."""
    site = submitted
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, site.url, ADMIN, PASSWORD, "/admin/audit")
    too_wide = {}
    for path in ("/admin/audit", f"/admin/rights/documents/{site.document_id}",
                 "/admin/reports/", "/admin/reports/dashboard"):  # fmt: skip
        page.goto(f"{site.url}{path}?lang=ru")
        scroll, inner = _fits(page)
        if scroll > inner:
            too_wide[path] = scroll
    context.close()
    assert not too_wide, f"wider than {width} px: {too_wide}"
