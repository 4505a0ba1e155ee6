"""Near misses of query words in the index (OCR errors): a fallback that never scans the index.

OCR misreads letters (``Қарағаиды`` for ``Қарағанды``), so a page may hold a word only with an
error. When the exact query finds little (fewer than :data:`FUZZY_BELOW` documents), the
engine asks :func:`with_near_misses` for the index terms one edit away from each query word (a
letter replaced, dropped or added, or two neighbours swapped) and searches again with them as
lower-scored alternatives.

The candidates are *generated* from the word, about 80 per letter, keeping its first
:data:`PREFIX` letters, and each is looked up in the index's term dictionary (a hash or B-tree
lookup in any engine). The cost grows with the word's length, never with the size of the OCR
vocabulary, unlike an automaton or a prefix expansion run over every term of the index
(docs/design-notes.md, "Search"). Only words of :data:`MIN_LENGTH` letters or more are expanded: one
edit turns a short word into another real word (``қала`` -> ``бала``, ``дала``, ``қара``).

The near terms go through the same analysis as everything else: they are index terms (stems),
found next to the query word's own stems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from mura.app.search.query import ParsedQuery

#: The exact query must find fewer documents than this for near misses to be looked up.
FUZZY_BELOW = 3
#: Shortest term expanded.
MIN_LENGTH = 5
#: Letters at the start of a term that an edit never changes.
PREFIX = 1
#: Most near terms kept per query word (the most frequent in the index).
MAX_NEAR = 8
#: How many of a word's Cyrillic alternatives (its likeliest readings) are expanded. Latin
#: alternatives are not: the collections are OCR'd in Cyrillic.
ALTERNATIVES_EXPANDED = 2
#: Letters an edit may write (``ё`` is folded to ``е`` before indexing).
LETTERS = "абвгғдежзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"

#: Number of index entries containing a term of the page text field (0: not in the index).
DocFrequency = Callable[[str], int]

_CYRILLIC_WORD_RE = re.compile("[\u0400-\u052f]+")


def one_edit(term: str, prefix: int = PREFIX) -> set[str]:
    """Return every string one edit away from ``term`` that keeps its first ``prefix`` letters.

    Edits: replace a letter, drop a letter, add a letter, swap two neighbouring letters
    (Damerau-Levenshtein distance 1); the letters written are Cyrillic.

    Args:
        term: A folded index term.
        prefix: Letters at the start left alone.

    Returns:
        The variants, without ``term`` itself.
    """
    variants: set[str] = set()
    for i in range(prefix, len(term) + 1):
        head, tail = term[:i], term[i:]
        variants.update(head + letter + tail for letter in LETTERS)  # added
        if tail:
            variants.add(head + tail[1:])  # dropped
            variants.update(head + letter + tail[1:] for letter in LETTERS)  # replaced
        if len(tail) > 1:
            variants.add(head + tail[1] + tail[0] + tail[2:])  # swapped
    variants.discard(term)
    return variants


def near_terms(term: str, doc_frequency: DocFrequency, *, limit: int = MAX_NEAR) -> list[str]:
    """Return the index terms one edit away from ``term``, most frequent first.

    Args:
        term: A folded index term; shorter than :data:`MIN_LENGTH`, or not all Cyrillic
            letters: none.
        doc_frequency: The index's document frequency of a term of the page text.
        limit: Most terms returned.
    """
    if len(term) < MIN_LENGTH or not _CYRILLIC_WORD_RE.fullmatch(term):
        return []
    found = []
    for variant in one_edit(term):
        frequency = doc_frequency(variant)
        if frequency:
            found.append((-frequency, variant))
    return [variant for _, variant in sorted(found)[:limit]]


def with_near_misses(parsed: ParsedQuery, doc_frequency: DocFrequency) -> ParsedQuery:
    """Return ``parsed`` with the near misses of every word of its groups (not its exclusions).

    Args:
        parsed: The query as parsed.
        doc_frequency: The index's document frequency of a term of the page text.

    Returns:
        The same query whose clauses carry ``near`` terms; ``parsed`` itself when no word has
        any.
    """
    found_any = False
    groups = []
    for group in parsed.groups:
        clauses = []
        for clause in group:
            near = tuple(_near_position(position, doc_frequency) for position in clause.positions)
            found_any = found_any or any(near)
            clauses.append(replace(clause, near=near) if any(near) else clause)
        groups.append(tuple(clauses))
    return replace(parsed, groups=tuple(groups)) if found_any else parsed


def _near_position(alternatives: tuple[str, ...], doc_frequency: DocFrequency) -> tuple[str, ...]:
    cyrillic = [term for term in alternatives if _CYRILLIC_WORD_RE.fullmatch(term)]
    near: dict[str, None] = {}
    for alternative in cyrillic[:ALTERNATIVES_EXPANDED]:
        near.update(dict.fromkeys(near_terms(alternative, doc_frequency)))
    return tuple(term for term in near if term not in alternatives)
