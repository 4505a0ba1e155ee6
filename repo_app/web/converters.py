"""URL converters shared by every blueprint."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Map
from werkzeug.routing.converters import IntegerConverter

#: The largest id any table holds: ids are ``INTEGER`` (int4 on PostgreSQL, 2**31 - 1; SQLite
#: takes up to 2**63 - 1). Page numbers and widths in URLs are far below it as well.
MAX_ID = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` bounded to what the database can hold, so a larger number is a 404.

    Without the bound ``/documents/99999999999999999999`` reached the database and failed there
    with ``OverflowError`` (SQLite) or ``NumericValueOutOfRange`` (PostgreSQL): a 500 on every
    route with an id (issue 18). Registered as ``int`` on the app, it covers every route at once.
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def db_int(value: str) -> int:
    """An integer query argument within the database's range, for ``args.get(..., type=db_int)``.

    A larger or negative number raises ``ValueError``, so Werkzeug gives the argument's default
    instead of passing a number to the database that it cannot hold (a 500, issue 18).
    """
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"out of range: {value[:20]}")
    return number


def form_id(value: str | None) -> int | None:
    """The id a hidden form field holds, or None when it holds none the database could have."""
    try:
        return db_int(value or "")
    except ValueError:  # empty, not a number ("²" passes isdigit), or out of range
        return None
