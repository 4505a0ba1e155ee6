"""Where Mura's own files are, the same from a checkout and from an installed wheel.

In a checkout the design's folders sit side by side (``repo_app/``, ``templates/``); the wheel
maps them under one ``mura`` namespace (``mura/app/``, ``mura/templates/``), so the templates
are beside the app package in both cases. Every path to a shipped file is built here.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE.parent / "templates"
MIGRATIONS = PACKAGE / "migrations"
TRANSLATIONS = PACKAGE / "translations"
SAMPLE = PACKAGE / "sample"
#: Runtime data files (the common-password list).
DATA = PACKAGE / "data"
