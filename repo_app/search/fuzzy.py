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

**Bounded work.** Whatever a reader types, the lookups are bounded: only the first
:data:`MAX_WORDS` words of a query are expanded, only terms of :data:`MIN_LENGTH` to
:data:`MAX_LENGTH` letters, at most :data:`MAX_CANDIDATES` candidates a term, and at most
:data:`MAX_LOOKUPS` lookups in all, shared fairly between the words (:class:`LookupBudget`). The
web app gives each request one budget (:func:`request_budget`), so a request that runs the
fallback several times (the reader: the document's matching pages, then the page's boxes; the
search page: the ranking, the hits, "did you mean") looks each term up once and stays within
one budget. Before these bounds, twelve made-up 40-letter words cost 37,904 lookups and 2 s a
request (issue 18).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from itertools import islice

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
#: Longest term expanded: a real stem is shorter; a longer one is a pasted string, not a word.
MAX_LENGTH = 20
#: Most candidates looked up for one term (a term of :data:`MAX_LENGTH` letters has ~1,650).
MAX_CANDIDATES = 1700
#: Most query words (positions) whose near misses are looked up; later words get none.
MAX_WORDS = 6
#: Most index lookups for near misses in one request (or one call outside a request).
MAX_LOOKUPS = 2500
#: Letters an edit may write (``ё`` is folded to ``е`` before indexing).
LETTERS = "абвгғдежзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"

#: Number of index entries containing a term of the page text field (0: not in the index).
DocFrequency = Callable[[str], int]

_CYRILLIC_WORD_RE = re.compile("[\u0400-\u052f]+")


@dataclass
class LookupBudget:
    """How many index lookups near misses may still cost, and the near terms already found.

    Attributes:
        remaining: Lookups left.
        used: Lookups made so far (what the benchmark and the tests count).
        found: Term -> its near terms (most frequent first, at most :data:`MAX_NEAR`), so a
            request that asks again for the same term pays nothing.
    """

    remaining: int = MAX_LOOKUPS
    used: int = 0
    found: dict[str, list[str]] = field(default_factory=dict)


_BUDGET: ContextVar[LookupBudget | None] = ContextVar("mura_fuzzy_budget", default=None)


def current_budget() -> LookupBudget | None:
    """The budget of the request being answered (:func:`request_budget`), if any."""
    return _BUDGET.get()


def request_budget(lookups: int = MAX_LOOKUPS) -> Token[LookupBudget | None]:
    """Give the work that follows (one request) a fresh budget; returns the token to reset it."""
    return _BUDGET.set(LookupBudget(lookups))


def end_request_budget(token: Token[LookupBudget | None]) -> None:
    """Drop the request's budget (:func:`request_budget`); tolerant of a foreign context."""
    try:
        _BUDGET.reset(token)
    except ValueError:  # the token was made in another context: just forget the budget
        _BUDGET.set(None)


def _budget(budget: LookupBudget | None) -> LookupBudget:
    return budget or current_budget() or LookupBudget()


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


def candidates(term: str, prefix: int = PREFIX) -> Iterator[str]:
    """Yield :func:`one_edit`'s variants once each, in a fixed order, likeliest edits first.

    OCR mostly misreads a letter, so replacements come first, then dropped letters, swapped
    neighbours and added letters; a cut list (:data:`MAX_CANDIDATES`, the budget) keeps the
    likeliest, and the same on every run (a set's order changes between processes).
    """
    seen = {term}
    positions = range(prefix, len(term))
    edits = (
        (term[:i] + letter + term[i + 1 :] for i in positions for letter in LETTERS),
        (term[:i] + term[i + 1 :] for i in positions),
        (term[:i] + term[i + 1] + term[i] + term[i + 2 :] for i in positions[:-1]),
        (term[:i] + letter + term[i:] for i in range(prefix, len(term) + 1) for letter in LETTERS),
    )
    for generated in edits:
        for variant in generated:
            if variant not in seen:
                seen.add(variant)
                yield variant


def near_terms(
    term: str,
    doc_frequency: DocFrequency,
    *,
    limit: int = MAX_NEAR,
    budget: LookupBudget | None = None,
    allowance: int = MAX_CANDIDATES,
) -> list[str]:
    """Return the index terms one edit away from ``term``, most frequent first.

    Args:
        term: A folded index term; shorter than :data:`MIN_LENGTH`, longer than
            :data:`MAX_LENGTH`, or not all Cyrillic letters: none.
        doc_frequency: The index's document frequency of a term of the page text.
        limit: Most terms returned (at most :data:`MAX_NEAR` are kept for later calls).
        budget: The lookups left; default: the request's (:func:`request_budget`), else a
            fresh :data:`MAX_LOOKUPS`.
        allowance: Most lookups for this term (capped by :data:`MAX_CANDIDATES` and the budget).
    """
    if not MIN_LENGTH <= len(term) <= MAX_LENGTH or not _CYRILLIC_WORD_RE.fullmatch(term):
        return []
    budget = _budget(budget)
    known = budget.found.get(term)
    if known is not None:
        return known[:limit]
    lookups = max(0, min(allowance, MAX_CANDIDATES, budget.remaining))
    found = []
    made = 0
    for variant in islice(candidates(term), lookups):
        made += 1
        frequency = doc_frequency(variant)
        if frequency:
            found.append((-frequency, variant))
    budget.remaining -= made
    budget.used += made
    ranked = [variant for _, variant in sorted(found)[: max(limit, MAX_NEAR)]]
    budget.found[term] = ranked
    return ranked[:limit]


def with_near_misses(
    parsed: ParsedQuery, doc_frequency: DocFrequency, budget: LookupBudget | None = None
) -> ParsedQuery:
    """Return ``parsed`` with the near misses of the words of its groups (not its exclusions).

    Only the first :data:`MAX_WORDS` words that can have near misses are expanded, each with an
    equal share of what is left of the budget.

    Args:
        parsed: The query as parsed.
        doc_frequency: The index's document frequency of a term of the page text.
        budget: The lookups left; default: the request's, else a fresh :data:`MAX_LOOKUPS`.

    Returns:
        The same query whose clauses carry ``near`` terms; ``parsed`` itself when no word has
        any.
    """
    budget = _budget(budget)
    expandable = [
        position
        for group in parsed.groups
        for clause in group
        for position in clause.positions
        if _expanded(position)
    ][:MAX_WORDS]
    chosen = {id(position) for position in expandable}
    left = len(expandable)
    found_any = False
    groups = []
    for group in parsed.groups:
        clauses = []
        for clause in group:
            near = []
            for position in clause.positions:
                if id(position) in chosen:
                    share = budget.remaining // max(left, 1)
                    near.append(_near_position(position, doc_frequency, budget, share))
                    left -= 1
                else:
                    near.append(())
            found_any = found_any or any(near)
            clauses.append(replace(clause, near=tuple(near)) if any(near) else clause)
        groups.append(tuple(clauses))
    return replace(parsed, groups=tuple(groups)) if found_any else parsed


def _expanded(alternatives: Sequence[str]) -> list[str]:
    """The alternatives of a word whose near misses are looked up (its likeliest Cyrillic)."""
    return [
        term
        for term in alternatives
        if _CYRILLIC_WORD_RE.fullmatch(term) and MIN_LENGTH <= len(term) <= MAX_LENGTH
    ][:ALTERNATIVES_EXPANDED]


def _near_position(
    alternatives: tuple[str, ...], doc_frequency: DocFrequency, budget: LookupBudget, share: int
) -> tuple[str, ...]:
    expanded = _expanded(alternatives)
    near: dict[str, None] = {}
    for index, alternative in enumerate(expanded):
        allowance = share // (len(expanded) - index) if share else 0
        before = budget.remaining
        near.update(
            dict.fromkeys(
                near_terms(alternative, doc_frequency, budget=budget, allowance=allowance)
            )
        )
        share -= before - budget.remaining
    return tuple(term for term in near if term not in alternatives)
