"""Nobody but administrators reaches a contract, a holder's contacts or a contract scan.

Checked over every route the app has (``app.url_map``), so a route added later is covered:
every rights screen refuses anonymous visitors, staff and reviewers; and no response of any
route, to anyone who is not an administrator, carries a contact, a contract or its scan.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from mura.app.extensions import db
from mura.app.modules.rights import contracts
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.test_rights import holder, make_record, make_scanned_document, pdf_bytes, sign

SECRETS = {
    "phone": "+7 777 123 45 67",
    "email": "heir.secret@example.kz",
    "address": "Қарағанды, Бұқар жырау даңғылы, 99-77",
    "identity": "ЖСН 540101300123",
}
SCAN_MARKER = "SIGNED-SCAN-SECRET-42"
CONTRACT_NUMBER = "KX-7731/2025"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = make_app(tmp_path / "home", DEFAULT_ACCESS="none")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded(app: Flask) -> dict:
    """A holder with contacts, an online contract with a scan, its document."""
    record = make_record("Құпия шарт кітабы", "KRG-SECRET-1")
    document = make_scanned_document(record, "мәтін")
    author = holder(**SECRETS)
    sign(record, CONTRACT_NUMBER, ["digitize", "publish_online"], date(2025, 1, 1), None)
    contract = contracts.list_contracts()[0]
    contracts.attach_scan(contract, io.BytesIO(pdf_bytes(SCAN_MARKER)), "signed.pdf")
    return {
        "contract_id": contract.id,
        "holder_id": author.id,
        "document_id": document.id,
        "record_id": record.id,
        "lang": "kk",
    }


def url_for_rule(rule: Rule, values: dict) -> str:
    """The rule's path with its arguments filled from ``values`` (1 or "x" when unknown)."""

    def fill(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        return "1" if converter and converter.startswith("int") else "x"

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", fill, rule.rule)


def rights_rules(app: Flask) -> list[Rule]:
    rules = [
        r for r in app.url_map.iter_rules()
        if r.rule.startswith("/admin/rights") or r.endpoint.startswith("admin_rights.")
    ]  # fmt: skip
    assert len(rules) >= 14  # the blueprint is registered, and under /admin
    assert all(r.rule.startswith("/admin/rights") for r in rules)
    return rules


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) & {"GET", "POST"})


def test_every_rights_route_refuses_anyone_but_administrators(app: Flask, seeded: dict) -> None:
    anonymous = app.test_client()
    staff = logged_in(app, make_user("aigerim", "staff"))
    reviewer = logged_in(app, make_user("rauan", "reviewer"))
    admin = logged_in(app, make_user("boss", "admin"))
    for rule in rights_rules(app):
        url = url_for_rule(rule, seeded)
        for method in _methods(rule):
            with anonymous.open(url, method=method) as response:
                assert response.status_code == 302, (method, url)
                assert "/login" in response.location
            with anonymous.open(url, method=method, headers={"Accept": "application/json"}) as r:
                assert r.status_code == 401, (method, url)
            for client in (staff, reviewer):
                with client.open(url, method=method) as response:
                    assert response.status_code == 403, (method, url)
        if "GET" in _methods(rule):
            with admin.get(url) as response:
                assert response.status_code in (200, 302), url  # reachable for administrators


def _every_response(app: Flask, client: FlaskClient, values: dict) -> Iterator[tuple[str, bytes]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout"):
            continue
        url = url_for_rule(rule, values)
        for method in _methods(rule):
            with client.open(url, method=method, follow_redirects=True) as response:
                yield f"{method} {url}", response.get_data()


def test_no_route_shows_contacts_contracts_or_scans_to_the_public_or_staff(
    app: Flask, seeded: dict
) -> None:
    secrets = [s.encode() for s in SECRETS.values()] + [SCAN_MARKER.encode()]
    anonymous = app.test_client()
    seen = 0
    for where, body in _every_response(app, anonymous, seeded):
        seen += 1
        for secret in [*secrets, CONTRACT_NUMBER.encode()]:
            assert secret not in body, (where, secret)
    assert seen > 40
    # Staff read the status and its reason (the contract's number), never contacts or scans.
    staff = logged_in(app, make_user("aigerim", "staff"))
    for where, body in _every_response(app, staff, seeded):
        for secret in secrets:
            assert secret not in body, (where, secret)
    # The administrator does see them: the secrets above are really in the data.
    admin = logged_in(app, make_user("boss", "admin"))
    page = admin.get(f"/admin/rights/holders/{seeded['holder_id']}").get_data(as_text=True)
    assert SECRETS["email"] in page
    with admin.get(f"/admin/rights/contracts/{seeded['contract_id']}/scan") as response:
        assert SCAN_MARKER.encode() in response.data
