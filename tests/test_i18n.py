"""The kk/ru/en interface catalogues: complete, well-formed, compiled, and used by the app.

A string added to the code or the templates without a Kazakh and a Russian translation fails
here (:func:`test_catalogues_cover_every_string_in_the_source`). To fix it::

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 \
        -o repo_app/translations/messages.pot .
    .venv/bin/pybabel update -i repo_app/translations/messages.pot -d repo_app/translations
    # translate the new entries in kk and ru, remove any "fuzzy" flag, then
    .venv/bin/pybabel compile -d repo_app/translations --statistics
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import flask_babel
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "repo_app" / "translations"
#: Languages whose catalogue must translate everything; English falls back to the msgids.
TRANSLATED = ("kk", "ru")
#: The extraction command of the module docstring (keywords beyond Babel's defaults).
EXTRACT_KEYWORDS = ("_l", "lazy_gettext", "ngettext:1,2")

#: printf-style placeholders (and %%), str.format fields, HTML tags and entities.
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACES = re.compile(r"\{[^{}]*\}")
_MARKUP = re.compile(r"</?[A-Za-z][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


@cache
def _po(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _tokens(text: str) -> Counter:
    return Counter(_PRINTF.findall(text) + _BRACES.findall(text) + _MARKUP.findall(text))


def _strings(message: Message) -> tuple:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _hashable(value: str | tuple | list) -> str | tuple:
    return value if isinstance(value, str) else tuple(value)


def _key(message_id: str | tuple) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_and_not_fuzzy(locale: str) -> None:
    catalog = _po(locale)
    assert not catalog.fuzzy, f"{locale}: the catalogue header is marked fuzzy"
    problems = []
    for message in _messages(catalog):
        if message.fuzzy:
            problems.append(f"fuzzy: {_key(message.id)!r}")
        elif not all(s.strip() for s in _strings(message)):
            problems.append(f"untranslated: {_key(message.id)!r}")
    assert not problems, f"{locale}/LC_MESSAGES/messages.po:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_forms_follow_the_language(locale: str) -> None:
    catalog = _po(locale)
    expected = {"kk": 2, "ru": 3}[locale]
    assert catalog.num_plurals == expected
    for message in _messages(catalog):
        if message.pluralizable:
            assert len(message.string) == expected, message.id


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_and_markup_are_kept(locale: str) -> None:
    problems = []
    for message in _messages(_po(locale)):
        if message.pluralizable:
            # Every form must keep the number: in Russian the "one" form also serves 21, 31…
            wanted = _tokens(message.id[1])
            pairs = [(wanted, form) for form in message.string]
        else:
            pairs = [(_tokens(message.id), message.string)]
        for wanted, text in pairs:
            if _tokens(text) != wanted:
                problems.append(f"{_key(message.id)!r} -> {text!r}")
            elif "%" in _PRINTF.sub("", text):
                problems.append(f"stray % in {text!r}")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


def test_catalogues_cover_every_string_in_the_source(tmp_path: Path) -> None:
    """Re-extract from the code and templates: each msgid must be in the kk and ru catalogues."""
    pot = tmp_path / "messages.pot"
    keywords = [arg for kw in EXTRACT_KEYWORDS for arg in ("-k", kw)]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg"]
        + [*keywords, "--omit-header", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with open(pot, "rb") as f:
        source = {m.id for m in read_po(f) if m.id}
    assert len(source) > 100, "extraction found almost nothing: is babel.cfg right?"
    for locale in TRANSLATED:
        known = {m.id for m in _messages(_po(locale))}
        missing = sorted(_key(i) for i in source - known)
        assert not missing, (
            f"{len(missing)} string(s) of the source are not in {locale}/LC_MESSAGES/messages.po "
            "(pybabel update, then translate; see tests/test_i18n.py):\n"
            + "\n".join(map(repr, missing))
        )


@pytest.mark.parametrize("locale", (*TRANSLATED, "en"))
def test_compiled_catalogues_match_the_po_files(locale: str) -> None:
    """``./run`` compiles the .mo files; a stale or missing one would show old or English text."""
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing: pybabel compile -d repo_app/translations"
    with open(mo_path, "rb") as f:
        compiled = {_hashable(m.id): _hashable(m.string) for m in read_mo(f) if m.id}
    stale = [
        _key(m.id)
        for m in _messages(_po(locale))
        if all(_strings(m)) and compiled.get(_hashable(m.id)) != _hashable(m.string)
    ]
    assert not stale, f"{mo_path} is stale (pybabel compile -d repo_app/translations): {stale}"


def _msgstr(locale: str, msgid: str) -> str:
    if locale == "en":
        return msgid
    message = _po(locale).get(msgid)
    assert message is not None, f"{msgid!r} is not in the {locale} catalogue"
    return message.string


@pytest.mark.parametrize("locale", ("kk", "ru", "en"))
def test_home_page_speaks_the_chosen_language(client: FlaskClient, locale: str) -> None:
    heading = _msgstr(locale, "Digitized local-lore collections")
    search = _msgstr(locale, "Search")
    flask_babel.refresh()  # the client fixture shares one app context, where the locale is cached
    html = client.get(f"/?lang={locale}").get_data(as_text=True)
    flask_babel.refresh()
    assert f'<html lang="{locale}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert f">{search}</button>" in html
    if locale != "en":
        assert "Digitized local-lore collections" not in html


def test_one_client_switches_languages(client: FlaskClient) -> None:
    """The choice travels in ``?lang=`` and then in the cookie; each request gets its own."""
    seen = []
    for locale in ("ru", "kk", "en", "ru"):
        flask_babel.refresh()
        html = client.get(f"/?lang={locale}").get_data(as_text=True)
        seen.append(re.search(r'<html lang="([^"]+)">', html).group(1))
    flask_babel.refresh()
    html = client.get("/").get_data(as_text=True)  # no ?lang=: the cookie of the last choice
    flask_babel.refresh()
    assert seen == ["ru", "kk", "en", "ru"]
    assert '<html lang="ru">' in html
    assert f"<h1>{_msgstr('ru', 'Digitized local-lore collections')}</h1>" in html
