"""Worker heartbeats on the embedded default: a file per live worker under MURA_HOME/run.

``mura ingest --wait`` uses them to know whether a worker will pick up its job, and starts one for
the time of the wait if none is alive.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

INTERVAL_S = 5.0


def _folder(home: Path) -> Path:
    path = home / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(home: Path) -> threading.Event:
    """Touch this process's heartbeat file every few seconds until the returned event is set."""
    stop = threading.Event()
    beat = _folder(home) / f"worker-{socket.gethostname()}-{os.getpid()}"

    def run() -> None:
        while not stop.is_set():
            beat.touch()
            stop.wait(INTERVAL_S)
        beat.unlink(missing_ok=True)

    threading.Thread(target=run, name="mura-heartbeat", daemon=True).start()
    return stop


def alive(home: Path, max_age_s: float = 3 * INTERVAL_S) -> list[str]:
    """Names of the workers whose heartbeat is fresh."""
    now = time.time()
    return [
        path.name
        for path in _folder(home).glob("worker-*")
        if now - path.stat().st_mtime < max_age_s
    ]
