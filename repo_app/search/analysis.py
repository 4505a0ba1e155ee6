"""Mura's own text analysis: turn page text and query text into the same search terms.

This module knows nothing of any search engine. The engines receive ready-made terms, so Whoosh
today and tantivy later index exactly the same thing, and indexed text and query text always go
through the same code.

Analysis runs in three steps:

1. **Tokenize**: a word is a run of letters and digits (any script, in practice Cyrillic and
   Latin); combining marks and invisible characters (soft hyphen, zero-width joiners) inside a
   word stay with it. Words joined by a hyphen (``ҚР-ның``, ``13-ші``, ``Алма-Ата``) give one
   token per part, in order, so a query for the hyphenated word becomes a phrase of its parts. A
   word broken across a line with a hyphen (``жұ-`` newline ``мыс``) is joined back into one token,
   unless the second part starts with a capital letter (``Алма-`` newline ``Ата`` stays two parts).
2. **Fold** each token through a pipeline of small functions ``str -> str | None`` (``None``
   drops the token): Unicode normalization, lowercasing, stray accent removal, letter folding.
   Tokens shorter than two or longer than 64 characters are dropped. :meth:`Analyzer.terms`
   and :func:`tokenize` return these folded *surface* terms.
3. **Stem** each folded word by the rules of its language (:meth:`Analyzer.index_terms`): the
   language comes from the word's letters, the page's OCR languages and, on pages mixing
   Russian with Kazakh or Kyrgyz, the word's line or sentence
   (:mod:`~mura.app.search.lang_detect`);
   the rules are in :mod:`~mura.app.search.lang_kk`, :mod:`~mura.app.search.lang_ky`,
   :mod:`~mura.app.search.lang_ru` and :mod:`~mura.app.search.lang_en`. The index holds these
   stems.

A query word has no language: :meth:`Analyzer.alternatives` returns every term it may have been
indexed as (its stem by each language its letters allow; for a Latin word, the stems of its
Cyrillic spellings too, :mod:`~mura.app.search.translit`). Any one of them matches. So the same
word in a query always finds itself in a page, whichever language the page's word was given.

Engines index ``index_terms(text, languages)`` and search the alternatives that
:func:`~mura.app.search.query.parse_query` puts in each clause; both are plain strings, so every
engine indexes and finds exactly the same thing.

More fold functions plug into the pipeline before stemming::

    analyzer = DEFAULT_ANALYZER.with_filters(extra_fold)

Changing the folds or the rules changes the terms in the index: bump :data:`ANALYSIS_VERSION` so
that engines can tell an index needs rebuilding.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mura.app.search import lang_detect, lang_en, lang_kk, lang_ky, lang_ru, translit

#: Version of the analysis; an index built with another version must be rebuilt.
#: 2: stems by language (Kazakh, Kyrgyz, Russian, English). 3: common grams (grams.py).
#: 4: every collection of a document (a document is in several; ``mura reindex``).
ANALYSIS_VERSION = 4

#: One step of the fold pipeline: returns the new token text, or ``None`` to drop the token.
TokenFilter = Callable[[str], "str | None"]

_MARKS = "\u0300-\u036f\u0483-\u0489"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_HYPHENS = "\\-\u2010\u2011"
_CACHE_SIZE = 200_000

# One part of a word: a letter or digit, then letters, digits, marks and invisible characters.
# (Possessive quantifiers: no backtracking, nearly as fast as a plain ``[^\W_]+``.)
_PART = rf"[^\W_](?:[^\W_]++|[{_MARKS}{_INVISIBLE}]++)*+"
# Parts joined by a hyphen, optionally followed by a line break (hyphenation at the line's end).
_WORD_RE = re.compile(rf"{_PART}(?:[{_HYPHENS}](?:[ \t]*\r?\n[ \t]*)?{_PART})*")
_PART_RE = re.compile(_PART)
_STRIP_RE = re.compile(f"[{_MARKS}{_INVISIBLE}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_JOINERS = frozenset("-\u2010\u2011")
# Marks a word the fold cache has not seen (``None`` there means "dropped").
_UNSEEN: Any = object()
# Ends of the runs of text whose words vote for their language on mixed pages: sentence ends,
# quotes (a Russian title in «quotes» inside a Kazakh sentence is its own run) and line ends
# (a Kazakh table heading above a Russian paragraph).
_RUN_END_RE = re.compile(r"[.!?;:«»\"“”„()\[\]\n]")
_CYRILLIC_RE = re.compile("[\u0400-\u052f]")
_LATIN_RE = re.compile("[a-zəǵńóúıüöşçğ]")

# Letters that look alike in Latin and Cyrillic, as typed or recognised by OCR inside a word of
# the other script. Kazakh ``і`` is commonly typed as Latin ``i`` and ``ә`` as Latin ``ə``.
_LATIN_TO_CYRILLIC = str.maketrans("aceiopxyhkə", "асеіорхуһкә")
_CYRILLIC_TO_LATIN = str.maketrans("асеіорхуһкә", "aceiopxyhkə")
# Variant letters: Russian ё is written е; Kyrgyz ң appears in old fonts as other "en" letters.
_VARIANTS = str.maketrans({"ё": "е", "ҥ": "ң", "ӈ": "ң", "ӊ": "ң"})


class Token(NamedTuple):
    """One search term found in a text.

    Attributes:
        text: The folded term, as indexed and searched.
        start: Offset of the first character of the word in the original text.
        end: Offset just after the word's last character in the original text.
        pos: Position of the term among the text's terms (0-based), for phrases.
    """

    text: str
    start: int
    end: int
    pos: int


def normalize_unicode(token: str) -> str:
    """Compose characters (NFC) and drop invisible characters such as the soft hyphen."""
    return _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", token))


def lowercase(token: str) -> str:
    """Lowercase; Python lowercases every Kazakh and Kyrgyz capital (Ә Ғ Қ Ң Ө Ұ Ү Һ І)."""
    return token.lower()


def strip_marks(token: str) -> str:
    """Drop combining marks that did not compose: stress accents, the dot left by ``İ``."""
    return _STRIP_RE.sub("", token)


def fold_letters(token: str) -> str:
    """Fold letter variants and look-alike letters of the other script in a mixed word.

    ``ё`` becomes ``е``; old-font variants of ``ң`` become ``ң``. In a word mixing Cyrillic and
    Latin letters, look-alike letters (``a`` ``c`` ``e`` ``i`` ``o`` ``p`` ``x`` ``y`` ``h`` ``k``
    ``ə``) are written in the script of the word's majority: ``кiтап`` with a Latin ``i`` becomes
    ``кітап``. Words in one script are left alone (transliteration is a separate step).

    Args:
        token: A lowercased token.

    Returns:
        The folded token.
    """
    token = token.translate(_VARIANTS)
    if not (_CYRILLIC_RE.search(token) and _LATIN_RE.search(token)):
        return token
    cyrillic = len(_CYRILLIC_RE.findall(token))
    latin = len(_LATIN_RE.findall(token))
    table = _LATIN_TO_CYRILLIC if cyrillic >= latin else _CYRILLIC_TO_LATIN
    return token.translate(table)


#: The fold pipeline used for indexing and searching; a stemmer would go at its end.
DEFAULT_FILTERS: tuple[TokenFilter, ...] = (
    normalize_unicode,
    lowercase,
    strip_marks,
    fold_letters,
)


#: Stemmer of each language of :mod:`~mura.app.search.lang_detect`.
STEMMERS: dict[str, Callable[[str], str]] = {
    lang_detect.KK: lang_kk.stem,
    lang_detect.KY: lang_ky.stem,
    lang_detect.RU: lang_ru.stem,
    lang_detect.EN: lang_en.stem,
    lang_detect.NONE: str,
}


@dataclass(frozen=True)
class Analyzer:
    """Tokenizer, fold pipeline and stemmers; the one object both indexing and searching use.

    Attributes:
        filters: Fold functions applied to each raw token, in order.
        min_length: Shorter folded tokens are dropped (one-letter words, initials).
        max_length: Longer folded tokens are dropped (OCR garbage, base64 and the like).
        stemming: Whether :meth:`index_terms` and :meth:`alternatives` stem (and transliterate);
            without it they return the folded words.
    """

    filters: tuple[TokenFilter, ...] = DEFAULT_FILTERS
    min_length: int = 2
    max_length: int = 64
    stemming: bool = True
    # Raw token -> folded token: a page repeats a small vocabulary, so most folds are lookups.
    _cache: dict[str, str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # Folded query word -> its alternatives.
    _alternatives: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def with_filters(self, *extra: TokenFilter) -> Analyzer:
        """Return a copy with more fold functions at the end of the fold pipeline."""
        return Analyzer(self.filters + extra, self.min_length, self.max_length, self.stemming)

    def fold(self, raw: str) -> str | None:
        """Fold one raw token; return ``None`` when the token is dropped."""
        try:
            return self._cache[raw]
        except KeyError:
            pass
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        folded = self._cache[raw] = self._fold(raw)
        return folded

    def _fold(self, raw: str) -> str | None:
        token: str | None = raw
        for step in self.filters:
            token = step(token)
            if not token:
                return None
        if not self.min_length <= len(token) <= self.max_length:
            return None
        return token

    def tokens(self, text: str) -> Iterator[Token]:
        """Yield the terms of ``text`` with their positions and character offsets."""
        pos = 0
        for start, end, raw in _raw_tokens(text):
            folded = self.fold(raw)
            if folded is not None:
                yield Token(folded, start, end, pos)
                pos += 1

    def terms(self, text: str) -> list[str]:
        """Return the terms of ``text`` in order (as ``tokens()``, without offsets; faster)."""
        fold, cache = self.fold, self._cache
        terms: list[str] = []
        append = terms.append
        for word in _WORD_RE.findall(text):
            # Most words were folded before (the cache holds only words without joiners).
            folded = cache.get(word, _UNSEEN)
            if folded is _UNSEEN:
                if not _JOINERS.isdisjoint(word):
                    for _, _, raw in _split_word(word, 0):
                        part = fold(raw)
                        if part is not None:
                            append(part)
                    continue
                folded = fold(word)
            if folded is not None:
                append(folded)  # type: ignore[arg-type]
        return terms

    def index_terms(self, text: str, languages: Sequence[str] = ()) -> list[str]:
        """Return the terms to index for ``text``: each word stemmed by its language's rules.

        Args:
            text: Page text, a title or names.
            languages: The document's OCR languages (Tesseract codes, e.g. ``['kaz', 'rus']``).

        Returns:
            The terms in order, one per word (as :meth:`terms`, but stemmed).
        """
        if not self.stemming:
            return self.terms(text)
        page = lang_detect.page_languages(tuple(languages))
        if page.mixed:
            return [token.text for token in self._mixed_tokens(text, page)]
        return _stem_all(self.terms(text), page, page.plain)

    def index_tokens(self, text: str, languages: Sequence[str] = ()) -> list[Token]:
        """Return the terms of :meth:`index_terms` with their positions and offsets."""
        if not self.stemming:
            return list(self.tokens(text))
        page = lang_detect.page_languages(tuple(languages))
        if page.mixed:
            return self._mixed_tokens(text, page)
        tokens = list(self.tokens(text))
        stems = _stem_all([token.text for token in tokens], page, page.plain)
        return [token._replace(text=stem) for token, stem in zip(tokens, stems, strict=True)]

    def _mixed_tokens(self, text: str, page: lang_detect.PageLanguages) -> list[Token]:
        """Stem the words of a page mixing Russian with Kazakh or Kyrgyz, run by run."""
        ends = [match.start() for match in _RUN_END_RE.finditer(text)]
        stemmed: list[Token] = []
        plain = page.turkic
        runs = itertools.groupby(self.tokens(text), key=lambda t: bisect.bisect(ends, t.start))
        for _, run in runs:
            words = list(run)
            terms = [t.text for t in words]
            plain = lang_detect.sentence_language(terms, page, plain)
            stems = _stem_all(terms, page, plain)
            stemmed.extend(t._replace(text=stem) for t, stem in zip(words, stems, strict=True))
        return stemmed

    def word_stems(self, term: str, languages: Sequence[str] = ()) -> tuple[str, ...]:
        """Return the index terms a folded word of a page may have been given.

        One stem, except for Cyrillic words without Kazakh or Kyrgyz letters on pages mixing
        Russian with Kazakh or Kyrgyz, whose language depends on their run of text: then one
        per language. For marking words without analysing a whole page (snippets).

        Args:
            term: A folded word of the page (one term of :meth:`terms`).
            languages: The OCR languages of the page's document.
        """
        if not self.stemming:
            return (term,)
        page = lang_detect.page_languages(tuple(languages))
        kind = lang_detect.script(term)
        if page.mixed and kind == lang_detect.CYRILLIC:
            return tuple({STEMMERS[lang](term) for lang in (page.turkic, lang_detect.RU)})
        return (STEMMERS[lang_detect.script_languages(page, page.plain)[kind]](term),)

    def alternatives(self, term: str) -> tuple[str, ...]:
        """Return every index term a folded query word may match, likeliest first.

        A Cyrillic word gives its stem by each language its letters allow (``жазушы``:
        Kazakh, Kyrgyz and Russian), and its Kazakh Latin spellings (2021 and informal), which
        find pages that wrote it in Latin letters (indexed unstemmed). A Latin word gives the
        Kazakh and Kyrgyz stems of its likeliest Cyrillic spellings, the stems of its likeliest
        Russian spellings (romanized by GOST 7.79, BGN/PCGN, ICAO or informally), then itself
        and its English stem.

        Args:
            term: A folded query word (one term of :meth:`terms`).

        Returns:
            Distinct terms; the first is the word's likeliest reading.
        """
        if not self.stemming:
            return (term,)
        found = self._alternatives.get(term)
        if found is None:
            if len(self._alternatives) >= _CACHE_SIZE:
                self._alternatives.clear()
            found = self._alternatives[term] = self._find_alternatives(term)
        return found

    def _find_alternatives(self, term: str) -> tuple[str, ...]:
        kind = lang_detect.script(term)
        terms: list[str] = []
        if kind == lang_detect.LATIN:
            # Its Cyrillic spellings are Kazakh (or Kyrgyz), not Russian.
            for spelling in translit.to_cyrillic(term):
                languages = lang_detect.query_languages(spelling)
                terms.extend(
                    STEMMERS[lang](spelling) for lang in languages if lang != lang_detect.RU
                )
            # Its Russian spellings (``Karaganda``, ``Shchuchinsk``): the word as written on a
            # Russian page, and on a Kazakh one, where place names keep their Russian form.
            for spelling in translit.to_russian(term):
                terms.extend(
                    STEMMERS[lang](spelling) for lang in lang_detect.query_languages(spelling)
                )
        terms.extend(STEMMERS[lang](term) for lang in lang_detect.query_languages(term))
        if kind in (lang_detect.KAZAKH, lang_detect.TURKIC, lang_detect.CYRILLIC):
            terms += [translit.to_latin(term), translit.to_ascii(term)]
        return tuple(dict.fromkeys(t for t in terms if t))


#: The analysis Mura uses everywhere.
DEFAULT_ANALYZER = Analyzer()


def _stem_all(terms: list[str], page: lang_detect.PageLanguages, plain: str) -> list[str]:
    """Stem folded words of a page (or of one run of a mixed page) by their languages."""
    languages = lang_detect.script_languages(page, plain)
    script = lang_detect.script
    return [STEMMERS[languages[script(term)]](term) for term in terms]


def _raw_tokens(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, raw_text)`` for each word part, joining line-end hyphenation."""
    for word in _WORD_RE.finditer(text):
        if _JOINERS.isdisjoint(word.group()):
            yield word.start(), word.end(), word.group()
        else:
            yield from _split_word(word.group(), word.start())


def _split_word(word: str, offset: int) -> Iterator[tuple[int, int, str]]:
    """Split a hyphenated word into parts; join a part broken at a line's end with the next."""
    parts = list(_PART_RE.finditer(word))
    start, end, raw = offset + parts[0].start(), offset + parts[0].end(), parts[0].group()
    for previous, part in zip(parts, parts[1:], strict=False):
        gap = word[previous.end() : part.start()]
        if "\n" in gap and part.group()[0].islower() and previous.group()[-1].isalpha():
            end, raw = offset + part.end(), raw + part.group()
            continue
        yield start, end, raw
        start, end, raw = offset + part.start(), offset + part.end(), part.group()
    yield start, end, raw


def tokenize(text: str) -> list[str]:
    """Return the search terms of ``text`` with the default analysis.

    Args:
        text: Page text, a title, or a query word.

    Returns:
        The folded terms, in order.
    """
    return DEFAULT_ANALYZER.terms(text)
