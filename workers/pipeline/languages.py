"""The one table of languages: Tesseract codes, ISO 639, names in kk/ru/en, script.

Every part of Mura that names a language reads it here: the pipeline (PDF ``/Lang`` and XMP
``dc:language``), OCR quality (which languages are written in Cyrillic), IIIF language maps,
citations (``langid``), catalogue records (MARC's ISO 639-2/B codes) and the templates (the
``lang`` attribute of page text, language names). It is plain data in the lowest layer, so the
pipeline may use it without importing the app; ``mura.app.core.languages`` adds what needs the
app (installed Tesseract languages, checking a job's choice, the reader's locale).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One language as each standard names it.

    Attributes:
        tesseract: Tesseract's traineddata name (``kaz``, ``chi_sim``, ``uzb_cyrl``).
        iso639_1: Two letters (BCP 47's primary tag): ``kk``; empty where none exists.
        iso639_2b: MARC's bibliographic three letters: ``kaz``, ``ger``, ``fre``.
        script: ISO 15924 code of the script its pages are printed in: ``Cyrl``, ``Latn``.
        kk: Its name in Kazakh.
        ru: Its name in Russian.
        en: Its name in English (also biblatex's ``langid``, in lower case).
    """

    tesseract: str
    iso639_1: str
    iso639_2b: str
    script: str
    kk: str
    ru: str
    en: str

    @property
    def bcp47(self) -> str:
        """The tag for ``lang`` attributes, PDF ``/Lang``, Dublin Core and IIIF."""
        return self.iso639_1 or self.iso639_2b

    def name(self, locale: str) -> str:
        """The language's name in the UI language ``locale`` (English for any other)."""
        return {"kk": self.kk, "ru": self.ru}.get(locale[:2], self.en)


LANGUAGES: tuple[Language, ...] = (
    Language("kaz", "kk", "kaz", "Cyrl", "қазақ тілі", "казахский", "Kazakh"),
    Language("rus", "ru", "rus", "Cyrl", "орыс тілі", "русский", "Russian"),
    Language("kir", "ky", "kir", "Cyrl", "қырғыз тілі", "киргизский", "Kyrgyz"),
    Language("eng", "en", "eng", "Latn", "ағылшын тілі", "английский", "English"),
    Language("deu", "de", "ger", "Latn", "неміс тілі", "немецкий", "German"),
    Language("fra", "fr", "fre", "Latn", "француз тілі", "французский", "French"),
    Language("tur", "tr", "tur", "Latn", "түрік тілі", "турецкий", "Turkish"),
    Language("uzb", "uz", "uzb", "Latn", "өзбек тілі", "узбекский", "Uzbek"),
    Language("uzb_cyrl", "uz", "uzb", "Cyrl", "өзбек тілі (кирилл)", "узбекский (кириллица)",
             "Uzbek (Cyrillic)"),
    Language("ukr", "uk", "ukr", "Cyrl", "украин тілі", "украинский", "Ukrainian"),
    Language("bel", "be", "bel", "Cyrl", "белорус тілі", "белорусский", "Belarusian"),
    Language("bul", "bg", "bul", "Cyrl", "болгар тілі", "болгарский", "Bulgarian"),
    Language("srp", "sr", "srp", "Cyrl", "серб тілі", "сербский", "Serbian"),
    Language("mkd", "mk", "mac", "Cyrl", "македон тілі", "македонский", "Macedonian"),
    Language("tat", "tt", "tat", "Cyrl", "татар тілі", "татарский", "Tatar"),
    Language("bak", "ba", "bak", "Cyrl", "башқұрт тілі", "башкирский", "Bashkir"),
    Language("tgk", "tg", "tgk", "Cyrl", "тәжік тілі", "таджикский", "Tajik"),
    Language("mon", "mn", "mon", "Cyrl", "моңғол тілі", "монгольский", "Mongolian"),
    Language("chi_sim", "zh", "chi", "Hans", "қытай тілі", "китайский", "Chinese"),
    Language("fas", "fa", "per", "Arab", "парсы тілі", "персидский", "Persian"),
    Language("ces", "cs", "cze", "Latn", "чех тілі", "чешский", "Czech"),
    Language("nld", "nl", "dut", "Latn", "нидерланд тілі", "нидерландский", "Dutch"),
    Language("ell", "el", "gre", "Grek", "грек тілі", "греческий", "Greek"),
    Language("hye", "hy", "arm", "Armn", "армян тілі", "армянский", "Armenian"),
    Language("kat", "ka", "geo", "Geor", "грузин тілі", "грузинский", "Georgian"),
    Language("ron", "ro", "rum", "Latn", "румын тілі", "румынский", "Romanian"),
    Language("slk", "sk", "slo", "Latn", "словак тілі", "словацкий", "Slovak"),
    Language("sqi", "sq", "alb", "Latn", "албан тілі", "албанский", "Albanian"),
    Language("msa", "ms", "may", "Latn", "малай тілі", "малайский", "Malay"),
    Language("cym", "cy", "wel", "Latn", "валлий тілі", "валлийский", "Welsh"),
    Language("eus", "eu", "baq", "Latn", "баск тілі", "баскский", "Basque"),
    Language("isl", "is", "ice", "Latn", "исланд тілі", "исландский", "Icelandic"),
    Language("bod", "bo", "tib", "Tibt", "тибет тілі", "тибетский", "Tibetan"),
)  # fmt: skip

_BY_CODE: dict[str, Language] = {}
for _language in LANGUAGES:  # a Tesseract, MARC or two-letter code finds its language
    for _code in (_language.iso639_1, _language.iso639_2b, _language.tesseract):
        _BY_CODE.setdefault(_code, _language)
_BY_CODE.pop("", None)


def find(code: str) -> Language | None:
    """The language of a Tesseract (``kaz``), MARC (``ger``) or two-letter (``kk``) code."""
    return _BY_CODE.get(code.strip().lower()) if code else None


def bcp47(code: str) -> str:
    """A code as a BCP 47 tag (``kaz`` → ``kk``); an unknown code stays as it is."""
    language = find(code)
    return language.bcp47 if language else code


def to_marc(code: str) -> str:
    """A Tesseract code as MARC's ISO 639-2/B (``deu`` → ``ger``; ``uzb_cyrl`` → ``uzb``)."""
    language = find(code)
    return language.iso639_2b if language else code.split("_")[0]


def to_tesseract(code: str) -> str:
    """A MARC code as a Tesseract language (``ger`` → ``deu``); an unknown code as it is."""
    language = find(code)
    return language.tesseract if language else code


def cyrillic_codes() -> frozenset[str]:
    """Tesseract codes of languages printed in Cyrillic (wrong-script review flags)."""
    return frozenset(language.tesseract for language in LANGUAGES if language.script == "Cyrl")
