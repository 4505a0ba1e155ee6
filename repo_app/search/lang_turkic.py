"""Suffix stripping shared by the Kazakh and Kyrgyz stemmers; the rules live in their modules.

A Turkic noun is a stem followed by a chain of suffixes: plural, possessive, case
(``кітап|хана|лар|ымыз|дың``). Each suffix has several written forms: its vowel follows the
vowels of the word (vowel harmony) and its first consonant follows the sound before it
(``-лар`` after a vowel, ``-дар`` after ``м``, ``-тар`` after ``т``). The language modules
write each suffix once as a *template* with capital letters for the sounds that vary
(``лAр``, ``дIң``) and say which letters it may follow; :func:`expand_templates` writes out
every form, remembering which harmony class of word takes it.

:class:`SuffixStripper` then removes, repeatedly, the longest suffix form that may follow the
rest of the word, as long as the rest keeps at least ``min_stem`` letters and a vowel. The
result is a search key, not a dictionary form: it only has to be the same for the forms of one
word and different for different words. Stripping one suffix at a time from the end, with no
memory of what was removed, keeps it consistent: a form and the same form with one more suffix
always get the same key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One suffix written once for all its forms.

    Attributes:
        pattern: The suffix; capital letters are resolved per harmony class by the language's
            ``archiphonemes`` table (``A`` -> ``а``/``е``, ``I`` -> ``ы``/``і``, ...).
        after: What the stem may end with: a string of letters, or a tuple of endings.
        any_harmony: The suffix has one form whatever the word's vowels (``-мен``).
    """

    pattern: str
    after: str | tuple[str, ...]
    any_harmony: bool = False


@dataclass(frozen=True)
class SuffixForm:
    """One written form of a suffix.

    Attributes:
        after: The endings the stem may have (single letters, or longer).
        harmony: Harmony classes of the words that take this form; empty for any.
    """

    after: tuple[str, ...]
    harmony: frozenset[str]


def expand_templates(
    templates: Iterable[Template],
    vowel_class: Mapping[str, str],
    archiphonemes: Mapping[str, Mapping[str, str]],
) -> dict[str, list[SuffixForm]]:
    """Write out every form of every template.

    A template is written once for each harmony class: each capital letter takes its value
    for the current class, and a vowel written (literal or resolved) makes its own class the
    current one, which is how Kyrgyz ``-сIнA`` becomes ``-суна`` after ``о`` (``жобосуна``).

    Args:
        templates: The language's suffix templates.
        vowel_class: Harmony class of each vowel.
        archiphonemes: Capital letter -> harmony class -> letter.

    Returns:
        Written form -> the ways it may be used.
    """
    classes = sorted(set(vowel_class.values()))
    forms: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for template in templates:
        for start in classes:
            current, letters = start, []
            for char in template.pattern:
                letter = archiphonemes[char][current] if char in archiphonemes else char
                current = vowel_class.get(letter, current)
                letters.append(letter)
            after = tuple(sorted(template.after))
            key = ("".join(letters), after)
            forms.setdefault(key, set()).update(() if template.any_harmony else (start,))
    table: dict[str, list[SuffixForm]] = {}
    for (text, after), harmony in forms.items():
        table.setdefault(text, []).append(SuffixForm(after, frozenset(harmony)))
    return table


class SuffixStripper:
    """Longest-match suffix stripping with harmony, a minimum stem and protected words.

    Args:
        suffixes: Written form -> its uses, from :func:`expand_templates`.
        vowels: Every vowel letter; a stem must keep one.
        vowel_class: Harmony class of each vowel that has one, for the suffix's form.
        backness: ``back`` or ``front`` for each vowel that has one; a stem with vowels of both
            is a loanword and may take either form of a suffix.
        min_stem: Fewest letters a stem may keep.
        max_strips: Most suffixes removed from one word.
        protected: Words never cut, and at which cutting stops (``қарағанды`` is not
            ``қараған`` + ``-ды``).
        devoice: Last letter of the key -> its voiceless partner (``кітаб|ы`` -> ``кітап``);
            applied to every key, with or without a suffix, so that both sides agree.
    """

    def __init__(
        self,
        suffixes: Mapping[str, list[SuffixForm]],
        *,
        vowels: str,
        vowel_class: Mapping[str, str],
        backness: Mapping[str, str],
        min_stem: int,
        max_strips: int,
        protected: Collection[str] = (),
        devoice: Mapping[str, str] | None = None,
    ) -> None:
        self._suffixes = dict(suffixes)
        self._lengths = sorted({len(text) for text in suffixes}, reverse=True)
        self._vowels = frozenset(vowels)
        self._vowel_class = dict(vowel_class)
        self._backness = dict(backness)
        self._min_stem = min_stem
        self._max_strips = max_strips
        self._protected = frozenset(protected)
        self._devoice = dict(devoice or {})

    def stem(self, word: str) -> str:
        """Return the search key of a lowercase word."""
        if word in self._protected:
            return word
        for _ in range(self._max_strips):
            shorter = self._strip_one(word)
            if shorter is None:
                break
            word = shorter
            if word in self._protected:
                return word
        last = self._devoice.get(word[-1]) if word else None
        return word[:-1] + last if last else word

    def _strip_one(self, word: str) -> str | None:
        """Return ``word`` without its longest removable suffix, or ``None``."""
        for length in self._lengths:
            if len(word) - length < self._min_stem:
                continue
            uses = self._suffixes.get(word[-length:])
            if uses is None:
                continue
            stem = word[:-length]
            if any(self._may_take(stem, use) for use in uses):
                return stem
        return None

    def _may_take(self, stem: str, use: SuffixForm) -> bool:
        if not stem.endswith(use.after):
            return False
        if self._vowels.isdisjoint(stem):
            return False
        if not use.harmony:
            return True
        last = next(letter for letter in reversed(stem) if letter in self._vowels)
        if last not in self._backness:
            return True  # a neutral last vowel (Kazakh и, у): either form may follow
        if len({self._backness[v] for v in stem if v in self._backness}) > 1:
            return True  # a loanword with back and front vowels: either form may follow
        return self._vowel_class[last] in use.harmony
