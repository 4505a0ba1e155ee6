"""Hardening (issue 18, findings 5 and 6): hostile input gets a 404, an OAI error or a clear
message, never a 500 or a traceback; what Mura publishes never carries a forged Host; what it
writes under MURA_HOME is readable by its own user only."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.auth_helpers import logged_in, make_user

#: Past PostgreSQL's integer (2**31), SQLite's and bigint (2**63), and far past (issue 18: 500s).
HUGE_IDS = (2**31, 2**63, 10**30)


def _int_rules(app: Flask) -> list[Rule]:
    """Every rule of the app with at least one ``int`` argument."""
    from werkzeug.routing.converters import IntegerConverter

    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
    ]


def _path(rule: Rule, value: int) -> str:
    """The rule's path with ``value`` for every int argument (and "en" for any other)."""
    from werkzeug.routing.converters import IntegerConverter

    path = rule.rule
    for name, converter in rule._converters.items():
        kind = "int" if isinstance(converter, IntegerConverter) else None
        token = f"<{kind}:{name}>" if kind else f"<{name}>"
        path = path.replace(token, str(value) if kind else "en")
    return path


@pytest.mark.parametrize("role", ["anonymous", "admin", "staff"])
def test_huge_ids_are_404_on_every_int_route(app: Flask, role: str) -> None:
    """Walk every route with an int converter: ids past the database's range are never a 500."""
    rules = _int_rules(app)
    assert len(rules) >= 40, [r.rule for r in rules]
    if role == "anonymous":
        client = app.test_client()
    else:
        client = logged_in(app, make_user(f"u-{role}", role, "central"))
    failures = []
    for rule in rules:
        for value in HUGE_IDS:
            path = _path(rule, value)
            assert "<" not in path, path
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                try:
                    response = client.open(path, method=method)
                except Exception as exc:  # noqa: BLE001 - TESTING propagates what would be a 500
                    failures.append((method, path, repr(exc)[:80]))
                    continue
                if response.status_code >= 500:
                    failures.append((method, path, response.status_code))
                elif role == "admin" and response.status_code not in (404, 405):
                    failures.append((method, path, response.status_code))
    assert not failures, failures


def test_huge_numbers_in_queries_and_forms_are_no_500(app: Flask) -> None:
    """Query arguments and form fields that name an id or a page are bounded like the URLs."""
    from repo_app.extensions import db
    from repo_app.models import CatalogueRecord, Collection
    from repo_app.services import records
    from tests.catalogue_helpers import iso, make_document, marc21_book

    document = make_document("Қарағанды")
    collection = Collection(slug="karlag", title="Карлаг")
    db.session.add(collection)
    db.session.commit()
    records.import_marc(iso(marc21_book()))
    record_id = db.session.scalar(db.select(CatalogueRecord.id))
    admin = logged_in(app, make_user("boss", "admin", "central"))
    anonymous = app.test_client()
    huge = str(10**30)
    for client, path in (
        (anonymous, f"/recent?page={huge}"),
        (anonymous, f"/requests/new?record={huge}"),
        (anonymous, f"/search?q=x&page={huge}"),
        (anonymous, f"/documents/{document.id}?from={huge}"),
        (anonymous, f"/read/{document.id}?p={huge}&zoom={huge}"),
        (admin, f"/admin/rights/documents?id={huge}"),
        (admin, f"/admin/audit?page={huge}"),
        (admin, f"/admin/reports/?year={huge}"),
    ):
        assert client.get(path).status_code < 500, path
    for path, data in (
        (f"/staff/records/{record_id}/documents", {"document_id": huge}),
        (f"/staff/collections/{collection.id}/documents", {"document_id": huge}),
        ("/requests/new", {"record_id": huge, "name": "Айгүл", "email": "a@example.kz"}),
        ("/requests/new", {"record_id": "²", "name": "Айгүл", "email": "a@example.kz"}),
    ):
        response = admin.post(path, data=data, follow_redirects=True)
        assert response.status_code < 500, path
        if "documents" in path:
            assert "No such document" in response.get_data(as_text=True), path
