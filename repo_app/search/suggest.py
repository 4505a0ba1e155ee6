"""Did-you-mean: a query with its unknown words replaced by the closest words of the index.

Engine-independent: an engine gives only the number of index entries that hold a term
(:data:`DocFrequency`, a dictionary lookup in any engine), and the logic is here. A word of the
query (operators, excluded words and quoted phrases are left alone) is *unknown* when none of
its alternatives (:meth:`~mura.app.search.analysis.Analyzer.alternatives`: its stems, its
spellings in the other script) is in the index. For an unknown word, the index terms one edit
away from its likeliest Cyrillic stems are looked up (:func:`~mura.app.search.fuzzy.near_terms`,
the same generation as the search's fuzzy fallback), and the most frequent replaces the stem; the
ending the reader typed is kept, so ``библиотекка`` becomes ``библиотека`` and the suggestion
is a word to read and type, not a bare stem.

The cost grows with the length of the words (about 80 lookups per letter), never with the size of
the index; only queries of at most :data:`MAX_WORDS` words are looked at, and the lookups share
the request's budget with the search's own fallback (:class:`~mura.app.search.fuzzy.LookupBudget`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mura.app.search.analysis import DEFAULT_ANALYZER, Analyzer
from mura.app.search.fuzzy import LookupBudget, current_budget, near_terms

#: Number of index entries (pages) holding a term in any searched field; 0 when absent.
DocFrequency = Callable[[str], int]

#: Queries with more words than this get no suggestion.
MAX_WORDS = 6
#: Shorter words are never replaced: one edit turns them into too many other words.
MIN_LENGTH = 5
#: How many Cyrillic alternatives (stems) of an unknown word are expanded: its likeliest.
ALTERNATIVES_CHECKED = 2

_OPERATORS = frozenset({"AND", "OR", "NOT", "&&", "||"})
_PHRASE_RE = re.compile(r'["«“„][^"»”“]*["»”“]')
_CYRILLIC_RE = re.compile("[\u0400-\u052f]+")
_WORD_RE = re.compile(r"(?<![\w-])-?[^\W\d_][^\W_]*(?:-[^\W_]+)*")


def suggest(
    query: str,
    doc_frequency: DocFrequency,
    analyzer: Analyzer = DEFAULT_ANALYZER,
    *,
    known: DocFrequency | None = None,
) -> str | None:
    """Return ``query`` with its unknown words corrected, or ``None`` when none can be.

    Args:
        query: The query as typed.
        doc_frequency: Entries of the index's page text holding a term (near terms are looked
            up there).
        analyzer: The analysis the index was built with.
        known: Entries holding a term in any searched field (title, authors, text), to decide
            that a word is known; default: ``doc_frequency``.

    Returns:
        The corrected query (the other words and the operators as typed), or ``None`` when every
        word is in the index or no unknown word has a near spelling that is.
    """
    known = known or doc_frequency
    quoted = [match.span() for match in _PHRASE_RE.finditer(query)]
    words = [
        match
        for match in _WORD_RE.finditer(query)
        if match.group() not in _OPERATORS
        and not match.group().startswith("-")
        and not any(start <= match.start() < end for start, end in quoted)
    ]
    if not words or len(words) > MAX_WORDS:
        return None
    pieces: list[str] = []
    cursor = 0
    budget = current_budget() or LookupBudget()
    for match in words:
        better = _better_word(match.group(), doc_frequency, known, analyzer, budget)
        if better is not None:
            pieces += [query[cursor : match.start()], better]
            cursor = match.end()
    if not pieces:
        return None
    return "".join([*pieces, query[cursor:]])


def _better_word(
    word: str,
    doc_frequency: DocFrequency,
    known: DocFrequency,
    analyzer: Analyzer,
    budget: LookupBudget,
) -> str | None:
    """The most frequent known spelling one edit from ``word``; None if ``word`` is known."""
    terms = analyzer.terms(word)
    if len(terms) != 1 or len(terms[0]) < MIN_LENGTH or not terms[0].isalpha():
        return None
    term = terms[0]
    alternatives = analyzer.alternatives(term)
    if any(known(alternative) for alternative in alternatives):
        return None
    best: tuple[int, str, str] | None = None  # (frequency, near stem, the stem it replaces)
    stems = [a for a in alternatives if _CYRILLIC_RE.fullmatch(a)][:ALTERNATIVES_CHECKED]
    for stem in stems:
        for near in near_terms(stem, doc_frequency, limit=1, budget=budget):
            frequency = doc_frequency(near)
            if best is None or frequency > best[0]:
                best = (frequency, near, stem)
    if best is None:
        return None
    _, near, stem = best
    corrected = near + term[len(stem) :] if term.startswith(stem) else near
    return _like(word, corrected)


def _like(original: str, replacement: str) -> str:
    """``replacement`` written with the capitalisation of ``original`` (Title or UPPER)."""
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
