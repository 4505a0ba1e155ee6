"""Passwords too common to accept, and passwords made of the user's own name.

A length rule alone lets ``qwertyuiop``, ``1234567890`` or ``aigerim2024`` through: they are the
first an attacker tries. The list is Django's 19,640 most common passwords
(``repo_app/data/common-passwords.txt.gz``; source and licence beside it), read once per process.
A password typed on a Russian or Kazakh keyboard with the layout left on Cyrillic (``йцукенгшщз``
for ``qwertyuiop``) is looked up as the Latin keys it was typed with, too.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import cache

from mura.app import paths

LIST_PATH = paths.DATA / "common-passwords.txt.gz"

#: Cyrillic letters of the ЙЦУКЕН layout (Russian; Kazakh puts its own letters on the digit
#: row) -> the Latin key in the same place on a QWERTY keyboard.
_LAYOUT = str.maketrans(
    "йцукенгшщзхъфывапролджэячсмитьбюё",
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`",
)
#: Names shorter than this are too likely to occur in any password by chance.
MIN_NAME_PART = 4
_NAME_SPLIT_RE = re.compile(r"[\W_]+")


def normalise(password: str) -> str:
    """The form passwords are compared in: NFKC, case-folded, without surrounding spaces."""
    return unicodedata.normalize("NFKC", password).strip().casefold()


@cache
def common_passwords() -> frozenset[str]:
    """The list, normalised (about 1.5 MB in memory, read on first use)."""
    with gzip.open(LIST_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(normalise(line) for line in lines if line.strip())


def is_common(password: str) -> bool:
    """Whether ``password`` (or the Latin keys it was typed with) is on the list."""
    plain = normalise(password)
    listed = common_passwords()
    return plain in listed or plain.translate(_LAYOUT) in listed


def name_parts(*names: str) -> list[str]:
    """The parts of a login or a person's name long enough to matter, normalised."""
    parts = {normalise(name) for name in names if name}
    for name in list(parts):
        parts.update(_NAME_SPLIT_RE.split(name))
    return sorted(part for part in parts if len(part) >= MIN_NAME_PART)


def contains_name(password: str, *names: str) -> bool:
    """Whether ``password`` contains one of ``names`` or a part of one (``aigerim.k``: ``aigerim``).

    Short names are ignored (``ab`` is in too many passwords by chance); a name of fewer letters
    than :data:`MIN_NAME_PART` counts only when it is the whole password.
    """
    plain = normalise(password)
    whole = {normalise(name) for name in names if name}
    return plain in whole or any(part in plain for part in name_parts(*names))
