"""The ``mura`` command, one module per area (the group and its helpers are in ``base``).

Heavy imports stay inside the commands so ``mura --help`` is quick.
"""

from __future__ import annotations

from mura.app.cli import (  # noqa: F401 - importing a module registers its commands
    administration,
    articles,
    catalogue,
    digitization,
    discovery,
    preservation,
    processes,
    rights,
)
from mura.app.cli.base import cli, main

__all__ = ["cli", "main"]
