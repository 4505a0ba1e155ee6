"""A light Kyrgyz stemmer: plural, possessive and case endings of nouns.

Kyrgyz suffixes follow the same chain as Kazakh ones (stem, plural, possessive, case) but its
vowel harmony has four ways, by backness and rounding: ``-лар`` after ``а`` ``ы`` ``у``,
``-лер`` after ``е`` ``и``, ``-лор`` after ``о``, ``-лөр`` after ``ө`` ``ү`` (``китептер``,
``жоболор``, ``мөөрлөр``). The genitive is ``-нын`` / ``-дын`` / ``-тын`` (``китепкананын``,
``маалыматтардын``, ``мектептин``). Same limits as :mod:`mura.app.search.lang_kk`: nouns
only, no derivational suffixes (``китепкана`` and ``китепканачы`` stay apart), stems of at least
three letters, vowels dropped inside the stem not restored (``орун`` / ``орду``), 1st and 2nd
person singular possessives kept.
"""

from __future__ import annotations

from functools import lru_cache

from mura.app.search.lang_turkic import SuffixStripper, Template, expand_templates

VOWELS = "аеиоөуүыэюяё"
#: The vowel a suffix's vowel follows: four classes of harmony (back/front, rounded or not),
#: with ``у`` taking ``а`` in its a-type suffixes (``окуучулар``) but ``у`` in its i-type ones.
VOWEL_CLASS = (
    dict.fromkeys("аыя", "a")
    | dict.fromkeys("оё", "o")
    | dict.fromkeys("ую", "u")
    | dict.fromkeys("еиэ", "e")
    | {"ө": "ö", "ү": "ü"}
)
BACKNESS = dict.fromkeys("аоуыяёю", "back") | dict.fromkeys("еиөүэ", "front")
ARCHIPHONEMES = {
    "A": {"a": "а", "o": "о", "u": "а", "e": "е", "ö": "ө", "ü": "ө"},
    "I": {"a": "ы", "o": "у", "u": "у", "e": "и", "ö": "ү", "ü": "ү"},
}
CONSONANTS = "бвгджзйклмнңпрстфхцчшщ"
#: Voiceless consonants: followed by т- and к- forms.
HARD = "пткстфхцчшщ"
#: Voiced consonants: followed by д- and г- forms.
VOICED = "бвгджзйлмнңр"
#: What the 3rd person possessive -сы/-си follows: a vowel, but ы/и only in the agent nouns
#: in -чы/-чи (китепканачы|сы); otherwise ы/и + с is a noun in -ыс/-ис.
AFTER_SI = (*"аеоөуүэюяё", "чы", "чи")

TEMPLATES = (
    # plural
    Template("лAр", VOWELS + "рй"),
    Template("дAр", "бвгджзлмнң"),
    Template("тAр", HARD),
    # possessive: 3rd person, 1st person plural, 2nd person polite
    Template("сI", AFTER_SI),
    Template("I", CONSONANTS),
    Template("бIз", VOWELS),
    Template("IбIз", CONSONANTS),
    Template("ңIз", VOWELS),
    Template("IңIз", CONSONANTS),
    # genitive
    Template("нIн", VOWELS + "мнң"),
    Template("дIн", VOICED),
    Template("тIн", HARD),
    # accusative
    Template("нI", VOWELS),
    Template("дI", VOICED),
    Template("тI", HARD),
    # dative
    Template("гA", VOWELS + VOICED),
    Template("кA", HARD),
    # locative and the adjective made of it (-дагы: "in the ...")
    Template("дA", VOWELS + VOICED),
    Template("тA", HARD),
    Template("дAгI", VOWELS + VOICED),
    Template("тAгI", HARD),
    # ablative
    Template("дAн", VOWELS + VOICED),
    Template("тAн", HARD),
    # instrumental, usually written apart ("макулдугу менен")
    Template("менен", VOWELS + CONSONANTS, any_harmony=True),
    # 3rd person possessive + case with the pronominal н: иш|и|н, тутум|у|на, жобо|су|на
    Template("Iн", CONSONANTS),
    Template("IнA", CONSONANTS),
    Template("IндA", CONSONANTS),
    Template("IнAн", CONSONANTS),
    Template("IндAгI", CONSONANTS),
    Template("сIн", AFTER_SI),
    Template("сIнA", AFTER_SI),
    Template("сIндA", AFTER_SI),
    Template("сIнAн", AFTER_SI),
    Template("сIндAгI", AFTER_SI),
)

#: Words that end like an inflected form but are not one, and whose cut form is another word.
PROTECTED = frozenset(
    {
        "бүгүн",  # "today", not бүг + -үн
        "башка",  # "other", not баш ("head") + -ка
        "кийин",  # "after"
        "мүмкүн",  # "possible"
        "жакын",  # "near", not жак ("side")
    }
)
MIN_STEM = 3
MAX_STRIPS = 5
#: A stem ending in a voiced consonant was voiced by a vowel suffix (мектеп -> мектеби).
DEVOICE = {"б": "п", "г": "к"}

_STRIPPER = SuffixStripper(
    expand_templates(TEMPLATES, VOWEL_CLASS, ARCHIPHONEMES),
    vowels=VOWELS,
    vowel_class=VOWEL_CLASS,
    backness=BACKNESS,
    min_stem=MIN_STEM,
    max_strips=MAX_STRIPS,
    protected=PROTECTED,
    devoice=DEVOICE,
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the search key of a lowercase Kyrgyz word.

    Args:
        word: A folded token (lowercase, NFC).

    Returns:
        The word without its noun inflections: ``китепканасынын`` -> ``китепкана``.
    """
    return _STRIPPER.stem(word)
