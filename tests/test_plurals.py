"""Counts read right in every interface language: "1 page", "2 страницы", "5 страниц" (issue 16)."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

TEMPLATE = '{{ ngettext("%(num)d page", "%(num)d pages", n) }}'


@pytest.mark.parametrize(
    ("locale", "n", "text"),
    [
        ("en", 1, "1 page"),
        ("en", 2, "2 pages"),
        ("ru", 1, "1 страница"),
        ("ru", 3, "3 страницы"),
        ("ru", 5, "5 страниц"),
        ("ru", 21, "21 страница"),
        ("kk", 1, "1 бет"),
        ("kk", 7, "7 бет"),
    ],
)
def test_page_counts_follow_each_languages_plural_rules(
    app: Flask, locale: str, n: int, text: str
) -> None:
    with app.test_request_context("/"), force_locale(locale):
        assert render_template_string(TEMPLATE, n=n) == text


def test_the_upload_message_says_one_page(app: Flask) -> None:
    from flask_babel import ngettext

    with app.test_request_context("/"), force_locale("en"):
        one = ngettext(
            "Upload received: %(num)d page queued for OCR.",
            "Upload received: %(num)d pages queued for OCR.",
            1,
        )
    assert one == "Upload received: 1 page queued for OCR."
