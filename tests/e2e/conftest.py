"""What the Chromium tests share: Debian's Chromium, a real ``mura serve``, logging in.

A server is a real ``mura serve`` (waitress, and the embedded worker unless ``--no-worker``) on
a free port, on its own MURA_HOME, with branches and accounts made by the CLI the way an
administrator makes them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("MURA_CHROMIUM", "/usr/bin/chromium")


#: The two corpus pages the upload tests send (a Kazakh book page, a sans-serif one).
TWO_PAGES = ("p01_book.png", "p09_book_sans.png")


def scans_folder(corpus: Path, folder: Path, names: tuple[str, ...] = TWO_PAGES) -> Path:
    """A folder holding copies of corpus pages, as a scanner would leave them; returns it."""
    folder.mkdir()
    for name in names:
        shutil.copy(corpus / name, folder / name)
    return folder


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mura_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its MURA_* settings, for an installation at ``home``.

    Args:
        home: MURA_HOME.
        **settings: More settings, without the ``MURA_`` prefix (``REVIEW_REQUIRED="false"``).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(MURA_HOME=str(home), OMP_THREAD_LIMIT="1")
    env.update({f"MURA_{key}": value for key, value in settings.items()})
    return env


def mura_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    """Run ``mura ARGS`` on the installation of ``env`` (it must succeed)."""
    subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args],
        env=env, cwd=ROOT, input=stdin, text=True, check=True, capture_output=True,
    )  # fmt: skip


def add_account(env: dict[str, str], username: str, password: str, role: str,
                branch: str | None = None) -> None:  # fmt: skip
    """An account made with ``mura users create`` (the password through stdin)."""
    args = ["users", "create", username, "--role", role, "--password-stdin"]
    mura_cli(env, *args, *(["--branch", branch] if branch else []), stdin=password + "\n")


@contextmanager
def mura_serve(env: dict[str, str], *extra: str) -> Iterator[str]:
    """``mura serve`` on a free port until the block ends; yields its base URL."""
    home = Path(env["MURA_HOME"])
    port = free_port()
    log_path = home / f"serve-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mura.app.cli", "serve", "--port", str(port), *extra],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (no browser is downloaded)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def log_in(page, server: str, username: str, password: str, target: str = "/staff/") -> None:
    """Log in through the login form (in English); lands on ``target``."""
    page.goto(f"{server}/login?lang=en&next={target}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server + target.split("?")[0])))


def log_out(page) -> None:
    """Log out with the header's button."""
    page.click("#nav-logout")
    page.wait_for_selector("#nav-login")
