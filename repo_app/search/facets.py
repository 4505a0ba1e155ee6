"""Filters and facet counts over matching documents, the same for every engine.

A filter maps a facet name (:data:`~mura.app.search.types.FACET_KEYS`) to the values wanted:
a document passes when, for every name, one of its values is among them (values of one name are
alternatives; names combine with AND). Facet counts are "disjunctive": a facet's counts apply
every filter except its own, so choosing a collection does not hide the other collections. A
range of years (:class:`~mura.app.search.types.YearRange`) is not a facet: it applies to every
count.

The engines count over their own columns (numpy for Whoosh, aggregations for tantivy); this
module is the reference they agree with, used by Whoosh's matcher path and by the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mura.app.search.types import ANY_YEAR, CHRONOLOGICAL_FACETS, FACET_KEYS, YearRange

#: Filters after validation: facet name -> accepted values (never empty).
Filters = dict[str, frozenset[str]]


@dataclass(frozen=True)
class FacetValues:
    """The facet values of one document.

    Attributes:
        collections: Slugs of the document's collections (it counts in each).
        doc_type: Document type.
        languages: Tesseract language codes.
        others: Values of the other facets (decade, year, source, author, subject).
        day: Sort date as a day number (0: undated).
    """

    collections: tuple[str, ...]
    doc_type: str
    languages: tuple[str, ...]
    others: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    day: int = 0

    def values(self, key: str) -> tuple[str, ...]:
        """Return the document's values for facet ``key``."""
        if key == "collection":
            return self.collections
        if key == "doc_type":
            return (self.doc_type,) if self.doc_type else ()
        if key == "language":
            return self.languages
        return tuple(self.others.get(key, ()))

    @property
    def year(self) -> int | None:
        """Year of publication, if known."""
        years = self.others.get("year", ())
        return int(years[0]) if years else None


def normalize_filters(filters: Mapping[str, Sequence[str]] | None) -> Filters:
    """Validate filters and drop names without values.

    Args:
        filters: Facet name -> wanted values, as passed to ``search()``.

    Returns:
        The filters as sets.

    Raises:
        ValueError: On a name that is not a facet.
    """
    result: Filters = {}
    for key, wanted in (filters or {}).items():
        if key not in FACET_KEYS:
            raise ValueError(f"unknown search filter {key!r}; expected one of {FACET_KEYS}")
        if isinstance(wanted, str):
            wanted = [wanted]
        values = frozenset(value for value in wanted if value)
        if values:
            result[key] = values
    return result


def passes(
    doc: FacetValues, filters: Filters, *, ignore: str | None = None, years: YearRange = ANY_YEAR
) -> bool:
    """Whether ``doc`` is in ``years`` and passes every filter except the one named ``ignore``."""
    return years.keeps(doc.year) and all(
        key == ignore or not wanted.isdisjoint(doc.values(key)) for key, wanted in filters.items()
    )


def count_facets(
    docs: Iterable[FacetValues], filters: Filters, years: YearRange = ANY_YEAR
) -> dict[str, dict[str, int]]:
    """Count matching documents per facet value, each facet ignoring its own filter.

    Args:
        docs: Facet values of every document that matches the query (before filters).
        filters: The filters of the search.
        years: The range of years kept (it applies to every facet).

    Returns:
        Facet name -> value -> number of documents (:func:`ordered`).
    """
    counters = {key: Counter[str]() for key in FACET_KEYS}
    for doc in docs:
        for key, counter in counters.items():
            if passes(doc, filters, ignore=key, years=years):
                counter.update(set(doc.values(key)))
    return {key: ordered(key, counter) for key, counter in counters.items()}


def ordered(key: str, counts: Mapping[str, int]) -> dict[str, int]:
    """A facet's counts in the order shown: most frequent first; years and decades newest first."""
    items = [(value, n) for value, n in counts.items() if n]
    if key in CHRONOLOGICAL_FACETS:
        return dict(sorted(items, key=lambda item: item[0], reverse=True))
    return dict(sorted(items, key=lambda item: (-item[1], item[0])))


def date_order(
    ranked: Sequence[tuple[int, float]], days: Mapping[int, int], *, newest: bool
) -> list[tuple[int, float]]:
    """Dated documents by date (ties: by score, then id), then the undated ones by score.

    Args:
        ranked: ``(document id, score)`` pairs.
        days: Document id -> sort day (0: undated).
        newest: Newest first, else oldest first.
    """
    dated = [item for item in ranked if days.get(item[0], 0)]
    undated = [item for item in ranked if not days.get(item[0], 0)]
    sign = -1 if newest else 1
    dated.sort(key=lambda item: (days[item[0]] * sign, -item[1], item[0]))
    undated.sort(key=lambda item: (-item[1], item[0]))
    return dated + undated
