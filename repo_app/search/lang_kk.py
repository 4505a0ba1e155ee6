"""A light Kazakh stemmer: plural, possessive and case endings of nouns.

Conservative on purpose: it removes only the inflections of nouns (and the forms of other
words that look like them), never derivational suffixes (``кітап`` and ``кітапхана``,
``кітапхана`` and ``кітапханашы`` stay different words), and never below three letters. Known
limits: vowels dropped inside the stem (``халық`` / ``халқы``, ``орын`` / ``орны``) are not
restored; the 1st and 2nd person singular possessives (``-м``, ``-ың``) are not removed because
they would make ``қалам`` (pen) of ``қала`` (city); verbs keep their tense and person endings;
a word that happens to end like a suffix loses it too (``Қызылорда`` -> ``қызылор``), which is
harmless unless the rest is another word: such words go in :data:`PROTECTED`.

The rules are the tables below; :mod:`mura.app.search.lang_turkic` applies them.
"""

from __future__ import annotations

from functools import lru_cache

from mura.app.search.lang_turkic import SuffixStripper, Template, expand_templates

VOWELS = "аәеиоөұүуыіэюяё"
#: Vowel harmony: every vowel but the neutral ``и`` ``у`` ``ю`` is back or front.
BACKNESS = dict.fromkeys("аоұыяё", "back") | dict.fromkeys("әеөүіэ", "front")
#: How the capital letters of a template are written in a back or a front word.
ARCHIPHONEMES = {
    "A": {"back": "а", "front": "е"},
    "I": {"back": "ы", "front": "і"},
    "G": {"back": "ғ", "front": "г"},
    "Q": {"back": "қ", "front": "к"},
}
#: ``у`` after a vowel is a consonant (``оқу``, ``байқау``) and takes consonant forms: оқу|ы.
CONSONANTS = "бвгғджзйкқлмнңпрстуфхһцчшщ"
#: Voiceless consonants, and the voiced ones that end only loanwords: followed by т-, қ-, п-.
HARD = "пткқсшфхһцчщбвгд"
#: Voiced consonants that take д-, ғ-, м- forms.
SOFT = "лрйумнңзж"
#: What the 3rd person possessive -сы/-сі follows: a vowel, but ы/і only in the agent nouns
#: in -шы/-ші (жазушы|сы); otherwise ы/і + с is a noun in -ыс/-іс: жұмыс|ы, not жұмы|сы.
AFTER_SI = (*"аәеиоөұүуэюяё", "шы", "ші")

#: Noun suffixes, in any order: the longest form that fits always wins.
TEMPLATES = (
    # plural
    Template("лAр", VOWELS + "рй"),
    Template("дAр", "лмнңзж"),
    Template("тAр", HARD),
    # possessive: 3rd person, 1st person plural, 2nd person polite
    Template("сI", AFTER_SI),
    Template("I", CONSONANTS),
    Template("мIз", VOWELS),
    Template("IмIз", CONSONANTS),
    Template("ңIз", VOWELS),
    Template("IңIз", CONSONANTS),
    # genitive
    Template("нIң", VOWELS + "мнң"),
    Template("дIң", "лрйузж"),
    Template("тIң", HARD),
    # accusative
    Template("нI", VOWELS),
    Template("дI", SOFT),
    Template("тI", HARD),
    # dative
    Template("GA", VOWELS + SOFT),
    Template("QA", HARD),
    # locative and the adjective made of it (-дағы: "in the ...")
    Template("дA", VOWELS + SOFT),
    Template("тA", HARD),
    Template("дAGI", VOWELS + SOFT),
    Template("тAGI", HARD),
    # ablative
    Template("дAн", VOWELS + "лрйузж"),
    Template("нAн", "мнң"),
    Template("тAн", HARD),
    # instrumental: one form for back and front words
    Template("мен", VOWELS + SOFT, any_harmony=True),
    Template("бен", VOWELS + SOFT, any_harmony=True),
    Template("пен", HARD, any_harmony=True),
    # 3rd person possessive + case with the pronominal н: қала|сы|на, құжат|ы|на
    Template("Iн", CONSONANTS),
    Template("IнA", CONSONANTS),
    Template("IндA", CONSONANTS),
    Template("IнAн", CONSONANTS),
    Template("IндAGI", CONSONANTS),
    Template("сIн", AFTER_SI),
    Template("сIнA", AFTER_SI),
    Template("сIндA", AFTER_SI),
    Template("сIнAн", AFTER_SI),
    Template("сIндAGI", AFTER_SI),
)

#: Words that end like an inflected form but are not one, and whose cut form is another word.
PROTECTED = frozenset(
    {
        "қарағанды",  # not қараған + -ды ("looked"), which would join it to "қарағанда"
        "басқа",  # "other", not бас ("head") + -қа
        "теңге",  # the currency, not тең ("equal") + -ге
        "кейін",  # "after", not кей + -ін ("some")
        "бүгін",  # "today"
        "мүмкін",  # "possible"
        "жақын",  # "near", not жақ ("side")
        "сайын",  # "every", not сай ("ravine")
        "жылғы",  # "of the year": its devoiced stem would be жылқы ("horse")
    }
)
#: Fewest letters of a stem: keeps ``ел``, ``үй`` whole, and short words from being gutted.
MIN_STEM = 3
MAX_STRIPS = 5
#: A stem ending in a voiced consonant was voiced by a vowel suffix (кітап -> кітабы).
DEVOICE = {"б": "п", "г": "к", "ғ": "қ"}

_STRIPPER = SuffixStripper(
    expand_templates(TEMPLATES, BACKNESS, ARCHIPHONEMES),
    vowels=VOWELS,
    vowel_class=BACKNESS,
    backness=BACKNESS,
    min_stem=MIN_STEM,
    max_strips=MAX_STRIPS,
    protected=PROTECTED,
    devoice=DEVOICE,
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the search key of a lowercase Kazakh word.

    Args:
        word: A folded token (lowercase, NFC).

    Returns:
        The word without its noun inflections: ``кітапханаларымыздың`` -> ``кітапхана``.
    """
    return _STRIPPER.stem(word)
