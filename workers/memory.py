"""A ceiling on the memory of each worker pool process, so one hostile page cannot take the host.

A 21 KB PDF once made a pool process grow to 3.2 GB. The pipeline now refuses such content
before reading it (``pipeline/pdfinput.py``), but other decoders (Pillow, qpdf, Tesseract)
may have their own ways to blow up. So each pool process runs under ``RLIMIT_AS`` of
``WORKER_MEMORY_LIMIT_MB`` (``MURA_WORKER_MEMORY_LIMIT_MB``, 0 for none): past it an
allocation fails with MemoryError, which fails or retries the page, instead of the kernel's
OOM killer taking a process (perhaps the database's). The tools a page runs (Tesseract,
pdftoppm, pdftotext) inherit the limit. A process that still holds more than half of it
after a task is replaced by Celery (``worker_max_memory_per_child``).
"""

from __future__ import annotations

import logging
import resource

from flask import Flask

log = logging.getLogger(__name__)

MIB = 1024 * 1024


def limit_address_space(megabytes: int) -> int | None:
    """Lower this process's address-space limit (soft; the hard limit is left alone).

    Args:
        megabytes: The limit in MiB; 0 or less leaves the process unlimited.

    Returns:
        The soft limit set, in bytes, or None when none was set.
    """
    if megabytes <= 0:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * MIB
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    return wanted


def recycle_after_kib(megabytes: int) -> int | None:
    """Celery's ``worker_max_memory_per_child`` (KiB resident) for a limit: half of it."""
    return megabytes * 1024 // 2 if megabytes > 0 else None


def connect(app: Flask) -> None:
    """Set the limit in every pool process as it starts (Celery's ``worker_process_init``)."""
    from celery.signals import worker_process_init

    @worker_process_init.connect(weak=False)
    def _limit_memory(**_: object) -> None:
        limit = limit_address_space(int(app.config["WORKER_MEMORY_LIMIT_MB"]))
        if limit:
            log.debug("pool process memory limited to %d MiB", limit // MIB)
