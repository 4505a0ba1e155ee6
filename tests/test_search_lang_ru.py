"""Russian stemming (mura.app.search.lang_ru) and the choice of language per word.

Russian forms are folded by Snowball's Russian stemmer; the tables check the inflections that
library texts use. The language of a word comes from its letters, the page's OCR languages and,
on pages mixing Russian with Kazakh, its line or sentence (mura.app.search.lang_detect).
"""

from __future__ import annotations

import threading

import pytest

from mura.app.search import lang_detect, lang_ru
from mura.app.search.analysis import DEFAULT_ANALYZER


def key(word: str, languages: tuple[str, ...] = ("rus",)) -> str:
    (term,) = DEFAULT_ANALYZER.index_terms(word, languages)
    return term


FORMS = [
    ("библиотека", "библиотеки библиотеке библиотеку библиотекой библиотеках библиотеками"),
    ("книга", "книги книге книгу книгой книгами"),
    ("читатель", "читателя читателю читатели читателей читателями"),
    ("писатель", "писателя писателю писатели писателей"),
    ("город", "города городу городе городом городов"),
    ("фонд", "фонда фонду фонде фонды фондов"),
    ("мероприятие", "мероприятия мероприятии мероприятий мероприятиями"),
    ("краеведение", "краеведения краеведению краеведении"),
    ("ёлка", "елки ёлки елкой"),  # ё is written е
]


@pytest.mark.parametrize(("word", "forms"), [(w, f.split()) for w, f in FORMS])
def test_forms_have_the_key_of_the_word(word: str, forms: list[str]) -> None:
    assert {form: key(form) for form in forms} == dict.fromkeys(forms, key(word))


@pytest.mark.parametrize(
    ("word", "other"), [("книга", "книжный"), ("город", "городской"), ("фонд", "фонтан")]
)
def test_distinct_words_keep_distinct_keys(word: str, other: str) -> None:
    assert key(word) != key(other)


def test_stemming_from_threads() -> None:
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(lang_ru.stem("библиотеками")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["библиотек"] * 4


# Language of each word, by its letters and the page's languages.
LANGUAGE = [
    # (word, page languages, language)
    ("кітапханалар", ("rus",), "kk"),  # Kazakh letters decide, whatever the page says
    ("мөөрлөр", ("kir",), "ky"),
    ("мөөрлөр", ("kaz",), "kk"),  # ң ө ү on a Kazakh page: Kazakh
    ("жазушылар", ("kaz",), "kk"),  # no special letter: the page's language
    ("окуучулар", ("kir",), "ky"),
    ("библиотека", ("rus",), "ru"),
    ("библиотека", (), "kk"),  # unknown languages: Kazakh, the collections' language
    ("library", ("kaz", "eng"), "en"),
    ("library", ("kaz",), ""),  # Latin words of other pages are kept as written
    ("2023", ("kaz",), ""),
]


@pytest.mark.parametrize(("word", "languages", "language"), LANGUAGE)
def test_language_of_a_word(word: str, languages: tuple[str, ...], language: str) -> None:
    page = lang_detect.page_languages(languages)
    assert lang_detect.token_language(word, page, page.plain) == language


MIXED_PAGE = """Жалпы сомасы, мың теңге Қажеттілік
Совместно с учащимися №58 школы в
библиотеке-филиале №15 были проведены
мероприятия в рамках акции "Одна страна - одна
книга", в целях пропаганды произведений.
Кітапханада алфавиттік және жүйелі каталогтар,
мақалалардың жүйелі картотекасы жүргізіледі."""


def test_mixed_page_words_follow_their_line() -> None:
    terms = dict(
        zip(
            DEFAULT_ANALYZER.terms(MIXED_PAGE),
            DEFAULT_ANALYZER.index_terms(MIXED_PAGE, ["kaz", "rus"]),
            strict=True,
        )
    )
    # Kazakh heading above a Russian paragraph: its plain words are Kazakh.
    assert terms["сомасы"] == "сома"
    # The Russian paragraph, and the title in quotes inside it, are Russian.
    assert terms["библиотеке"] == "библиотек" and terms["мероприятия"] == "мероприят"
    assert terms["страна"] == "стран" and terms["книга"] == "книг"
    # Back to Kazakh.
    assert terms["каталогтар"] == "каталок" and terms["мақалалардың"] == "мақала"


def test_index_terms_and_tokens_agree_on_mixed_pages() -> None:
    tokens = DEFAULT_ANALYZER.index_tokens(MIXED_PAGE, ["kaz", "rus"])
    assert [t.text for t in tokens] == DEFAULT_ANALYZER.index_terms(MIXED_PAGE, ["kaz", "rus"])
    assert [t.pos for t in tokens] == list(range(len(tokens)))
    assert all(MIXED_PAGE[t.start : t.end].lower().startswith(t.text[:2]) for t in tokens)


@pytest.mark.parametrize(
    ("word", "languages"),
    [
        ("жазушы", ("kk", "ru", "ky")),
        ("мөөр", ("kk", "ky")),
        ("қала", ("kk",)),
        ("qala", ("", "en")),
    ],
)
def test_a_query_word_is_read_in_every_language_its_letters_allow(
    word: str, languages: tuple[str, ...]
) -> None:
    assert set(lang_detect.query_languages(word)) == set(languages)


@pytest.mark.parametrize("languages", [("kaz",), ("kir",), ("rus",), ("kaz", "rus"), ()])
@pytest.mark.parametrize("word", ["жазушылар", "библиотеке", "мөөрлөр", "кітаптар", "Qazaqstan"])
def test_a_word_in_a_query_finds_itself_on_any_page(word: str, languages: tuple[str, ...]) -> None:
    (surface,) = DEFAULT_ANALYZER.terms(word)
    (indexed,) = DEFAULT_ANALYZER.index_terms(word, languages)
    assert indexed in DEFAULT_ANALYZER.alternatives(surface)
