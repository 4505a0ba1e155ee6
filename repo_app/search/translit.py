"""Kazakh between the Cyrillic and the Latin alphabets, for queries typed in Latin script.

Kazakh is written in Cyrillic in the collections, but readers may type Latin:

- the official Latin alphabet of 2021 (``Qarağandy``, ``kıtaphana``, ``Äuezov``);
- the alphabet of 2018 with acute accents (``Qaraǵandy``), or that of 2017 with apostrophes
  (``Qarag'andy``), which :func:`join_apostrophes` rewrites as the 2018 one;
- informal ASCII (``Qaragandy``, ``kitaphana``, ``kitapxana``, ``olketanu``, ``Auezov``), where
  one Latin letter stands for several Kazakh ones (``a`` for ``а`` and ``ә``, ``k`` for ``к`` and
  ``қ``, ``i`` for ``і`` ``и`` ``ы``).

:func:`to_cyrillic` returns the likeliest Cyrillic spellings of a Latin word, best first: each
Latin letter or digraph has weighted readings (tables below), narrowed by the alphabet the word
shows it is written in, and informal spellings are ranked by Kazakh vowel harmony (a word's
vowels are all back, ``а о ұ ы``, or all front, ``ә е ө ү і``; ``қ ғ`` go with back vowels,
``к г`` with front ones). Loanwords break harmony (``кітапхана``), so it only ranks, never
excludes. :func:`to_latin` goes the other way (2021 alphabet) and :func:`to_ascii` gives the
informal spelling.

Russian words (and the names of places in Kazakhstan, which readers know in their Russian form)
are typed in Russian romanizations: GOST 7.79-2000 system B (``Shhuchinsk``, ``Celinograd``,
``Shaxtinsk``), BGN/PCGN and the Wikipedia/Yandex habits (``Yekaterinburg``, ``Yubileynaya``),
ICAO Doc 9303 of passports (``Iubileinaia``, ``Tselinograd``), GOST R 52535 (``Tcelinograd``)
and informal spellings (``Shahtinsk``, ``Jurnal``, ``Schuchinsk``). No library reads them back:
the ones that exist go from Cyrillic to Latin, one system at a time. :func:`to_russian` reads a
Latin word with one table (:data:`RUSSIAN`) that holds the readings of all of them, weighted, by
the same bounded beam as Kazakh, and keeps the :data:`RUSSIAN_SPELLINGS` likeliest.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from functools import lru_cache

# Cyrillic -> official Latin alphabet of 2021.
CYRILLIC_TO_LATIN = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io",
    "ж": "j", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "ñ", "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū",
    "ү": "ü", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "",
    "ы": "y", "і": "ı", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
# 2021 letters -> what informal ASCII spelling writes for them.
LATIN_TO_ASCII = {"ä": "a", "ğ": "g", "ı": "i", "ñ": "n", "ö": "o", "ū": "u", "ü": "u",
                  "ş": "sh", "ç": "ch"}  # fmt: skip

# Readings of Latin letters and digraphs in informal spelling: (Cyrillic, weight).
INFORMAL = {
    "a": (("а", 1.0), ("ә", 0.4)),
    "b": (("б", 1.0),),
    "c": (("ц", 0.5), ("с", 0.3), ("ч", 0.3)),
    "d": (("д", 1.0),),
    "e": (("е", 1.0), ("э", 0.2)),
    "f": (("ф", 1.0),),
    "g": (("г", 1.0), ("ғ", 1.0)),
    "h": (("х", 1.0), ("һ", 0.3)),
    "i": (("і", 1.0), ("и", 0.5), ("ы", 0.3), ("й", 0.3)),
    "j": (("ж", 1.0), ("й", 0.2)),
    "k": (("к", 1.0), ("қ", 1.0)),
    "l": (("л", 1.0),),
    "m": (("м", 1.0),),
    "n": (("н", 1.0), ("ң", 0.4)),
    "o": (("о", 1.0), ("ө", 0.5)),
    "p": (("п", 1.0),),
    "q": (("қ", 1.0),),
    "r": (("р", 1.0),),
    "s": (("с", 1.0),),
    "t": (("т", 1.0),),
    "u": (("у", 1.0), ("ұ", 0.8), ("ү", 0.6)),
    "v": (("в", 1.0),),
    "w": (("у", 0.7), ("в", 0.3)),
    "x": (("х", 1.0),),
    "y": (("ы", 1.0), ("й", 0.5), ("у", 0.2)),
    "z": (("з", 1.0),),
    "sh": (("ш", 1.5),),
    "ch": (("ч", 1.5),),
    "zh": (("ж", 1.5),),
    "kh": (("х", 1.2),),
    "gh": (("ғ", 1.2),),
    "ng": (("ң", 0.5),),
    "ts": (("ц", 0.5),),
    "ya": (("я", 1.5),),
    "yu": (("ю", 1.5),),
    "yo": (("ё", 0.5),),
    "ia": (("я", 0.8),),
    "iu": (("ю", 0.8),),
    "shch": (("щ", 2.0),),
    # At the end of a word ("$"): the genitive -ның/-нің and the 2nd person -ың/-ің are common.
    "yn$": (("ың", 1.0), ("ын", 1.0)),
    "in$": (("ің", 1.0), ("ін", 0.8), ("ин", 0.4)),
    # Letters of the official alphabets, unambiguous wherever they appear.
    "ä": (("ә", 1.0),),
    "á": (("ә", 1.0),),
    "ğ": (("ғ", 1.0),),
    "ǵ": (("ғ", 1.0),),
    "ñ": (("ң", 1.0),),
    "ń": (("ң", 1.0),),
    "ö": (("ө", 1.0),),
    "ó": (("ө", 1.0),),
    "ū": (("ұ", 1.0),),
    "ü": (("ү", 1.0),),
    "ú": (("ү", 1.0),),
    "ý": (("у", 1.0),),
    "ş": (("ш", 1.0),),
    "ç": (("ч", 1.0),),
    "ı": (("і", 1.0), ("и", 0.6)),
}
# A word with a letter of the 2021 alphabet is in that alphabet: its plain letters are exact.
OFFICIAL_2021 = INFORMAL | {
    "a": (("а", 1.0),),
    "g": (("г", 1.0),),
    "i": (("и", 1.0), ("й", 0.6)),
    "ı": (("і", 1.0),),
    "k": (("к", 1.0),),
    "n": (("н", 1.0),),
    "o": (("о", 1.0),),
    "u": (("у", 1.0),),
    "y": (("ы", 1.0), ("й", 0.3)),
    "ia": (("я", 1.5),),
    "iu": (("ю", 1.5),),
    "io": (("ё", 1.5),),
}
# The 2018 alphabet (acute accents): u is ұ, ý is у, ú is ү, ı is и/й, i is і.
OFFICIAL_2018 = INFORMAL | {
    "a": (("а", 1.0),),
    "g": (("г", 1.0),),
    "i": (("і", 1.0),),
    "ı": (("и", 1.0), ("й", 0.6)),
    "k": (("к", 1.0),),
    "n": (("н", 1.0),),
    "o": (("о", 1.0),),
    "u": (("ұ", 1.0), ("у", 0.3)),
    "y": (("ы", 1.0), ("й", 0.3)),
}
# Readings of Latin letters and digraphs in Russian romanizations: (Cyrillic, weight). Soft and
# hard signs are left out by most systems (``Ust-Kamenogorsk``: Усть-), so a consonant may
# carry one, at a low weight; ``$`` marks the end of a word.
_SOFT = 0.25
RUSSIAN: dict[str, tuple[tuple[str, float], ...]] = {
    "a": (("а", 1.0),),
    "b": (("б", 1.0), ("бъ", 0.1), ("бь", 0.1)),
    "c": (("ц", 0.8), ("с", 0.2), ("к", 0.2)),
    "d": (("д", 1.0), ("дь", _SOFT), ("дъ", 0.1)),
    "e": (("е", 1.0), ("э", 0.15)),
    "f": (("ф", 1.0),),
    "g": (("г", 1.0),),
    "h": (("х", 0.8),),
    "ý": (("ы", 1.0),),  # GOST 7.79 B writes ы as y` (the query reads it as ý)
    "i": (("и", 1.0), ("й", 0.4), ("ы", 0.3)),
    "j": (("й", 0.6), ("ж", 0.3)),
    "k": (("к", 1.0),),
    "l": (("л", 1.0), ("ль", _SOFT)),
    "m": (("м", 1.0), ("мь", 0.1)),
    "n": (("н", 1.0), ("нь", _SOFT)),
    "o": (("о", 1.0),),
    "p": (("п", 1.0), ("пь", 0.1)),
    "r": (("р", 1.0), ("рь", _SOFT)),
    "s": (("с", 1.0), ("сь", _SOFT), ("съ", 0.1)),
    "t": (("т", 1.0), ("ть", _SOFT)),
    "u": (("у", 1.0),),
    "v": (("в", 1.0), ("вь", 0.1)),
    "w": (("в", 0.5),),
    "x": (("х", 0.8), ("кс", 0.5)),
    "y": (("ы", 1.0), ("й", 0.7)),
    "z": (("з", 1.0), ("зь", 0.1), ("зъ", 0.1)),
    "zh": (("ж", 1.5),),
    "kh": (("х", 1.5),),
    "ch": (("ч", 1.5), ("чь", 0.3)),
    "sh": (("ш", 1.5), ("шь", 0.3)),
    "shch": (("щ", 2.5),),
    "shh": (("щ", 2.0),),
    "sch": (("щ", 1.2),),
    "ts": (("ц", 1.2),),
    "tc": (("ц", 1.0),),  # GOST R 52535 (Tcelinograd)
    "cz": (("ц", 1.0),),
    "ya": (("я", 1.5),),
    "ia": (("я", 1.2),),
    "ja": (("я", 1.0),),
    "yu": (("ю", 1.5),),
    "iu": (("ю", 1.2),),
    "ju": (("ю", 1.0),),
    "yo": (("ё", 1.0),),
    "jo": (("ё", 1.0),),
    "ye": (("е", 1.2),),
    "ie": (("ъ", 0.3),),  # ICAO: объявление is obieiavlenie
    "ei": (("ей", 1.2),),  # ICAO: й is i (Iubileinaia)
    "ai": (("ай", 0.9),),
    "oi": (("ой", 0.9),),
    "ii$": (("ий", 1.2),),
    "iy$": (("ий", 1.5),),
    "yy$": (("ый", 1.5),),
    "ey": (("ей", 1.2),),
}
#: Most Russian spellings of a Latin word returned (each gives a stem by each language).
RUSSIAN_SPELLINGS = 6
#: Letter sequences no Russian word has: spellings with them are dropped before counting.
_NOT_RUSSIAN_RE = re.compile(
    r"^[ыьъй]|[аеёиоуыэюяьъй][ьъ]|ь[аоуыэ]|ъ(?![еёюя])|й[аиуыэй]|[аеёиоуыэюя]ы|ы[аоуэюя]"
    r"|[бвгджзклмнпрстфхцчшщ]й|цх|[чщшж]ы"
)

MARKS_2021 = frozenset("äğñöūüşçı")
MARKS_2018 = frozenset("áǵńóúý")
# The 2017 alphabet's apostrophe letters, as the 2018 letters they became.
APOSTROPHE_LETTERS = {"a": "á", "g": "ǵ", "n": "ń", "o": "ó", "u": "ú", "y": "ý", "i": "ı",
                      "s": "sh", "c": "ch"}  # fmt: skip

VOWELS = frozenset("аәеиоөұүуыіэюяё")
BACK = frozenset("аоұы")
FRONT = frozenset("әеөүі")
#: Weight of each vowel against the word's majority harmony, of қ ғ / к г beside a vowel of
#: the other harmony, and of й ң after a consonant, in informal spelling.
HARMONY_PENALTY = 0.45
CONSONANT_PENALTY = 0.5
PHONOTACTIC_PENALTY = 0.1
#: Most spellings returned, and how much less likely than the best one a spelling may be.
MAX_SPELLINGS = 16
MIN_RELATIVE_WEIGHT = 0.02
BEAM = 128

_APOSTROPHE_RE = re.compile(r"([a-zA-Z])['’ʼ‘`]")
_CONTRACTION_RE = re.compile(r"['’ʼ‘`](?:t|s|ll|re|ve|d|m)$", re.IGNORECASE)
_LATIN_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʼ‘`][^\W\d_]+)+")


def to_latin(word: str) -> str:
    """Return a lowercase Cyrillic Kazakh word in the 2021 Latin alphabet."""
    return "".join(CYRILLIC_TO_LATIN.get(letter, letter) for letter in word)


def to_ascii(word: str) -> str:
    """Return a lowercase Cyrillic Kazakh word in informal ASCII (``қарағанды``: ``qaragandy``)."""
    return "".join(LATIN_TO_ASCII.get(letter, letter) for letter in to_latin(word))


def join_apostrophes(text: str) -> str:
    """Rewrite the 2017 apostrophe letters of Latin words as 2018 letters (``Qarag'andy``).

    The tokenizer would otherwise cut the word at each apostrophe. Only words with an
    apostrophe between letters, no Cyrillic letter and no English ending (``don't``,
    ``library's``) are changed.
    """

    def join(match: re.Match[str]) -> str:
        word = match.group()
        if re.search("[\u0400-\u052f]", word) or _CONTRACTION_RE.search(word):
            return word
        return _APOSTROPHE_RE.sub(lambda m: _apostrophe_letter(m.group(1)), word)

    return _LATIN_WORD_RE.sub(join, text)


def _apostrophe_letter(letter: str) -> str:
    joined = APOSTROPHE_LETTERS.get(letter.lower(), letter.lower())
    return joined.upper() if letter.isupper() and len(joined) == 1 else joined


@lru_cache(maxsize=20_000)
def to_cyrillic(word: str) -> tuple[str, ...]:
    """Return the likeliest Cyrillic spellings of a lowercase Latin word, best first.

    Args:
        word: A folded Latin-script token (``qarağandy``, ``kitaphana``).

    Returns:
        Up to :data:`MAX_SPELLINGS` Cyrillic words; empty when the word has a character no
        table reads (a digit, another script).
    """
    if MARKS_2018.intersection(word):
        table, informal = OFFICIAL_2018, False
    elif MARKS_2021.intersection(word):
        table, informal = OFFICIAL_2021, False
    else:
        table, informal = _informal_table(word), True
    spellings = _spellings(word, table)
    if informal:
        spellings = [(weight * _harmony_weight(text), text) for weight, text in spellings]
    spellings.sort(key=lambda pair: (-pair[0], pair[1]))
    if not spellings:
        return ()
    floor = spellings[0][0] * MIN_RELATIVE_WEIGHT
    return tuple(text for weight, text in spellings[:MAX_SPELLINGS] if weight >= floor)


@lru_cache(maxsize=20_000)
def to_russian(word: str) -> tuple[str, ...]:
    """Return the likeliest Russian Cyrillic spellings of a lowercase Latin word, best first.

    Args:
        word: A folded Latin-script token (``karaganda``, ``shhuchinsk``, ``iubileinaia``).

    Returns:
        Up to :data:`RUSSIAN_SPELLINGS` Cyrillic words; empty for a word written in a Kazakh
        Latin alphabet (a letter with a mark) or with a character no table reads.
    """
    if (MARKS_2018 - {"ý"}).intersection(word) or MARKS_2021.intersection(word):
        return ()
    spellings = sorted(_spellings(word, RUSSIAN), key=lambda pair: (-pair[0], pair[1]))
    russian = (text for _weight, text in spellings if not _NOT_RUSSIAN_RE.search(text))
    return tuple(itertools.islice(russian, RUSSIAN_SPELLINGS))


def _informal_table(word: str) -> dict[str, tuple[tuple[str, float], ...]]:
    # A writer who types q for қ means к by k, and one who types gh for ғ means г by g.
    table = dict(INFORMAL)
    if "q" in word:
        table["k"] = (("к", 1.0), ("қ", 0.2))
    if "gh" in word:
        table["g"] = (("г", 1.0), ("ғ", 0.2))
    return table


def _spellings(
    word: str, table: dict[str, tuple[tuple[str, float], ...]]
) -> list[tuple[float, str]]:
    """Read ``word`` left to right, keeping the :data:`BEAM` likeliest readings of each prefix."""
    longest = max(len(key) for key in table)
    # best[i]: likeliest readings of word[:i], as (log weight, Cyrillic).
    best: list[list[tuple[float, str]]] = [[] for _ in range(len(word) + 1)]
    best[0] = [(0.0, "")]
    for start in range(len(word)):
        if not best[start]:
            continue
        for size in range(1, min(longest, len(word) - start) + 1):
            piece = word[start : start + size]
            readings = table.get(piece)
            if start + size == len(word):
                readings = table.get(piece + "$", readings)
            if readings is None:
                continue
            end = best[start + size]
            for log_weight, text in best[start]:
                for letters, weight in readings:
                    end.append((log_weight + math.log(weight), text + letters))
            if len(end) > BEAM:
                best[start + size] = heapq.nlargest(BEAM, set(end))
    weights: dict[str, float] = {}
    for log_weight, text in best[len(word)]:  # one text may come from several readings
        weights[text] = max(weights.get(text, 0.0), math.exp(log_weight))
    return [(weight, text) for text, weight in weights.items()]


def _harmony_weight(word: str) -> float:
    """Return how much a Cyrillic spelling looks like a Kazakh word (1.0: perfectly)."""
    back = sum(letter in BACK for letter in word)
    front = sum(letter in FRONT for letter in word)
    weight = HARMONY_PENALTY ** min(back, front)
    for i, letter in enumerate(word):
        if letter in "қғкг":
            near = word[max(0, i - 1) : i + 2]
            wrong = FRONT if letter in "қғ" else BACK
            if not wrong.isdisjoint(near):
                weight *= CONSONANT_PENALTY
        elif letter in "йң" and (i == 0 or word[i - 1] not in VOWELS):
            weight *= PHONOTACTIC_PENALTY  # й and ң follow a vowel in Kazakh words
    return weight
