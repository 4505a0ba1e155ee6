"""Which language's rules analyse a word: from its letters, its page's languages, its sentence.

A page's OCR languages (Tesseract codes such as ``['kaz', 'rus']``) say which languages it may
hold, not which one each word is in; pages that mix Kazakh and Russian are normal. So:

1. a word with a letter only Kazakh has (``ә ғ қ ұ һ і``) is Kazakh;
2. a word with ``ң ө ү`` (Kazakh and Kyrgyz) is Kyrgyz on a Kyrgyz page without Kazakh, else
   Kazakh;
3. any other Cyrillic word is in the page's language; on a page with Russian *and* Kazakh or
   Kyrgyz, in the language of its run of text (a line, or the part of it between sentence ends
   and quotes), decided by a vote of the run's words (Kazakh letters and plural endings against
   Russian letters, endings and short words); a run without votes (``«Одна страна»``) keeps the
   language of the run before;
4. a Latin word is English on a page that has English, else kept as it is.

A query has no language: a query word is analysed by every language its letters allow
(:func:`query_languages`), so whatever language a page's word was given, the same word in a
query finds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

KK = "kk"
KY = "ky"
RU = "ru"
EN = "en"
#: No stemming: the word is indexed as written (folded).
NONE = ""

# Scripts of a word, from its letters.
KAZAKH = "kazakh"  # has a letter only Kazakh uses
TURKIC = "turkic"  # has a letter of Kazakh and Kyrgyz
CYRILLIC = "cyrillic"
LATIN = "latin"
OTHER = "other"

KAZAKH_LETTERS = frozenset("әғқұһі")
TURKIC_LETTERS = frozenset("ңөү")
#: Letters of Russian that Kazakh and Kyrgyz use only in Russian loanwords.
RUSSIAN_LETTERS = frozenset("ёъщэцфчьв")
#: Short Russian words (prepositions, conjunctions, pronouns, forms of быть).
RUSSIAN_WORDS = frozenset({
    "и", "в", "во", "на", "по", "с", "со", "к", "ко", "у", "о", "об", "от", "из", "за", "для",
    "не", "ни", "что", "как", "это", "или", "но", "же", "бы", "был", "была", "были", "было",
    "при", "под", "над", "без", "до", "его", "ее", "их", "он", "она", "они", "мы", "вы",
    "также", "только",
})  # fmt: skip
#: Endings of Russian adjectives, verbs and nouns that Kazakh and Kyrgyz words do not have.
RUSSIAN_ENDINGS = (
    "ого", "его", "ому", "ему", "ыми", "ими", "ями", "ться", "тся", "ение", "ения", "ость",
    "ости", "ский", "ская", "ское", "ские", "ных", "ный", "ная",
)  # fmt: skip
#: Kazakh and Kyrgyz plural endings (with the 3rd person possessive).
TURKIC_ENDINGS = (
    "лар", "лер", "дар", "дер", "тар", "тер", "лары", "лері", "дары", "дері", "тары", "тері",
)  # fmt: skip

#: Languages of each script in a query, most likely first.
_QUERY_LANGUAGES = {
    KAZAKH: (KK,),
    TURKIC: (KK, KY),
    CYRILLIC: (KK, RU, KY),
    LATIN: (NONE, EN),
    OTHER: (NONE,),
}
_CYRILLIC_RE = re.compile("[\u0400-\u052f]")
_LATIN_RE = re.compile("[a-zà-ɏ]")


@dataclass(frozen=True)
class PageLanguages:
    """How the words of a page are analysed, from the page's OCR languages.

    Attributes:
        turkic: The page's Kazakh or Kyrgyz (``kk``, ``ky``), or ``NONE``.
        shared: Language of words with ``ң ө ү``.
        plain: Language of other Cyrillic words (when not ``mixed``).
        latin: Language of Latin-script words.
        mixed: Russian and a Turkic language: other Cyrillic words go by their sentence.
    """

    turkic: str
    shared: str
    plain: str
    latin: str
    mixed: bool


@lru_cache(maxsize=64)
def page_languages(codes: tuple[str, ...]) -> PageLanguages:
    """Return how to analyse a page with the given Tesseract language codes.

    Args:
        codes: E.g. ``("kaz", "rus")``; empty when unknown (then Kazakh, the collections'
            language).
    """
    turkic = KK if "kaz" in codes else KY if "kir" in codes else NONE
    russian = "rus" in codes
    plain = turkic or (RU if russian or codes else KK)
    return PageLanguages(
        turkic=turkic,
        shared=KY if turkic == KY else KK,
        plain=plain,
        latin=EN if "eng" in codes else NONE,
        mixed=russian and turkic != NONE,
    )


@lru_cache(maxsize=200_000)
def script(term: str) -> str:
    """Return the script class of a folded word (``KAZAKH``, ``TURKIC``, ``CYRILLIC``, ...)."""
    if not KAZAKH_LETTERS.isdisjoint(term):
        return KAZAKH
    if not TURKIC_LETTERS.isdisjoint(term):
        return TURKIC
    if _CYRILLIC_RE.search(term):
        return CYRILLIC
    if _LATIN_RE.search(term):
        return LATIN
    return OTHER


def script_languages(page: PageLanguages, plain: str) -> dict[str, str]:
    """Return the language of each script class on ``page``.

    Args:
        page: The page's languages.
        plain: The language of Cyrillic words without Kazakh or Kyrgyz letters here (the
            page's, or on mixed pages the run of text's: :func:`sentence_language`).
    """
    return {KAZAKH: KK, TURKIC: page.shared, CYRILLIC: plain, LATIN: page.latin, OTHER: NONE}


def token_language(term: str, page: PageLanguages, plain: str) -> str:
    """Return the language whose rules index ``term`` on ``page`` (see :func:`script_languages`)."""
    return script_languages(page, plain)[script(term)]


def sentence_language(terms: Iterable[str], page: PageLanguages, previous: str) -> str:
    """Return the language of the plain Cyrillic words of one run of text of a mixed page.

    Args:
        terms: The folded words of the run (a line, or part of one).
        page: The page's languages.
        previous: The language of the run before, kept when nothing here decides.
    """
    turkic = russian = 0
    for term in terms:
        kind = script(term)
        if kind in (KAZAKH, TURKIC):
            turkic += 1
        elif kind == CYRILLIC:
            if (
                term in RUSSIAN_WORDS
                or not RUSSIAN_LETTERS.isdisjoint(term)
                or term.endswith(RUSSIAN_ENDINGS)
            ):
                russian += 1
            elif term.endswith(TURKIC_ENDINGS):
                turkic += 1
    if russian > turkic:
        return RU
    if turkic > russian:
        return page.turkic
    return previous


def query_languages(term: str) -> Sequence[str]:
    """Return every language that may have indexed ``term``, most likely first."""
    return _QUERY_LANGUAGES[script(term)]
