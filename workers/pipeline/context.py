"""Per-page working context: file names in the work folder, deadline, timings, warnings."""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OcrTimeout, TransientError

log = logging.getLogger(__name__)

#: Below this much free space in the work folder a missing tool output is blamed on the disk.
LOW_DISK_BYTES = 20 * 1024 * 1024

_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


@dataclass
class PageContext:
    """What the stages of one page share. Holds only plain data, so it can be pickled.

    Attributes:
        work_dir: Folder that receives every file written for this page.
        page: 0-based frame / page index of the page in its source file.
        deadline: ``time.monotonic()`` value after which the page has run out of time.
        timeout_s: The time allowed for the page, for messages.
        timings: Seconds spent per stage.
        warnings: Messages for staff about things done or guessed (not failures).
    """

    work_dir: Path
    page: int
    deadline: float
    timeout_s: float
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, work_dir: Path, page: int, timeout_s: float) -> PageContext:
        """Make a context for ``page`` whose clock starts now; creates ``work_dir``."""
        with disk_errors():
            work_dir.mkdir(parents=True, exist_ok=True)
        return cls(work_dir, page, time.monotonic() + timeout_s, timeout_s)

    def get_path(self, name: str) -> Path:
        """Path of a file of this page in the work folder, e.g. ``000003_ocr.hocr``."""
        return self.work_dir / f"{self.page + 1:06d}_{name}"

    def remaining(self) -> float:
        """Seconds left before the deadline; raises OcrTimeout when there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OcrTimeout(f"The page took longer than the {self.timeout_s:g} s allowed.")
        return left

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``timings[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

    def warn(self, message: str) -> None:
        """Record a warning for staff and log it."""
        log.info("page %d: %s", self.page + 1, message)
        self.warnings.append(message)


@contextmanager
def disk_errors() -> Iterator[None]:
    """Turn 'disk full' and 'quota exceeded' OSErrors into TransientError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _DISK_ERRNOS:
            raise TransientError(f"Out of disk space while writing page files: {exc}") from exc
        raise


def disk_is_low(path: Path) -> bool:
    """True when the file system of ``path`` has less than LOW_DISK_BYTES free."""
    try:
        return shutil.disk_usage(path).free < LOW_DISK_BYTES
    except OSError:
        return False
