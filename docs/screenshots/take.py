"""Take the screenshots of docs/screenshots/ from a fresh demo (README, "What it looks like").

Usage (from the checkout, with Mura installed and Debian's Chromium)::

    python docs/screenshots/take.py            # writes docs/screenshots/*.png
    python docs/screenshots/take.py --keep     # and leaves the demo's MURA_HOME to look at

What it does: ``mura demo --no-serve`` in a new MURA_HOME (the sample collection, the demo
accounts), ``mura serve`` with its embedded worker on a free port, then two more uploads made
here from rendered pages: a book with no rights of the library's own, sent for approval (the
review screen's warning), and a newspaper issue (the clipping screen). When the OCR is done,
Chromium (Playwright with ``/usr/bin/chromium``, nothing downloaded) takes each screen at
1366 px, and two at 390 px, in Kazakh (the annual report in Russian); pngquant shrinks them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("MURA_CHROMIUM", "/usr/bin/chromium")
STAFF = ("staff", "staff-demo")
ADMIN = ("admin", "admin-demo")
#: Finds the demo's three documents (Kazakh, Russian, Kyrgyz): "library" in each language.
LIBRARY = "кітапхана OR библиотека OR китепкана"
HIDDEN_TEXT = (
    "Қарқаралы өңірінің тарихы\n"
    "Қарқаралы тауларының етегіндегі қала 1824 жылы округтік приказ ретінде құрылды. "
    "Өлкетанушылар жинаған естеліктер мен мұрағат құжаттары осы кітапқа енді."
)
ISSUE_TEXT = (
    "ОРТАЛЫҚ ҚАЗАҚСТАН\n"
    "Кітапхана жаңалықтары. Облыстық кітапханада өлкетану қорын цифрландыру жұмысы басталды. "
    "Алғашқы мыңдаған бет оқырмандарға ашылды.\n"
    "Шахтерлер күні. Қарағанды шахтерлері кәсіби мерекесін атап өтті. Ардагерлерге "
    "құрмет көрсетілді, жас мамандар марапатталды."
)


def main() -> None:
    """Build the demo, serve it, take the screenshots, optimize them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder of the PNG files")
    parser.add_argument("--keep", action="store_true", help="keep the demo's MURA_HOME")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mura-screenshots-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(MURA_HOME=str(home), OMP_THREAD_LIMIT="1", MURA_SEARCH_RATE_LIMIT="1000 per minute")
    try:
        mura(env, "demo", "--no-serve")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mura.app.cli", "serve", "--port", str(port)],
            env=env, stdout=open(home / "serve.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url)
            hidden = _upload(env, home, "Қарқаралы өңірінің тарихы", "book", HIDDEN_TEXT)
            issue = _upload(env, home, "Орталық Қазақстан, 1998, № 45", "newspaper_issue",
                            ISSUE_TEXT)  # fmt: skip
            _wait_for_jobs(env)
            take(url, args.out, hidden, issue)
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=60)
        _optimize(args.out)
    finally:
        if args.keep:
            print(f"MURA_HOME kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def mura(env: dict[str, str], *args: str) -> str:
    """Run ``mura ARGS`` (it must succeed); returns its output."""
    done = subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args],
        env=env, capture_output=True, text=True, check=True, timeout=900,
    )  # fmt: skip
    return done.stdout


def _upload(env: dict[str, str], home: Path, title: str, doc_type: str, text: str) -> dict:
    """A one-page upload made from ``text`` rendered like the demo's pages, by the demo staff."""
    from mura.app.modules.digitization.demo import render_page

    path = home / f"{doc_type}.png"
    path.write_bytes(render_page(text, 1))
    out = mura(env, "ingest", str(path), "--title", title, "--type", doc_type, "--lang", "kaz",
               "--user", STAFF[0], "--wait", "--json")  # fmt: skip
    return json.loads(out)


def _wait_for_jobs(env: dict[str, str], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [json.loads(line) for line in mura(env, "jobs", "--json").splitlines() if line]
        if jobs and all(j.get("status") in ("done", "failed") for j in jobs):
            return
        time.sleep(2)
    raise RuntimeError("the demo's OCR did not finish")


def take(url: str, out: Path, hidden: dict, issue: dict) -> None:
    """Each screen as a PNG in ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        public = browser.new_context(viewport={"width": 1366, "height": 900}, locale="kk-KZ")
        page = public.new_page()
        shot(page, f"{url}/?lang=kk", out / "home.png")
        page.goto(f"{url}/search?q=Қарағанды&lang=kk")
        first = page.locator(".hit").first.get_attribute("data-document")
        shot(page, f"{url}/search?q={LIBRARY}&lang=kk", out / "search.png")
        shot(page, f"{url}/documents/{first}?lang=kk", out / "document.png")
        shot(page, f"{url}/read/{first}/1?q=Қарағанды&lang=kk", out / "reader.png")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
        small = phone.new_page()
        shot(small, f"{url}/search?q={LIBRARY}&lang=ru", out / "search-390.png")
        shot(small, f"{url}/read/{first}/1?q=Қарағанды&lang=ru", out / "reader-390.png")

        staff = browser.new_context(viewport={"width": 1366, "height": 900}, locale="kk-KZ")
        page = staff.new_page()
        log_in(page, url, *STAFF)
        page.goto(f"{url}/staff/jobs/{hidden['job_id']}?lang=kk")
        page.click("#wf-submit")  # checked: sent for approval, and it would stay hidden
        page.wait_for_selector('#document-status[data-status="reviewed"]')
        shot(page, f"{url}/staff/upload?lang=kk", out / "upload.png")
        issue_page = _first_page_id(page, url, issue["job_id"])
        shot(page, f"{url}/staff/articles/pages/{issue_page}?lang=kk", out / "clipping.png")

        admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="kk-KZ")
        page = admin.new_page()
        log_in(page, url, *ADMIN)
        shot(page, f"{url}/staff/jobs/{hidden['job_id']}?lang=kk", out / "review-warning.png",
             selector="#workflow")  # fmt: skip
        shot(page, f"{url}/admin/rights/?lang=kk", out / "rights.png")
        shot(page, f"{url}/admin/reports/?lang=ru", out / "report.png")
        browser.close()


def _first_page_id(page, url: str, job_id: int) -> int:
    page.goto(f"{url}/staff/jobs/{job_id}?lang=kk")
    href = page.locator("a.clip-link").first.get_attribute("href")
    return int(href.rstrip("/").split("/")[-1])


def log_in(page, url: str, username: str, password: str) -> None:
    """Log in through the form."""
    page.goto(f"{url}/login?lang=kk")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page, address: str, path: Path, *, selector: str | None = None) -> None:
    """Load ``address`` and save the viewport (scrolled to ``selector`` when given)."""
    page.goto(address)
    page.wait_for_load_state("networkidle")
    if selector:
        page.locator(selector).scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    print(f"{path.name}: {address}")


def _optimize(folder: Path) -> None:
    """Shrink each PNG in place with pngquant (lossy, 256 colours; text stays sharp)."""
    if shutil.which("pngquant") is None:
        print("pngquant not found: PNG files left as they are")
        return
    for path in sorted(folder.glob("*.png")):
        before = path.stat().st_size
        subprocess.run(
            ["pngquant", "--force", "--skip-if-larger", "--strip", "--quality", "65-90",
             "--output", str(path), str(path)],
            check=False,
        )  # fmt: skip
        print(f"{path.name}: {before // 1024} KB -> {path.stat().st_size // 1024} KB")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


if __name__ == "__main__":
    main()
