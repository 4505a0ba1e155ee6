"""Russian romanizations in Latin-script queries (mura.app.search.translit.to_russian).

Readers type the names of places and Russian words as they know them from maps, passports and
the web: "Karaganda", "Shchuchinsk", "Ust-Kamenogorsk", "Tselinograd", "Yekaterinburg". The
romanizations are made here by iuliia (the systems as published: GOST 7.79-2000 system B,
BGN/PCGN, ICAO Doc 9303, GOST R 52535, the MVD's, Wikipedia's, Yandex's, the Moscow metro's),
not typed by hand, and each must find the Cyrillic word on a Russian page and on a Kazakh one;
a real index of each engine kind checks the whole path.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import iuliia
import pytest

from mura.app.search import (
    ENGINE_KINDS,
    DocumentEntry,
    PageEntry,
    SearchEngine,
    open_engine,
    translit,
)
from mura.app.search.analysis import DEFAULT_ANALYZER
from mura.app.search.query import parse_query

SCHEMAS = [
    "gost_779_alt",  # GOST 7.79-2000 system B
    "bgn_pcgn",
    "icao_doc_9303",  # passports
    "gost_52535",  # older passports
    "mvd_782",
    "wikipedia",
    "yandex_maps",
    "mosmetro",
]
#: Real words and names of Kazakhstan as printed in Russian (one hyphenated: two words).
WORDS = [
    "Караганда", "Карагандинская", "Жезказган", "Щучинск", "Темиртау", "Усть-Каменогорск",
    "Целиноград", "Екатеринбург", "Шахтинск", "журнал", "Юбилейная", "Павлодар",
    "Семипалатинск", "Экибастуз", "Кокчетав", "Петропавловск", "областная", "библиотека",
    "краеведение", "газета", "шахтёры", "целина", "хроника", "известия", "учительница",
    "Лисаковск", "Рудный", "Степногорск", "Аркалык", "Байконур",
]  # fmt: skip


def romanize(word: str, schema: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return iuliia.schemas.get(schema).translate(word)


def finds(query: str, word: str, languages: list[str]) -> bool:
    """Whether every part of ``query`` matches the index term of ``word`` on such a page."""
    terms = parse_query(query).positive_terms()
    return all(term in terms for term in DEFAULT_ANALYZER.index_terms(word, languages))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_romanization_finds_the_russian_word(schema: str) -> None:
    missed = {
        romanize(word, schema): word
        for word in WORDS
        if not finds(romanize(word, schema), word, ["rus"])
    }
    assert missed == {}


@pytest.mark.parametrize(
    ("query", "word"),
    [("Karaganda", "Караганда"), ("Temirtau", "Темиртау"), ("Shakhtinsk", "Шахтинск"),
     ("Ust-Kamenogorsk", "Усть-Каменогорск"), ("Karagandinskoy", "Карагандинской")],
)  # fmt: skip
def test_russian_names_on_a_kazakh_page(query: str, word: str) -> None:
    assert finds(query, word, ["kaz"])


@pytest.mark.parametrize(
    ("query", "word"),
    [("Zhanibek", "Жәнібек"), ("Kuanyshev", "Қуанышев"), ("Zhumabaev", "Жұмабаев")],
)
def test_kazakh_passport_spellings(query: str, word: str) -> None:
    assert finds(query, word, ["kaz"])


def test_spellings_are_bounded_and_russian_looking() -> None:
    spellings = translit.to_russian("karagandinskaya")
    assert spellings[0] == "карагандинская"
    assert 0 < len(spellings) <= translit.RUSSIAN_SPELLINGS
    assert all("ьа" not in s and not s.startswith("ы") for s in spellings)
    assert translit.to_russian("qarağandy") == ()  # Kazakh Latin is read as Kazakh only
    assert translit.to_russian("2023") == ()
    # A long word still gives a bounded query: the alternatives of one word stay few.
    assert len(DEFAULT_ANALYZER.alternatives("shchuchinskayaoblastnaya")) <= 64


def test_a_russian_word_not_in_the_text_is_not_found() -> None:
    assert not finds("Pavlodar", "Павлоград", ["rus"])


# The whole path, on both engines.

RUSSIAN_PAGE = (
    "Карагандинская областная библиотека. В Караганде открыта выставка «Шахтинск: годы и люди». "
    "Журнал «Юбилейная» рассказывает о Щучинске и Усть-Каменогорске."
)
KAZAKH_PAGE = "Жәнібек Қуанышев Теміртау қаласында туған. Целиноград облысы, 1965 жыл."


class Texts(dict[int, str]):
    """Page texts by page id, standing in for the database (the engine's text loader)."""

    def __call__(self, page_ids: list[int]) -> dict[int, str]:
        return {pid: self[pid] for pid in page_ids if pid in self}


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    store = Texts({101: RUSSIAN_PAGE, 201: KAZAKH_PAGE})
    russian = DocumentEntry(1, "Хроника", [], "book", ["rus"], None, 1990)
    kazakh = DocumentEntry(2, "Өлкетану", [], "book", ["kaz"], None, 1991)
    docs = [
        (russian, [PageEntry(101, 1, RUSSIAN_PAGE)]),
        (kazakh, [PageEntry(201, 1, KAZAKH_PAGE)]),
    ]
    with open_engine(request.param, tmp_path_factory.mktemp("index"), store) as opened:
        opened.index_documents(docs)
        yield opened


@pytest.mark.parametrize(
    ("query", "document_id"),
    [
        ("Karaganda", 1), ("Karagandinskaya", 1), ("Karagandinskaia", 1), ("Shakhtinsk", 1),
        ("Shaxtinsk", 1), ("Zhurnal", 1), ("Yubileynaya", 1), ("Iubileinaia", 1),
        ("Shchuchinsk", 1), ("Shhuchinsk", 1), ("Ust-Kamenogorsk", 1), ("Zhanibek", 2),
        ("Kuanyshev", 2), ("Temirtau", 2), ("Tselinograd", 2), ("Celinograd", 2),
    ],
)  # fmt: skip
def test_romanized_queries_find_the_page(
    engine: SearchEngine, query: str, document_id: int
) -> None:
    hits = engine.search(query, per_page=10).hits
    assert [hit.document_id for hit in hits] == [document_id]


def test_a_romanized_word_that_is_not_there_finds_nothing(engine: SearchEngine) -> None:
    assert engine.search("Ekibastuz", per_page=10).hits == []
