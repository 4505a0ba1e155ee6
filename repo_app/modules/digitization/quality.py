"""Which OCR pages need a person: low confidence, or text in the wrong script for the job.

Cyrillic read with the wrong model comes out as Latin gibberish ("Hanpapnenue" for
"Направление"), with a confidence that can still look fine; the script mix tells it.
"""

from __future__ import annotations

import re
import unicodedata

from mura.app.core.languages import cyrillic_codes

#: Pages whose mean word confidence is below this are flagged for review.
LOW_CONFIDENCE = 60.0
#: Share of Latin letters above which a page OCRed with Cyrillic languages is suspect.
WRONG_SCRIPT_LATIN_SHARE = 0.35
#: Fewer letters than this say nothing about a page (a photo, a blank page).
MIN_LETTERS = 40
#: Cyrillic read with a Latin model gives words like "KaHbIH", "MapkaH": capitals inside
#: lower-case words. Measured: ~0.55-0.65 of words on Kazakh and Russian pages read with `eng`,
#: ~0.01 in English prose.
MIXED_CASE_SHARE = 0.25
MIN_WORDS = 20
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

CYRILLIC_LANGS = cyrillic_codes()


def script_shares(text: str) -> tuple[int, float, float]:
    """Number of letters, share of Latin letters, share of Cyrillic letters."""
    latin = cyrillic = letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        if name.startswith("LATIN"):
            latin += 1
        elif name.startswith("CYRILLIC"):
            cyrillic += 1
    if not letters:
        return 0, 0.0, 0.0
    return letters, latin / letters, cyrillic / letters


def mixed_case_share(text: str) -> tuple[int, float]:
    """Number of Latin words (3+ letters) and the share with a capital after the first letter."""
    words = _LATIN_WORD.findall(text)
    mixed = sum(1 for w in words if not w.isupper() and any(c.isupper() for c in w[1:]))
    return len(words), (mixed / len(words) if words else 0.0)


def page_flags(text: str, langs: str, mean_confidence: float | None) -> list[str]:
    """Review flags for an OCRed page."""
    flags: list[str] = []
    letters, latin, _cyrillic = script_shares(text)
    if letters < MIN_LETTERS:
        return ["no_text"]
    if mean_confidence is not None and mean_confidence < LOW_CONFIDENCE:
        flags.append("low_confidence")
    codes = set(langs.split("+"))
    if codes and codes <= CYRILLIC_LANGS:
        if latin > WRONG_SCRIPT_LATIN_SHARE:
            flags.append("wrong_script")
    elif not codes & CYRILLIC_LANGS:
        words, mixed = mixed_case_share(text)
        if words >= MIN_WORDS and mixed > MIXED_CASE_SHARE:
            flags.append("wrong_script")
    return flags
