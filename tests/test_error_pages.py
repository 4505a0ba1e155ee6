"""Error pages are the site's own, in the reader's language, with a way back (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_app


@pytest.mark.parametrize(
    ("lang", "title", "home"),
    [
        ("kk", "Бет табылмады", "Топтамаларды қарау"),
        ("ru", "Страница не найдена", "Просмотреть коллекции"),
        ("en", "Page not found", "Browse the collections"),
    ],
)
def test_404_is_the_sites_page_in_the_readers_language(
    client, lang: str, title: str, home: str
) -> None:
    response = client.get(
        f"/documents/999999?lang={lang}", headers={"Referer": "http://localhost/collections"}
    )
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert title in html and home in html
    assert 'class="site"' in html  # the menu
    assert 'href="/collections"' in html  # the way back to where the reader came from
    assert "Werkzeug" not in html and "The requested URL was not found" not in html


def test_a_back_link_never_leads_off_the_site(client) -> None:
    html = client.get("/documents/999999", headers={"Referer": "http://evil.example/x"}).get_data(
        as_text=True
    )
    assert "evil.example" not in html and 'id="error-back"' not in html


def test_api_and_iiif_errors_are_json(client) -> None:
    for url, code in (("/api/documents/999999/dc", 404), ("/iiif/999999/manifest", 404)):
        response = client.get(url)
        assert response.status_code == code
        assert response.is_json and response.json["error"] == code


def test_method_not_allowed_keeps_its_allow_header(client) -> None:
    response = client.delete("/collections")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "<html" in response.get_data(as_text=True)


def test_missing_csrf_token_says_the_form_expired_in_russian(tmp_path: Path) -> None:
    app: Flask = make_app(tmp_path / "home", WTF_CSRF_ENABLED=True)
    with app.app_context():
        response = app.test_client().post("/login?lang=ru", data={"username": "x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Срок действия формы истёк" in html and "ничего не сохранено" in html
    assert '<html lang="ru">' in html
