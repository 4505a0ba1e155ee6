"""Browse the public documents by author, by subject and by date (decade, then year).

What a librarian expects beside the search box (Omeka S, DSpace): the catalogue records' authors
and subject headings, each with the number of public documents, in alphabetical pages, and the
years of publication grouped by decade. Each entry links to the search filtered by it
(``/search?author=…``, ``subject=…``, ``from=…&to=…``: the parameter names the search
page's filters use; with no words typed the search page lists the documents,
:mod:`.listing`).

Only documents the public may read in full count (:func:`visibility.public_condition`, as the
search index holds exactly these): a restricted, unpublished or withdrawn document adds nothing to
a count and shows no name. Work is bounded: one grouped query per page of
:data:`PER_PAGE` entries and one to count them; dates are one grouped query of the distinct years.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select

from mura.app.extensions import db
from mura.app.models import Document, RecordAgent, RecordSubject
from mura.app.models.record import CREATOR_ROLES
from mura.app.modules.rights import visibility

#: Entries per page of authors or subjects.
PER_PAGE = 60
#: The furthest page (a larger ``?page=`` costs an offset query over every name for nothing).
MAX_PAGE = 1000
#: Kinds of subject access that are classification numbers, not headings a reader browses.
CLASSIFICATION_KINDS = ("udc", "bbk", "ddc", "classification")
#: Longest prefix a reader may filter a list by (the first letters of a name).
MAX_PREFIX = 40


@dataclass(frozen=True)
class Entry:
    """One name of a list and how many public documents it has."""

    name: str
    count: int


@dataclass(frozen=True)
class EntryPage:
    """One page of a list of names: its entries, its number and how many there are in all."""

    entries: list[Entry]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Decade:
    """A decade (its first year), its public documents, and their counts by year."""

    start: int
    count: int
    years: list[Entry]


def authors(page: int = 1, prefix: str = "") -> EntryPage:
    """The authors (creators) of the public documents' catalogue records, alphabetically."""
    name = func.trim(RecordAgent.name)
    stmt = (
        select(name.label("name"), func.count(distinct(Document.id)).label("n"))
        .join(Document, Document.record_id == RecordAgent.record_id)
        .where(RecordAgent.role.in_(CREATOR_ROLES), visibility.public_condition(), name != "")
    )
    return _page(stmt, name, page, prefix)


def subjects(page: int = 1, prefix: str = "") -> EntryPage:
    """The subject headings and keywords of the public documents' records, alphabetically."""
    term = func.trim(RecordSubject.term)
    stmt = (
        select(term.label("name"), func.count(distinct(Document.id)).label("n"))
        .join(Document, Document.record_id == RecordSubject.record_id)
        .where(
            RecordSubject.kind.not_in(CLASSIFICATION_KINDS),
            visibility.public_condition(),
            term != "",
        )
    )
    return _page(stmt, term, page, prefix)


def _page(stmt: Select, name: ColumnElement[str], page: int, prefix: str) -> EntryPage:
    """One page of ``stmt`` grouped by ``name``, optionally of the names starting ``prefix``."""
    prefix = prefix.strip()[:MAX_PREFIX]
    if prefix:
        # SQLite folds only ASCII letters: the prefix is matched as typed, capitalised, etc.
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        forms = {escaped, escaped.lower(), escaped.upper(), escaped.capitalize()}
        stmt = stmt.where(or_(*(name.like(f"{form}%", escape="\\") for form in sorted(forms))))
    grouped = stmt.group_by(name)
    total = db.session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages, MAX_PAGE)
    rows = db.session.execute(
        grouped.order_by(func.lower(name), name).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return EntryPage([Entry(row.name, int(row.n)) for row in rows], page, pages, total)


def decades() -> list[Decade]:
    """The years of publication of the public documents, by decade, newest first.

    Documents without a year are not counted (they have no place on a time line).
    """
    rows = db.session.execute(
        select(Document.year, func.count(Document.id))
        .where(visibility.public_condition(), Document.year.is_not(None))
        .group_by(Document.year)
        .order_by(Document.year.desc())
    ).all()
    found: dict[int, list[Entry]] = {}
    for year, count in rows:
        found.setdefault(year - year % 10, []).append(Entry(str(year), int(count)))
    return [
        Decade(start, sum(e.count for e in years), sorted(years, key=lambda e: e.name))
        for start, years in found.items()
    ]
