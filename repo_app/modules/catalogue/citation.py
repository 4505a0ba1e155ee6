"""How to cite a document: GOST 7.0.100-2018 (the Kazakh and Russian standard) and BibTeX.

Both are built from the document's catalogue record when it has one (authors with their roles,
place, publisher, edition, physical description, series, ISBN, host item of an article), else
from the document's own fields. The citation describes the digitized copy on this site: it ends
with the resource type, the site, the page's URL and the date it was consulted, as GOST does
for remote electronic resources.

GOST's fixed words are written in the language of the description: Kazakh for a document whose
first language is Kazakh ("Мәтін : электрондық", "қаралған күні"), Russian otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mura.app.core.languages import find_language
from mura.app.models import CatalogueRecord, Document
from mura.app.models.record import CREATOR_ROLES
from mura.app.modules.catalogue.metadata import physical_description, record_title

#: GOST separates the areas of a description with a full stop, a space, an en dash and a space.
AREA = ". – "

#: GOST's fixed words by description language.
WORDS = {
    "ru": {
        "text": "Текст : электронный",
        "accessed": "дата обращения",
        "others": "и др.",
        "site": "сайт",
        "pages": "с.",
        "months": (
            "янв.", "февр.", "марта", "апр.", "мая", "июня",
            "июля", "авг.", "сент.", "окт.", "нояб.", "дек.",
        ),
    },
    "kk": {
        "text": "Мәтін : электрондық",
        "accessed": "қаралған күні",
        "others": "т.б.",
        "site": "сайт",
        "pages": "б.",
        "months": (
            "қаң.", "ақп.", "нау.", "сәу.", "мам.", "мау.",
            "шіл.", "там.", "қыр.", "қаз.", "қар.", "жел.",
        ),
    },
}  # fmt: skip

#: BibTeX entry type per document type.
BIBTEX_TYPES = {
    "book": "book",
    "newspaper_article": "article",
    "journal_article": "article",
    "book_article": "incollection",
    "newspaper_issue": "misc",
    "journal_issue": "misc",
}

#: "№ 45", "No. 45" -> "45" for BibTeX's ``number``.
_ISSUE_PREFIX = re.compile(r"^(№|No\.?|Nr\.?)\s*", re.IGNORECASE)
_BIBTEX_SPECIAL = re.compile(r"([\\{}&%$#_~^])")
_BIBTEX_REPLACEMENTS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


@dataclass(frozen=True)
class Name:
    """A person or body responsible for the work.

    Attributes:
        inverted: As in a catalogue heading: "Барсуков, В. Н." (or a body's name).
        corporate: A corporate body or meeting, never abbreviated.
    """

    inverted: str
    corporate: bool = False

    @property
    def heading(self) -> str:
        """GOST's heading form: surname, then initials ("Әлімжанов, С. А.")."""
        if self.corporate:
            return self.inverted
        surname, given = _split_name(self.inverted)
        return f"{surname}, {given}" if given else surname

    @property
    def direct(self) -> str:
        """The statement-of-responsibility form: initials, then surname ("С. А. Әлімжанов")."""
        if self.corporate:
            return self.inverted
        surname, given = _split_name(self.inverted)
        return f"{given} {surname}" if given else surname


def _split_name(name: str) -> tuple[str, str]:
    """Surname and initials of "Surname, Given Names", "Surname G. N." or "G. N. Surname"."""
    name = " ".join(name.split())
    if "," in name:
        surname, given = (part.strip() for part in name.split(",", 1))
    else:
        parts = name.split(" ")
        initials = [p for p in parts if p.endswith(".") and len(p) <= 3]
        others = [p for p in parts if p not in initials]
        if initials and others:
            return " ".join(others), " ".join(initials)
        surname, given = parts[0], " ".join(parts[1:])
    return surname, _initials(given)


def _initials(given: str) -> str:
    """Initials of given names: ``Серік Ахметұлы`` -> ``С. А.`` (initials stay as they are)."""
    result = []
    for part in given.replace(".", ". ").split():
        if part.endswith(".") or len(part) == 1:
            result.append(part if part.endswith(".") else part + ".")
        elif "-" in part:  # Жан-Поль
            result.append("-".join(p[:1] + "." for p in part.split("-") if p))
        elif part[:1].isalpha():
            result.append(part[:1] + ".")
    return " ".join(result)


def authors_of(document: Document) -> list[Name]:
    """The creators of the work: the record's (in catalogue order), else the document's."""
    record = document.record
    if record is not None:
        creators = [a for a in record.agents if a.role in CREATOR_ROLES]
        return [Name(a.name, corporate=a.kind != "person") for a in creators]
    return [Name(author) for author in document.authors or [] if author.strip()]


def description_language(document: Document) -> str:
    """``kk`` when the document's first language is Kazakh, else ``ru``."""
    languages = list(document.record.languages) if document.record else []
    languages = languages or document.languages
    return "kk" if languages and languages[0] == "kaz" else "ru"


def gost(
    document: Document, url: str, accessed: date, site: str = "Mura", lang: str | None = None
) -> str:
    """The GOST 7.0.100-2018 description of the digitized document.

    Args:
        document: The document.
        url: The address to cite (the reader's permalink or the document's page).
        accessed: The date the reader consults it.
        site: The name of the site.
        lang: ``kk`` or ``ru``; default: :func:`description_language`.

    Returns:
        One line of text.
    """
    words = WORDS[lang or description_language(document)]
    record = document.record
    names = authors_of(document)
    areas: list[str] = []
    title = record_title(document)
    responsibility = _responsibility(names, record, words)
    heading = names[0].heading if 1 <= len(names) <= 3 else ""
    first = f"{heading} {title}" if heading else title
    if responsibility:
        first += f" / {responsibility}"
    if record is not None and record.host_title and document.doc_type != "book":
        first += " // " + _host(record, words)
        areas.append(first)
    else:
        areas.append(first)
        areas += _publication_areas(document, record, words)
    areas.append(f"{words['text']} // {site} : [{words['site']}]")
    areas.append(f"URL: {url} ({words['accessed']}: {accessed.strftime('%d.%m.%Y')})")
    return AREA.join(area.rstrip(". ") for area in areas if area) + "."


def _responsibility(names: list[Name], record: CatalogueRecord | None, words: dict) -> str:
    if record is not None and record.responsibility:
        return record.responsibility.strip().rstrip(".")
    if not names:
        return ""
    if len(names) <= 4:
        return ", ".join(name.direct for name in names)
    return ", ".join(name.direct for name in names[:3]) + f" [{words['others']}]"


def _publication_areas(
    document: Document, record: CatalogueRecord | None, words: dict
) -> list[str]:
    """Edition; place : publisher, year; extent; series; ISBN."""
    if record is None:
        areas = [str(document.year)] if document.year else []
        if document.page_count:
            areas.append(f"{document.page_count} {words['pages']}")
        return areas
    areas = [record.edition] if record.edition else []
    publication = ""
    if record.place and record.publisher:
        publication = f"{record.place} : {record.publisher}"
    else:
        publication = record.place or record.publisher
    year = record.year or document.year
    if year:
        publication = f"{publication}, {year}" if publication else str(year)
    if publication:
        areas.append(publication)
    extent = physical_description(record)
    if not extent and document.page_count:
        extent = f"{document.page_count} {words['pages']}"
    if extent:
        areas.append(extent)
    if record.series:
        areas.append(f"({record.series})")
    if record.isbn:
        areas.append(f"ISBN {record.isbn}")
    return areas


def _host(record: CatalogueRecord, words: dict) -> str:
    """The host item of an article: "Индустриальная Караганда. – 2023. – 14 нояб. – С. 3"."""
    parts = [record.host_title.strip().rstrip(".")]
    year = record.host_year or (record.host_date.year if record.host_date else None)
    if year:
        parts.append(str(year))
    issue = record.host_issue.strip()
    if record.host_date is not None:
        day = f"{record.host_date.day} {words['months'][record.host_date.month - 1]}"
        parts.append(f"{issue} ({day})" if issue else day)
    elif issue:
        parts.append(issue)
    if record.host_pages:
        parts.append(record.host_pages.strip())
    return AREA.join(parts)


# --- BibTeX ---------------------------------------------------------------------------------------


def bibtex_escape(value: str) -> str:
    """Escape BibTeX's special characters; letters of any script stay as they are (UTF-8)."""
    return _BIBTEX_SPECIAL.sub(
        lambda m: _BIBTEX_REPLACEMENTS.get(m.group(1), "\\" + m.group(1)), " ".join(value.split())
    )


def bibtex(document: Document, url: str, accessed: date) -> str:
    """A BibTeX entry (biblatex-friendly: ``url``, ``urldate``, ``langid``) for the document.

    Args:
        document: The document.
        url: The address to cite.
        accessed: The date the reader consults it (``urldate``).
    """
    record = document.record
    kind = BIBTEX_TYPES.get(document.doc_type, "misc")
    fields: list[tuple[str, str]] = []
    names = authors_of(document)
    if names:
        fields.append(("author", " and ".join(_bibtex_name(name) for name in names)))
    fields.append(("title", record_title(document)))
    year = document.year
    if record is not None:
        year = record.year or record.host_year or year
        if kind == "article":
            fields.append(("journal", record.host_title))
            fields += [
                ("number", _ISSUE_PREFIX.sub("", record.host_issue.strip())),
                ("pages", _bare_pages(record.host_pages)),
            ]
            if record.host_date:
                fields.append(("date", record.host_date.isoformat()))
        elif kind == "incollection":
            fields += [("booktitle", record.host_title), ("pages", _bare_pages(record.host_pages))]
        fields += [
            ("edition", record.edition),
            ("address", record.place),
            ("publisher", record.publisher),
            ("series", record.series),
            ("isbn", record.isbn),
            ("issn", record.issn),
        ]
    if year:
        fields.append(("year", str(year)))
    languages = (list(record.languages) if record else []) or document.languages
    language = find_language(languages[0]) if languages else None
    if language is not None:  # ``langid``: biblatex / babel names the language in English
        fields.append(("langid", language.en.lower()))
    fields += [("url", url), ("urldate", accessed.isoformat()), ("note", "Digitized copy")]
    body = ",\n".join(
        f"  {name} = {{{_field_value(name, value)}}}" for name, value in fields if value
    )
    return f"@{kind}{{mura{document.id},\n{body}\n}}\n"


def _bibtex_name(name: Name) -> str:
    """A person as "Surname, Given" (BibTeX reads "A B" as given name A), a body in braces."""
    if name.corporate:
        return "{" + bibtex_escape(name.inverted) + "}"
    if "," in name.inverted:
        return bibtex_escape(name.inverted)
    surname, given = _split_name(name.inverted)
    return bibtex_escape(f"{surname}, {given}" if given else surname)


def _field_value(field: str, value: str) -> str:
    """The value as written between braces.

    Escaped, except URLs (verbatim in biblatex) and the author list (escaped name by name).
    """
    if field == "author":
        return value
    if field == "url":
        return value.replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C")
    return bibtex_escape(value)


def _bare_pages(pages: str) -> str:
    """Page numbers for BibTeX: ``С. 3-5`` -> ``3--5``."""
    match = re.search(r"(\d+)\s*[-–—]\s*(\d+)|(\d+)", pages or "")
    if not match:
        return ""
    return f"{match.group(1)}--{match.group(2)}" if match.group(1) else match.group(3)
