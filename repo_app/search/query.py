"""Parse what a reader types into a small, engine-independent query.

The grammar is deliberately small and never fails: any input gives a query (possibly empty).

- words are required (AND): ``кітапхана оқырман``;
- ``"quoted words"`` (also «ёлочки» and “curly quotes”) form a phrase;
- ``OR`` between two parts makes either enough: ``Алматы OR Астана``; ``AND`` is the default
  and is ignored; ``NOT word`` or ``-word`` excludes the pages that contain it;
- a word that analysis splits into several terms (``ҚР-ның``, ``13-ші``) is a phrase of them;
- each word matches any of its :meth:`~mura.app.search.analysis.Analyzer.alternatives` (its
  stems, its spellings in the other script): ``кітапхана`` finds ``кітапханалардың`` and
  ``Qarağandy`` finds ``Қарағанды``; Latin words written with the 2017 apostrophes
  (``Qarag'andy``) are read as one word;
- everything else is plain text: an unbalanced quote is dropped, punctuation such as ``*``,
  ``:`` or ``(`` is not syntax and is removed by the analysis, and words that analyse to nothing
  (one letter, punctuation) are skipped.

Input is cut to :data:`MAX_QUERY_CHARS` characters, :data:`MAX_CLAUSES` parts and
:data:`MAX_TERMS` words in all (a long quoted phrase is one part of many words) so that a pasted
page of text cannot make a query that takes minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mura.app.search.analysis import DEFAULT_ANALYZER, Analyzer
from mura.app.search.translit import join_apostrophes

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 24
#: Most words of a query, phrases' words included; the rest is ignored.
MAX_TERMS = 32

_QUOTES = str.maketrans(dict.fromkeys("«»“”„‟″", '"'))
_LEX_RE = re.compile(r'(?P<neg>-?)"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+)')
_OPERATORS = {"AND": "and", "&&": "and", "OR": "or", "||": "or", "NOT": "not"}


@dataclass(frozen=True)
class Clause:
    """One required unit of a query: a single word or a phrase of words.

    Attributes:
        terms: The words as folded (not stemmed); one word is a term query, several a phrase.
        alternatives: For each word, the index terms any one of which matches it (its stems
            and spellings); the word itself when empty.
        near: For each word, index terms one letter away from an alternative (OCR errors),
            added only by the fuzzy fallback (:mod:`mura.app.search.fuzzy`), scored lower.
    """

    terms: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...] = ()
    near: tuple[tuple[str, ...], ...] = ()

    @property
    def is_phrase(self) -> bool:
        """Whether the clause needs its terms next to each other, in order."""
        return len(self.terms) > 1

    @property
    def positions(self) -> tuple[tuple[str, ...], ...]:
        """For each word, the index terms that match it exactly (its alternatives)."""
        return self.alternatives or tuple((term,) for term in self.terms)

    @property
    def near_positions(self) -> tuple[tuple[str, ...], ...]:
        """For each word, its near misses (empty tuples without the fuzzy fallback)."""
        return self.near or tuple(() for _ in self.terms)


@dataclass(frozen=True)
class ParsedQuery:
    """A query as an AND of OR-groups of clauses, minus excluded clauses.

    Attributes:
        groups: Each group must match; within a group one clause is enough.
        excluded: Pages matching any of these do not match.
    """

    groups: tuple[tuple[Clause, ...], ...] = ()
    excluded: tuple[Clause, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether nothing is required, so nothing can match."""
        return not self.groups

    def positive_terms(self) -> frozenset[str]:
        """Every index term a match can contain: the terms to highlight."""
        return frozenset(
            term
            for group in self.groups
            for clause in group
            for position in (*clause.positions, *clause.near_positions)
            for term in position
        )


def parse_query(text: str, analyzer: Analyzer = DEFAULT_ANALYZER) -> ParsedQuery:
    """Parse a reader's query; never raises on any string.

    Args:
        text: The query as typed.
        analyzer: The analysis used for the index, so query terms match indexed terms.

    Returns:
        The parsed query; ``is_empty`` when nothing searchable was typed.
    """
    text = join_apostrophes(text[:MAX_QUERY_CHARS].translate(_QUOTES))
    if text.count('"') % 2:
        last = text.rindex('"')
        text = text[:last] + " " + text[last + 1 :]
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    pending_or = pending_not = False
    terms_left = MAX_TERMS
    for match in _LEX_RE.finditer(text):
        if len(groups) + len(excluded) >= MAX_CLAUSES or terms_left <= 0:
            break
        word = match.group("word")
        operator = _OPERATORS.get(word) if word else None
        if operator == "or":
            pending_or = bool(groups)
            continue
        if operator == "not":
            pending_not = True
            continue
        if operator == "and":
            continue
        negated = pending_not or bool(match.group("neg")) or (word or "").startswith("-")
        clause = _clause(match.group("phrase") if word is None else word, analyzer)
        if clause is None:
            pending_or = pending_not = False
            continue
        if len(clause.terms) > terms_left:
            clause = Clause(clause.terms[:terms_left], clause.alternatives[:terms_left])
        terms_left -= len(clause.terms)
        if negated:
            excluded.append(clause)
        elif pending_or:
            groups[-1].append(clause)
        else:
            groups.append([clause])
        pending_or = pending_not = False
    return ParsedQuery(tuple(tuple(group) for group in groups), tuple(excluded))


def _clause(text: str, analyzer: Analyzer) -> Clause | None:
    terms = tuple(analyzer.terms(text))
    if not terms:
        return None
    return Clause(terms, tuple(analyzer.alternatives(term) for term in terms))
