"""``mura serve`` on the embedded default never leaves its worker behind.

Stopping the server's process group once killed the worker's pool processes mid-task and left
the worker hanging for ever in billiard's pool shutdown (seen as orphaned workers after the
browser tests). The worker now has its own session, is stopped by the server on SIGTERM, and
gets SIGTERM from the kernel if the server dies without stopping it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import free_port, mura_env


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def celery_children(pid: int) -> list[int]:
    """The embedded Celery worker among the server's children (the others serve the web)."""
    return [child for child in children(pid) if " worker" in cmdline(child)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("stop", ["sigterm_to_the_group", "sigkill_to_the_server"])
def test_the_embedded_worker_stops_with_the_server(tmp_path: Path, stop: str) -> None:
    env = mura_env(tmp_path / "home")
    server = subprocess.Popen(
        [sys.executable, "-m", "mura.app.cli", "serve", "--port", str(free_port())],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: celery_children(server.pid), 60, "the embedded worker")
        [worker] = celery_children(server.pid)
        wait_for(lambda: len(children(worker)) >= 1, 60, "the worker's pool")
        pool = children(worker)
        if stop == "sigterm_to_the_group":
            os.killpg(server.pid, signal.SIGTERM)  # what a service manager or the tests do
            server.wait(timeout=60)
        else:
            server.kill()  # no chance to stop anything: the kernel tells the worker
            server.wait(timeout=10)
        wait_for(lambda: not any(alive(p) for p in [worker, *pool]), 60, "the worker to exit")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


def test_serve_runs_several_web_processes_and_stops_them_all(tmp_path: Path) -> None:
    """``--workers 2``: two pre-forked web processes answer; SIGTERM to the group ends all."""
    import urllib.request

    port = free_port()
    env = mura_env(tmp_path / "home")
    server = subprocess.Popen(
        [sys.executable, "-m", "mura.app.cli", "serve", "--port", str(port), "--workers", "2",
         "--no-worker"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(children(server.pid)) == 2, 60, "two web processes")
        web = children(server.pid)

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(answers, 60, "the home page")
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        wait_for(lambda: not any(alive(p) for p in web), 30, "the web processes to exit")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
