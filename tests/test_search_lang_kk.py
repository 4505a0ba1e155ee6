"""The Kazakh stemmer (mura.app.search.lang_kk), table-driven.

The shared tables (../shared/search/kk_forms.tsv, kk_distinct.tsv) are examples taken from real
library reports; the tables here add the forms a reader of Kazakh expects the rules to cover
beyond them, and the words they must leave alone.
"""

from __future__ import annotations

import pytest

from mura.app.search import lang_kk
from mura.app.search.analysis import DEFAULT_ANALYZER
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


def key(word: str) -> str:
    """The index term of a Kazakh word on a Kazakh page."""
    (term,) = DEFAULT_ANALYZER.index_terms(word, ["kaz"])
    return term


@pytest.mark.parametrize(("word", "forms"), tsv("kk_forms.tsv"))
def test_shared_forms_have_the_key_of_the_word(word: str, forms: list[str]) -> None:
    assert {form: key(form) for form in forms} == dict.fromkeys(forms, key(word))


@pytest.mark.parametrize(("word", "others"), tsv("kk_distinct.tsv"))
def test_shared_distinct_words_keep_distinct_keys(word: str, others: list[str]) -> None:
    assert all(key(word) != key(other) for other in others)


# A word and its forms: plural, possessive (3rd person, "our", polite "your"), each case, and
# chains of them; back and front words; stems ending in a voiceless consonant that a vowel
# suffix voices (кітап -> кітабы, мектеп -> мектебі, орталық -> орталығы).
FORMS = [
    ("кітап", "кітаптар кітаптың кітапқа кітапты кітапта кітаптан кітаппен кітабы кітабын "
              "кітабына кітаптарымыз кітаптарымыздың"),
    ("мектеп", "мектептер мектептің мектепке мектепте мектептен мектебі мектебінде мектебіміз"),
    ("орталық", "орталығы орталығының орталықта орталыққа орталықтың"),
    ("газет", "газеттер газеттің газетке газеті газетінің газеттерінің газетте"),
    ("әдебиет", "әдебиеттер әдебиеттің әдебиетті әдебиеттерді әдебиетпен"),
    ("жұмыс", "жұмысы жұмыстар жұмыстың жұмысын жұмысына жұмысында жұмыспен"),
    ("оқу", "оқуы оқуға оқуда оқудың оқуды"),
    ("байқау", "байқауы байқауының байқауға байқаулар"),
    ("мәдениет", "мәдениеті мәдениетінің мәдениетке мәдениетті"),
    ("бала", "балалар балаға баланың балалардың балаларға балалары балаларымыз балаңыз"),
    ("қала", "қалалар қаласы қаласына қаласында қаласынан қаладағы қаласындағы"),
    ("Қарағанды", "Қарағандының Қарағандыға Қарағандыда Қарағандыдан Қарағандыны"),
    ("Қазақстан", "Қазақстанның Қазақстанда Қазақстанға Қазақстаннан"),
    ("классик", "классиктер классиктердің"),
    ("энциклопедия", "энциклопедиялар энциклопедиясы энциклопедияларды"),
]  # fmt: skip


@pytest.mark.parametrize(("word", "forms"), [(w, f.split()) for w, f in FORMS])
def test_forms_have_the_key_of_the_word(word: str, forms: list[str]) -> None:
    assert {form: key(form) for form in forms} == dict.fromkeys(forms, key(word))


# Different words that a stemmer cutting too deep, or against vowel harmony, would conflate.
DISTINCT = [
    ("кітап", "кітапхана"),
    ("кітапхана", "кітапханашы"),  # library / librarian: derivation is kept
    ("кітапхана", "кітапханалық"),
    ("қала", "қалам"),  # 1st person possessive "my city" is not removed: қалам is "pen"
    ("бала", "баланс"),
    ("жұмыс", "жұм"),
    ("басқа", "бас"),  # "other" / "head"
    ("теңге", "тең"),
    ("Қарағанды", "қарағанда"),  # the city / "compared to"
    ("түркістан", "түркіс"),  # -тан against a front word is not the ablative
]


@pytest.mark.parametrize(("word", "other"), DISTINCT)
def test_distinct_words_keep_distinct_keys(word: str, other: str) -> None:
    assert key(word) != key(other)


# Words left whole: too short, or not ending in an inflection.
UNCHANGED = ["ел", "үй", "елдің", "және", "бойынша", "ақпарат", "мағжан", "өлкетану", "астана",
             "кітапхана", "оқырман", "басылым", "құжат", "жылғы"]  # fmt: skip


@pytest.mark.parametrize("word", UNCHANGED)
def test_words_without_an_inflection_are_kept(word: str) -> None:
    assert lang_kk.stem(word) == word


def test_longest_chain() -> None:
    assert lang_kk.stem("кітапханаларымыздың") == "кітапхана"


def test_harmony_is_checked_but_loanwords_take_either_form() -> None:
    # Front stem + back suffix is not a suffix; a stem with both (a loanword) takes either.
    assert lang_kk.stem("түркістан") == "түркістан"
    assert lang_kk.stem("комикстер") == "комикс"
