"""Filters and facet counts over matching documents, the same for every engine.

A filter maps a facet name (``collection``, ``doc_type``, ``language``) to the values wanted:
a document passes when, for every name, one of its values is among them (values of one name are
alternatives; names combine with AND). Facet counts are "disjunctive": a facet's counts apply
every filter except its own, so choosing a collection does not hide the other collections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mura.app.search.types import FACET_KEYS

#: Filters after validation: facet name -> accepted values (never empty).
Filters = dict[str, frozenset[str]]


@dataclass(frozen=True)
class FacetValues:
    """The facet values of one document.

    Attributes:
        collections: Slugs of the document's collections (it counts in each).
        doc_type: Document type.
        languages: Tesseract language codes.
    """

    collections: tuple[str, ...]
    doc_type: str
    languages: tuple[str, ...]

    def values(self, key: str) -> tuple[str, ...]:
        """Return the document's values for facet ``key``."""
        if key == "collection":
            return self.collections
        if key == "doc_type":
            return (self.doc_type,) if self.doc_type else ()
        return self.languages


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


def passes(doc: FacetValues, filters: Filters, *, ignore: str | None = None) -> bool:
    """Whether ``doc`` passes every filter except the one named ``ignore``."""
    return all(
        key == ignore or not wanted.isdisjoint(doc.values(key)) for key, wanted in filters.items()
    )


def count_facets(docs: Iterable[FacetValues], filters: Filters) -> dict[str, dict[str, int]]:
    """Count matching documents per facet value, each facet ignoring its own filter.

    Args:
        docs: Facet values of every document that matches the query (before filters).
        filters: The filters of the search.

    Returns:
        Facet name -> value -> number of documents, most frequent value first.
    """
    counters = {key: Counter[str]() for key in FACET_KEYS}
    for doc in docs:
        for key, counter in counters.items():
            if passes(doc, filters, ignore=key):
                counter.update(set(doc.values(key)))
    return {
        key: dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
        for key, counter in counters.items()
    }
