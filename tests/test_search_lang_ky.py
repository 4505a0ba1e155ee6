"""The Kyrgyz stemmer (mura.app.search.lang_ky), table-driven.

Kyrgyz has no shared sample table yet; these tables are written from Kyrgyz grammar and the
Kyrgyz page of the corpus (a school library regulation, ../shared/corpus/pages/p07_book_kir).
"""

from __future__ import annotations

import pytest

from mura.app.search import lang_ky
from mura.app.search.analysis import DEFAULT_ANALYZER


def key(word: str) -> str:
    """The index term of a Kyrgyz word on a Kyrgyz page."""
    (term,) = DEFAULT_ANALYZER.index_terms(word, ["kir"])
    return term


# A word and its forms. Four-way vowel harmony: -лар after а ы у, -лер after е и, -лор after о,
# -лөр after ө ү; the genitive -нын/-дын/-тын; stems voiced by a vowel suffix (китеп -> китеби).
FORMS = [
    ("китепкана", "китепканалар китепкананын китепканага китепканада китепканадан китепкананы "
                  "китепканасы китепканасынын китепканасына китепканалардын "
                  "китепканаларыбыздын"),
    ("китеп", "китептер китептин китепке китепте китептен китепти китеби китебин китептерди"),
    ("мектеп", "мектептер мектептин мектепке мектепте мектеби мектебинде мектептерге"),
    ("окуучу", "окуучулар окуучулардын окуучуга окуучуну окуучулары"),
    ("жобо", "жоболор жобону жобосу жобосуна жободо"),
    ("мыйзам", "мыйзамдар мыйзамдарды мыйзамын мыйзамга мыйзамдын"),
    ("шаар", "шаарлар шаардын шаарга шаарда шаары шаарынын"),
    ("кызматкер", "кызматкерлер кызматкерлердин кызматкерлери кызматкерлеринин кызматкерге"),
    ("мөөр", "мөөрлөр мөөрлөрүн мөөрдү"),
    ("маалымат", "маалыматтар маалыматтардын маалыматтарды"),
    ("республика", "республикасы республикасынын"),
    ("ишмердик", "ишмердиги ишмердигинде"),
]  # fmt: skip


@pytest.mark.parametrize(("word", "forms"), [(w, f.split()) for w, f in FORMS])
def test_forms_have_the_key_of_the_word(word: str, forms: list[str]) -> None:
    assert {form: key(form) for form in forms} == dict.fromkeys(forms, key(word))


DISTINCT = [
    ("китеп", "китепкана"),
    ("китепкана", "китепканачы"),  # library / librarian
    ("бала", "баланс"),
    ("башка", "баш"),  # "other" / "head"
]


@pytest.mark.parametrize(("word", "other"), DISTINCT)
def test_distinct_words_keep_distinct_keys(word: str, other: str) -> None:
    assert key(word) != key(other)


UNCHANGED = ["үй", "жана", "китепкана", "мектеп", "бишкек", "өмүралиев", "кыргыз"]


@pytest.mark.parametrize("word", UNCHANGED)
def test_words_without_an_inflection_are_kept(word: str) -> None:
    assert lang_ky.stem(word) == word


def test_rounded_harmony() -> None:
    # -лор only after о, -лөр after ө/ү: the wrong form is not a suffix of a native word.
    assert lang_ky.stem("жоболор") == "жобо"
    assert lang_ky.stem("жоболар") == "жоболар"
