"""Languages for the app, from the one table in ``mura.workers.pipeline.languages``.

Adds what needs the app: installed OCR languages, checking a job's choice, and languages as a
reader sees them (names in the UI language, ``lang`` attributes).
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence

from flask_babel import get_locale
from flask_babel import gettext as _

from mura.workers.pipeline.languages import (
    LANGUAGES,
    Language,
    bcp47,
    cyrillic_codes,
    to_marc,
    to_tesseract,
)
from mura.workers.pipeline.languages import find as find_language

__all__ = [
    "COMMON", "LANGUAGES", "Language", "bcp47", "cyrillic_codes", "find_language", "html_lang",
    "installed_languages", "language_name", "ocr_language_choices", "parse_langs", "to_marc",
    "to_tesseract",
]  # fmt: skip

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


def html_lang(codes: Sequence[str]) -> str:
    """The ``lang`` attribute of text in these OCR languages: its first one's tag, or ``""``.

    Kyrgyz page text is ``ky``, not ``ru``: screen readers and hyphenation follow it.
    """
    return bcp47(codes[0]) if codes else ""


def language_name(code: str) -> str:
    """A language code as its name in the reader's language (the code itself if unknown)."""
    language = find_language(code)
    return language.name(str(get_locale() or "en")) if language else code


def ocr_language_choices() -> list[tuple[str, str]]:
    """``(code, name)`` of the OCR languages offered as checkboxes, named in the reader's language.

    The installed ones, in the table's order (Kazakh, Russian, Kyrgyz, English first); the
    table's first four when Tesseract cannot be asked (the server checks the choice again).
    """
    installed = installed_languages()
    offered = [lang for lang in LANGUAGES if lang.tesseract in installed] or list(LANGUAGES[:4])
    return [(lang.tesseract, language_name(lang.tesseract)) for lang in offered]
