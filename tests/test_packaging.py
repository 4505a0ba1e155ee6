"""The wheel installs and runs anywhere: built from the checkout, installed into a clean venv.

A server installs Mura as a package, not as a checkout: the wheel must carry the templates,
static files, compiled translations, migrations and samples, and install nothing under a
generic top-level name (everything lives under ``mura``). This test builds the wheel as a
server would, installs it (not editable) into a fresh virtualenv, OCRs one page with the
installed ``mura`` command from another folder, and serves the home page and the document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import ROOT
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow


def _build_wheel(out: Path) -> Path:
    """``pip wheel`` of the checkout, with the venv's setuptools (no download of a build env)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, cwd=out, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = out.glob("mura-*.whl")
    return wheel


def _page_image(path: Path) -> None:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    image = Image.new("L", (1700, 700), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(("Қарағанды облыстық кітапханасы", "Карагандинская библиотека")):
        draw.text((120, 150 + row * 120), line, font=font, fill=0)
    image.save(path, dpi=(300, 300))


def test_the_wheel_holds_everything_under_one_namespace(tmp_path: Path) -> None:
    names = zipfile.ZipFile(_build_wheel(tmp_path)).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"mura", "mura-0.1.0.dist-info"}, tops
    for wanted in (
        "mura/templates/base.html",
        "mura/templates/public/document.html",
        "mura/app/static/css/mura.css",
        "mura/app/translations/kk/LC_MESSAGES/messages.mo",
        "mura/app/translations/ru/LC_MESSAGES/messages.mo",
        "mura/app/migrations/env.py",
        "mura/app/sample/documents.json",
        "mura/workers/pipeline/ocr.py",
        "mura/storage/store.py",
    ):
        assert wanted in names, wanted
    # Every Python file of the checkout's packages is in the wheel (a package folder missing
    # from pyproject's list would silently drop its modules).
    for folder, namespace in (("repo_app", "mura/app"), ("workers", "mura/workers"),
                              ("storage", "mura/storage")):  # fmt: skip
        for source in (ROOT / folder).rglob("*.py"):
            assert f"{namespace}/{source.relative_to(ROOT / folder).as_posix()}" in names, source


def test_installed_wheel_serves_the_home_page_and_a_document(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    elsewhere = tmp_path / "server"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MURA_", "PYTHON")) and key != "VIRTUAL_ENV"
    }
    env.update(
        MURA_HOME=str(elsewhere / "home"),
        MURA_DEFAULT_ACCESS="library_owned",  # published as soon as the OCR is done
        MURA_REVIEW_REQUIRED="false",
        OMP_THREAD_LIMIT="1",
    )
    mura = str(env_dir / "bin" / "mura")
    found = subprocess.run(
        [str(python), "-c", "import mura.app, sys; print(mura.app.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(env_dir) in found, found  # the installed package, not the checkout
    _page_image(elsewhere / "page.png")
    made = subprocess.run(
        [mura, "ingest", "page.png", "--title", "Wheel test", "--type", "book", "--wait", "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    try:
        result = json.loads(made.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"not one JSON object:\n{made.stdout!r}\n{made.stderr}") from error
    assert result["status"] == "done", result
    port = free_port()
    server = subprocess.Popen(
        [mura, "serve", "--no-worker", "--port", str(port)],
        cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        home = _get(f"http://127.0.0.1:{port}/?lang=kk", server)
        assert "<html" in home and 'lang="kk"' in home
        document = _get(f"http://127.0.0.1:{port}/documents/{result['document_id']}", server)
        assert "Wheel test" in document
    finally:
        server.terminate()
        server.communicate(timeout=30)  # reads and closes its output pipe


def _get(url: str, server: subprocess.Popen) -> str:
    """GET ``url`` once the server answers; fail with its output if it died or answered 500."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                return response.read().decode()
        except (ConnectionError, urllib.error.URLError) as error:
            if isinstance(error, urllib.error.HTTPError) or server.poll() is not None:
                server.terminate()
                raise AssertionError(f"{url}: {error}\n{server.communicate()[0]}") from error
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
