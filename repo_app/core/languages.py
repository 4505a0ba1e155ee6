"""OCR languages: which Tesseract languages are installed, and checking a job's choice."""

from __future__ import annotations

import functools
import re
import subprocess

from flask_babel import gettext as _

#: Languages offered first in forms; any other installed one may be typed.
COMMON = ("kaz+rus", "kaz", "rus", "kir+rus", "kir", "eng", "kaz+rus+eng")
_CODE = re.compile(r"^[a-z_]{3,20}$")


@functools.cache
def installed_languages() -> frozenset[str]:
    """Tesseract's installed language codes (``osd`` excluded)."""
    try:
        out = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    codes = {line.strip() for line in out.splitlines()[1:]}
    return frozenset(code for code in codes if code and code != "osd")


def parse_langs(value: str) -> str:
    """Normalise ``kaz + rus`` to ``kaz+rus``; ValueError naming an unknown language."""
    codes = [code.strip().lower() for code in value.replace(",", "+").split("+") if code.strip()]
    if not codes:
        raise ValueError(_("Choose at least one OCR language."))
    installed = installed_languages()
    for code in codes:
        if not _CODE.match(code) or (installed and code not in installed):
            raise ValueError(
                _(
                    "OCR language “%(code)s” is not installed. Installed: %(installed)s.",
                    code=code,
                    installed=", ".join(sorted(installed)),
                )
            )
    return "+".join(dict.fromkeys(codes))
