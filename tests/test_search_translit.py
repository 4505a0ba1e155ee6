"""Kazakh Latin and Cyrillic (mura.app.search.translit) and Latin-script queries.

The shared table ../shared/search/kk_latin.tsv lists Cyrillic words and how readers type them in
Latin script (the 2021 alphabet first, then informal spellings); the tables here add the 2018
and 2017 alphabets and words beyond the sample.
"""

from __future__ import annotations

import pytest

from mura.app.search import translit
from mura.app.search.analysis import DEFAULT_ANALYZER
from mura.app.search.query import parse_query
from tests.conftest import SHARED

SAMPLES = SHARED / "search"


def tsv(name: str) -> list[tuple[str, list[str]]]:
    """Rows of a shared sample table: (first column, the space-separated second column)."""
    path = SAMPLES / name
    if not path.exists():
        return [pytest.param("", [], marks=pytest.mark.skip(reason=f"missing: {path}"))]
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            first, rest = line.split("\t", 1)
            rows.append((first, rest.split()))
    return rows


def finds(query: str, word: str) -> bool:
    """Whether a query matches the index term of a Cyrillic word of a Kazakh page."""
    (term,) = DEFAULT_ANALYZER.index_terms(word, ["kaz"])
    return term in parse_query(query).positive_terms()


@pytest.mark.parametrize(("word", "spellings"), tsv("kk_latin.tsv"))
def test_shared_latin_spellings_find_the_word(word: str, spellings: list[str]) -> None:
    assert {s: finds(s, word) for s in spellings} == dict.fromkeys(spellings, True)


@pytest.mark.parametrize(("word", "spellings"), tsv("kk_latin.tsv"))
def test_the_2021_spelling_is_read_first(word: str, spellings: list[str]) -> None:
    (folded,) = DEFAULT_ANALYZER.terms(spellings[0])
    assert translit.to_cyrillic(folded)[0] == word.lower()


# More words, alphabets and inflected forms: (Cyrillic, Latin spellings).
SPELLINGS = [
    ("Қазақстан", "Qazaqstan Qazakstan Kazakstan"),
    ("Алматы", "Almaty"),
    ("Астана", "Astana"),
    ("мәдениет", "mädeniet madeniet"),
    ("шығармашылық", "şyğarmaşylyq shygarmashylyq"),
    ("Жұмабаев", "Jūmabaev Zhumabaev Jumabaev"),
    ("ұлттық", "ūlttyq ulttyq"),
    ("кітапханалар", "kıtaphanalar kitaphanalar"),  # an inflected form finds the word's key
    ("Қарағанды", "Qarag'andy Qarag’andy"),  # 2017: apostrophes
    ("Республикасы", "Respýblıkasy"),  # 2018: ý is у, ı is и
    ("мүмкіндік", "mümkındık mumkindik"),
]


@pytest.mark.parametrize(("word", "spellings"), [(w, s.split()) for w, s in SPELLINGS])
def test_latin_spellings_find_the_word(word: str, spellings: list[str]) -> None:
    assert {s: finds(s, word) for s in spellings} == dict.fromkeys(spellings, True)


@pytest.mark.parametrize(
    ("cyrillic", "latin", "ascii_"),
    [
        ("қарағанды", "qarağandy", "qaragandy"),
        ("кітапхана", "kıtaphana", "kitaphana"),
        ("әуезов", "äuezov", "auezov"),
        ("өлкетану", "ölketanu", "olketanu"),
        ("шығыс", "şyğys", "shygys"),
        ("ұлы", "ūly", "uly"),
        ("үй", "üi", "ui"),
        ("ақпарат", "aqparat", "aqparat"),
        ("таңба", "tañba", "tanba"),
        ("ия", "iia", "iia"),
    ],
)
def test_cyrillic_to_latin(cyrillic: str, latin: str, ascii_: str) -> None:
    assert translit.to_latin(cyrillic) == latin
    assert translit.to_ascii(cyrillic) == ascii_


def test_latin_round_trip_of_the_2021_alphabet() -> None:
    words = ["қарағанды", "кітапхана", "әуезов", "өлкетану", "оқырман", "мәдениет", "ұлттық"]
    assert [translit.to_cyrillic(translit.to_latin(w))[0] for w in words] == words


def test_apostrophes_join_latin_words_only() -> None:
    assert translit.join_apostrophes("Qarag'andy o'lke") == "Qaraǵandy ólke"
    assert translit.join_apostrophes("кі'тап don't library's") == "кі'тап don't library's"


def test_a_cyrillic_query_also_finds_the_word_written_in_latin() -> None:
    # "Qaragandy habary" (a newspaper's Latin title) is indexed as written.
    assert "qaragandy" in parse_query("Қарағанды").positive_terms()


def test_spellings_are_few_and_kazakh_looking() -> None:
    spellings = translit.to_cyrillic("kitapkhanalarymyzdyn")
    assert 0 < len(spellings) <= translit.MAX_SPELLINGS
    assert translit.to_cyrillic("2023") == ()
