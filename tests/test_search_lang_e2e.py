"""Searching Kazakh, Kyrgyz and Russian pages: word forms, Latin script, OCR errors, ranking.

A real index of each engine kind on tmp_path holds pages of the shared corpus
(../shared/corpus/pages, whose manifest gives each page's OCR languages) and copies of some of
them with one OCR misreading.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from markupsafe import Markup

from mura.app.search import (
    ENGINE_KINDS,
    DocumentEntry,
    PageEntry,
    SearchEngine,
    fuzzy,
    open_engine,
)
from mura.app.search.query import parse_query
from mura.app.search.snippets import make_snippet
from tests.conftest import CORPUS


def gt(stem: str) -> str:
    return (CORPUS / f"{stem}.gt.txt").read_text(encoding="utf-8")


def manifest_languages(stem: str) -> list[str]:
    pages = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["pages"]
    return next(page["langs"] for page in pages if page["gt"] == f"{stem}.gt.txt")


def misread(text: str, word: str, wrong: str) -> str:
    """``text`` with every ``word`` read by OCR as ``wrong`` (and its capitalised form)."""
    assert word in text or word.capitalize() in text
    return text.replace(word, wrong).replace(word.capitalize(), wrong.capitalize())


def russian_paragraph() -> str:
    """The Russian paragraph of a mixed Kazakh-Russian newspaper page."""
    text = gt("p11_news_rus_200dpi")
    return text[text.index("Совместно") : text.index("книге.") + len("книге.")]


def kyrgyz_parts() -> tuple[str, str]:
    """The Kyrgyz page's library regulation, and the part before it (on data protection)."""
    lines = gt("p07_book_kir").splitlines()
    return "\n".join(lines[16:]), "\n".join(lines[:16])


class Texts(dict[int, str]):
    """Page texts by page id, standing in for the database (the engine's text loader)."""

    def __call__(self, page_ids: list[int]) -> dict[int, str]:
        return {pid: self[pid] for pid in page_ids if pid in self}


def document(
    doc_id: int, title: str, languages: list[str], texts: list[str], store: Texts
) -> tuple[DocumentEntry, list[PageEntry]]:
    pages = []
    for seq, text in enumerate(texts, start=1):
        store[doc_id * 100 + seq] = text
        pages.append(PageEntry(doc_id * 100 + seq, seq, text))
    entry = DocumentEntry(doc_id, title, [], "book", languages, None, 2023)
    return entry, pages


KAZAKH, MIXED, KYRGYZ, RUSSIAN, KAZAKH_OCR, RUSSIAN_OCR, KYRGYZ_OCR, TITLE = range(1, 9)


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    store = Texts()
    regulation, data_protection = kyrgyz_parts()
    docs = [
        document(KAZAKH, "Жылдық есеп", ["kaz"], [gt("p01_book"), gt("p04_book_yellow")], store),
        document(
            MIXED,
            "Газет мақалалары",
            manifest_languages("p11_news_rus_200dpi"),
            [gt("p11_news_rus_200dpi"), gt("p03_book_rus_lowcontrast")],
            store,
        ),
        document(KYRGYZ, "Мектеп жөнүндө", manifest_languages("p07_book_kir"), [regulation], store),
        document(RUSSIAN, "Отчёт", ["rus"], [russian_paragraph()], store),
        document(
            KAZAKH_OCR,
            "Балалар бөлімі",
            ["kaz"],
            [misread(gt("p14_book_tiff-f2"), "хайуанаттар", "хайуаиаттар")],
            store,
        ),
        document(
            RUSSIAN_OCR,
            "Отчёт II",
            ["rus"],
            [misread(russian_paragraph(), "пропаганды", "пропагаиды")],
            store,
        ),
        document(
            KYRGYZ_OCR,
            "Маалымат",
            ["kir"],
            [misread(data_protection, "электрондук", "элсктрондук")],
            store,
        ),
        document(TITLE, "Өлкетану", ["kaz"], [gt("p14_book_tiff-f1")], store),
    ]
    with open_engine(request.param, tmp_path_factory.mktemp("index"), store) as opened:
        opened.index_documents(docs)
        yield opened


def found(engine: SearchEngine, query: str) -> dict[int, list[int]]:
    return {hit.document_id: hit.pages for hit in engine.search(query, per_page=20).hits}


# Word forms


@pytest.mark.parametrize(
    "query",
    ["кітапхана", "кітапханалар", "кітапхананың", "кітапханаларымыздың", "КІТАПХАНАСЫНА"],
)
def test_kazakh_forms_find_every_form(engine: SearchEngine, query: str) -> None:
    # p01 has only "кітапхана", "кітапханалар"; p04 has "кітапхананың" and others too.
    assert found(engine, query)[KAZAKH] == [1, 2]


def test_kazakh_form_absent_from_every_page(engine: SearchEngine) -> None:
    # Nobody wrote "оқырмандарымыздың"; pages with оқырман, оқырмандар... are found.
    assert KAZAKH in found(engine, "оқырмандарымыздың")


@pytest.mark.parametrize("query", ["китепкана", "китепканалардын", "мыйзам", "жоболор"])
def test_kyrgyz_forms(engine: SearchEngine, query: str) -> None:
    # The page has китепкана, китепкананын, китепканасынын, мыйзамын, мыйзамдарды, Жобосу.
    assert found(engine, query) == {KYRGYZ: [1]}


@pytest.mark.parametrize("query", ["книги", "книгу", "библиотека", "писатели", "мероприятие"])
def test_russian_forms(engine: SearchEngine, query: str) -> None:
    # The paragraph says книга/книге, библиотеке, писателя, мероприятия.
    hits = found(engine, query)
    assert hits[RUSSIAN] == [1] and hits[MIXED] == [1]


def test_russian_words_of_a_mixed_page_are_stemmed_as_russian(engine: SearchEngine) -> None:
    assert found(engine, '"одну страну"')[MIXED] == [1]


# Latin script


@pytest.mark.parametrize(
    "query", ["Qarağandy", "Qaraǵandy", "Qarag'andy", "Qaragandy", "QARAGANDY", "Karagandy"]
)
def test_latin_spellings_find_kazakh_pages(engine: SearchEngine, query: str) -> None:
    assert found(engine, query)[KAZAKH] == found(engine, "Қарағанды")[KAZAKH] == [1]


@pytest.mark.parametrize("query", ["kitaphanalar", "kıtaphana", "kitapxana olketanu"])
def test_latin_forms_and_informal_spellings(engine: SearchEngine, query: str) -> None:
    assert found(engine, query)[MIXED]


def test_latin_spelling_of_kyrgyz(engine: SearchEngine) -> None:
    assert found(engine, "kitepkana")[KYRGYZ] == [1]


# OCR errors


def test_one_letter_ocr_error_in_a_kazakh_page(engine: SearchEngine) -> None:
    results = engine.search("хайуанаттар")
    assert [(h.document_id, h.pages) for h in results.hits] == [(KAZAKH_OCR, [1])]
    assert "<mark>хайуаиаттар</mark>" in results.hits[0].snippet
    assert engine.document_pages(KAZAKH_OCR, "Хайуанаттар бағы") == [1]


def test_one_letter_ocr_error_in_a_russian_page(engine: SearchEngine) -> None:
    # Two pages have the word: fewer than FUZZY_BELOW, so its near misses are looked up too.
    ranked = [h.document_id for h in engine.search("пропаганда").hits]
    assert sorted(ranked) == [MIXED, RUSSIAN, RUSSIAN_OCR]
    # The same paragraph ranks lower with the misread word than with the word itself.
    assert ranked.index(RUSSIAN) < ranked.index(RUSSIAN_OCR)


def test_one_letter_ocr_error_in_a_kyrgyz_page(engine: SearchEngine) -> None:
    assert found(engine, "Электрондук") == {KYRGYZ_OCR: [1]}


def test_no_near_misses_when_exact_words_find_enough(engine: SearchEngine) -> None:
    # Қарағанды is on enough pages: near misses are not looked up at all.
    assert len(found(engine, "Қарағанды")) >= fuzzy.FUZZY_BELOW
    assert found(engine, "жоқсөзхх") == {}


# Ranking and highlighting


def test_title_match_ranks_first(engine: SearchEngine) -> None:
    results = engine.search("өлкетанудың")
    assert results.hits[0].document_id == TITLE and results.hits[0].pages == []
    assert MIXED in [h.document_id for h in results.hits[1:]]


def test_snippet_marks_the_inflected_forms() -> None:
    text = "Біздің кітапханаларымыздың оқырмандары Қарағандыда, ал кітапта емес."
    snippet = make_snippet(
        text, parse_query("кітапхана Қарағанды").positive_terms(), languages=["kaz"]
    )
    assert snippet == Markup(
        "Біздің <mark>кітапханаларымыздың</mark> оқырмандары <mark>Қарағандыда</mark>,"
        " ал кітапта емес."
    )


def test_fuzzy_candidates_are_generated_not_scanned() -> None:
    variants = fuzzy.one_edit("қала")
    assert "бала" not in variants  # the first letter is kept
    assert {"қара", "қаа", "қалла", "қлаа"} <= variants
    looked_up: list[str] = []
    assert fuzzy.near_terms("қала", lambda t: looked_up.append(t) or 1) == []  # too short
    assert looked_up == []
    assert fuzzy.near_terms("хайуанат", {"хайуаиат": 3, "хайуан": 5}.get) == ["хайуаиат"]
