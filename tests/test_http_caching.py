"""Public pages answer revalidation with 304; private ones are never shared (issue 19)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app


def test_unchanged_public_page_is_304_with_its_etag(client) -> None:
    first = client.get("/collections")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"]
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    again = client.get("/collections", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag and again.get_data() == b""


def test_another_language_is_another_etag(tmp_path: Path) -> None:
    # An app without a pushed app context: Flask-Babel keeps the locale of the app context,
    # so every request must have its own, as under a real server.
    client = make_app(tmp_path / "home").test_client()
    kk = client.get("/collections", headers={"Accept-Language": "kk"})
    ru = client.get("/collections", headers={"Accept-Language": "ru"})
    assert kk.headers["ETag"] != ru.headers["ETag"]
    changed = client.get(
        "/collections", headers={"Accept-Language": "ru", "If-None-Match": kk.headers["ETag"]}
    )
    assert changed.status_code == 200


def test_pages_of_logged_in_people_are_private(app: Flask) -> None:
    staff = logged_in(app, make_user("staff-a", "staff"))
    response = staff.get("/collections")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]


def test_a_response_that_sets_a_cookie_is_not_shared(client) -> None:
    response = client.get("/collections?lang=kk")  # remembers the language in a cookie
    assert "Set-Cookie" in response.headers
    assert "public" not in response.headers.get("Cache-Control", "")
