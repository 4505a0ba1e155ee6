"""Waiting for an index's single writer, the same for every engine.

Each engine allows one writer per index, guarded by a lock file; several Celery worker processes
may want to write at once. A write retries with growing, jittered pauses while another process
holds the lock, and gives up with :class:`~mura.app.search.types.IndexBusyError` at a deadline.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mura.app.search.types import IndexBusyError

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def retry_locked(
    attempt: Callable[[], _T],
    deadline: float,
    index_dir: Path,
    busy: type[Exception] | tuple[type[Exception], ...],
) -> _T:
    """Call ``attempt`` until it stops raising ``busy`` (lock held), pausing longer each time.

    Args:
        attempt: Takes the lock (opens a writer) or raises ``busy``.
        deadline: A ``time.monotonic()`` value.
        index_dir: The index, for messages.
        busy: The exception(s) meaning "another writer holds the lock".

    Raises:
        IndexBusyError: When ``deadline`` passes first.
    """
    pause = 0.02
    waited = False
    while True:
        try:
            return attempt()
        except busy as exc:
            if time.monotonic() + pause > deadline:
                raise IndexBusyError(f"search index {index_dir} stayed locked") from exc
            if not waited:
                log.info("search index %s locked by another writer; waiting", index_dir)
                waited = True
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 1.0)
