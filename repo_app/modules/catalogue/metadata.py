"""A document described for the outside: Dublin Core, MARC 21 and PDF document information.

Each takes a document and reads its catalogue record when it has one, else the document's own
fields (what ingest filled). Callers decide visibility first: nothing here checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pymarc

from mura.app.models import CatalogueRecord, Document
from mura.workers.pipeline.pdf import DocumentMeta

#: Dublin Core elements, in the order oai_dc writes them.
DC_ELEMENTS = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip
#: Labels of classification schemes in dc:subject ("ББК 63.3(5Каз)").
SCHEME_LABELS = {"udc": "УДК", "bbk": "ББК", "ddc": "DDC"}
#: Other classification schemes ($2 source codes) by the name readers know them by.
CLASSIFICATION_LABELS = {"rugasnti": "ГРНТИ", "grnti": "ГРНТИ", "rueskl": "ЕСКЛ"}
#: Document types in dc:type, after the DCMI type "Text".
DC_TYPES = {
    "book": "book",
    "newspaper_article": "newspaper article",
    "journal_article": "journal article",
    "book_article": "book chapter",
    "newspaper_issue": "newspaper issue",
    "journal_issue": "journal issue",
}


def record_title(document: Document) -> str:
    """The title a reader cites: the record's title and part, then the document's volume."""
    record = document.record
    if record is None:
        return document.title
    title = record.full_title
    if record.subtitle:
        title = f"{title} : {record.subtitle}"
    if document.part_label:
        title = f"{title.rstrip('. ')}. {document.part_label}"
    return title


def dublin_core(document: Document, url: str | None = None) -> dict[str, list[str]]:
    """Simple Dublin Core of a document, element -> values; ``url`` is its public page."""
    from mura.app.modules.catalogue.records import marc_languages

    record = document.record
    dc: dict[str, list[str]] = {name: [] for name in DC_ELEMENTS}
    dc["title"].append(record_title(document))
    dc["type"] += ["Text", DC_TYPES.get(document.doc_type, document.doc_type)]
    dc["format"].append("application/pdf")
    if url:
        dc["identifier"].append(url)
    dc["relation"] += [collection.title for collection in document.collections]
    if document.rights_uri:  # rightsstatements.org / Public Domain Mark (docs/rights.md)
        dc["rights"].append(document.rights_uri)
    host = _host_link(document)
    if host is not None and not (record and record.host_citation):
        dc["source"].append(host.citation)  # the issue it was clipped from
    if record is None:
        dc["creator"] += list(document.authors or [])
        dc["language"] += marc_languages(document.langs)
        if document.year:
            dc["date"].append(str(document.year))
        return _compact(dc)
    dc["creator"] += [a.name for a in record.creators]
    dc["contributor"] += [a.name for a in record.contributors]
    dc["subject"] += [_subject(s.kind, s.term, s.scheme) for s in record.subjects]
    dc["description"] += [line for line in record.notes.splitlines() if line.strip()]
    if record.responsibility:
        dc["description"].insert(0, record.responsibility)
    dc["publisher"] += [record.publisher] if record.publisher else []
    date = record.host_date.isoformat() if record.host_date else record.year or record.host_year
    if date:
        dc["date"].append(str(date))
    physical = physical_description(record)
    if physical:
        dc["format"].append(physical)
    if record.isbn:
        dc["identifier"].append(f"URN:ISBN:{record.isbn}")
    if record.issn:
        dc["identifier"].append(f"ISSN {record.issn}")
    if record.host_citation:
        dc["source"].append(record.host_citation)
    dc["language"] += list(record.languages) or marc_languages(document.langs)
    if record.series:
        dc["relation"].append(record.series)
    if record.external_url:
        dc["relation"].append(record.external_url)
    return _compact(dc)


def _host_link(document: Document):
    """The issue a clipped article comes from (modules/digitization/articles.py), else None."""
    from mura.app.models import ARTICLE_TYPES
    from mura.app.modules.digitization.articles import host_link

    if document.doc_type not in ARTICLE_TYPES or document.id is None:
        return None
    return host_link(document.id)


def physical_description(record: CatalogueRecord) -> str:
    """ISBD area 5: "80 с. : ил., портр. ; 21 см"."""
    text = record.extent
    if record.illustrations:
        text = f"{text} : {record.illustrations}" if text else record.illustrations
    if record.dimensions:
        size = record.dimensions
        if size.isdigit():
            size += " см"
        text = f"{text} ; {size}" if text else size
    return text


def _subject(kind: str, term: str, scheme: str = "") -> str:
    """A heading as it is, a classification number with its scheme ("ГРНТИ 17.82", not bare)."""
    label = SCHEME_LABELS.get(kind)
    if not label and kind == "classification" and scheme:
        label = CLASSIFICATION_LABELS.get(scheme.lower(), scheme)
    return f"{label} {term}" if label else term


def _compact(dc: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: list(dict.fromkeys(v for v in values if v)) for k, values in dc.items() if values}


# --- MARC 21 -------------------------------------------------------------------------------------

_SUBJECT_TAGS = {
    "person": "600", "corporate": "610", "title": "630", "topic": "650", "place": "651",
    "keyword": "653", "udc": "080", "ddc": "082", "bbk": "084", "classification": "084",
}  # fmt: skip
#: First indicator of a subject heading other than 600 (610 name in direct order, 630 no
#: non-filing characters); 600 is told from the name.
_SUBJECT_IND1 = {"610": "2", "611": "2", "630": "0"}
#: MARC source code ($2) of a classification kept without one (entered by hand as "BBK").
_CLASSIFICATION_SOURCE = {"bbk": "rubbk"}
_AGENT_TAGS = {"person": ("100", "700"), "corporate": ("110", "710"), "meeting": ("111", "711")}


def marc21(
    document: Document,
    identifier: str,
    url: str | None = None,
    host_identifier: Callable[[int], str] | None = None,
) -> pymarc.Record:
    """A MARC 21 bibliographic record of the digitized document (for OAI-PMH ``marc21``).

    Built from the catalogue record where there is one, so every document gets the same
    MARC 21 whatever format its record was imported from. ``host_identifier`` names a
    document as this export's 001 does, so a clipped article's 773 $w points at its issue's
    record (the caller knows the scheme: OAI identifiers, or ``mura:document:<id>`` in bags).
    """
    from mura.app.modules.catalogue.records import marc_languages

    record = document.record
    # Leader/07: m a book, a a chapter of a book, b an article of a newspaper or journal.
    level = {"book": "m", "book_article": "a", "newspaper_issue": "s", "journal_issue": "s"}.get(
        document.doc_type, "b"
    )
    # Leader/18 "c": ISBD punctuation omitted (the import strips it); 0-4 and 12-16 are
    # computed by pymarc's writer at the end.
    rec = pymarc.Record(force_utf8=True, leader=f"     na{level} a22     7c 4500")
    languages = (list(record.languages) if record else []) or marc_languages(document.langs)
    year = (record.year or record.host_year) if record else document.year
    stamp = document.updated_at or datetime.now()
    rec.add_field(pymarc.Field(tag="001", data=identifier))
    rec.add_field(pymarc.Field(tag="005", data=stamp.strftime("%Y%m%d%H%M%S.0")))
    rec.add_field(pymarc.Field(tag="008", data=_field_008(document, year, languages)))
    if record and record.isbn:
        rec.add_field(_df("020", "  ", a=record.isbn))
    if record and record.issn:
        rec.add_field(_df("022", "  ", a=record.issn))
    if record and record.external_id:
        rec.add_field(_df("035", "  ", a=record.external_id))
    for code in languages:
        rec.add_field(_df("041", "0 ", a=code))
    agents = _agents(document)
    main = next((a for a in agents if a[2] in ("aut", "cre")), None)
    if main is not None:
        rec.add_field(_agent_field(_AGENT_TAGS.get(main[0], ("100", "700"))[0], main))
    _add_title(rec, document, record, main is not None)
    if record:
        _add_description(rec, record, year)
    elif year:
        rec.add_field(_df("264", " 1", c=str(year)))
    for agent in agents:
        if agent is not main:
            rec.add_field(_agent_field(_AGENT_TAGS.get(agent[0], ("100", "700"))[1], agent))
    if record and record.host_title:
        related = ", ".join(
            p
            for p in (
                str(record.host_year or ""),
                record.host_issue,
                record.host_date.strftime("%d.%m.%Y") if record.host_date else "",
                record.host_pages,
            )
            if p
        )
        rec.add_field(_df("773", "0 ", t=record.host_title, g=related))
    elif (host := _host_link(document)) is not None:  # clipped from an issue in Mura
        related = ", ".join(p for p in (str(host.year or ""), host.pages_label) if p)
        rec.add_field(
            _df(
                "773",
                "0 ",
                t=host.title,
                g=related,
                w=host_identifier(host.document_id) if host_identifier else "",
            )
        )
    if document.rights_uri:  # terms governing use: the rights statement (docs/rights.md)
        rec.add_field(_df("540", "  ", u=document.rights_uri))
    if url:  # the public page of the document (an HTML page that offers the PDF)
        rec.add_field(_df("856", "40", u=url, q="text/html"))
    if record and record.external_url:
        rec.add_field(_df("856", "42", u=record.external_url, z="Library catalogue record"))
    return _finished(rec)


def _finished(rec: pymarc.Record) -> pymarc.Record:
    """The record as MARC 21 wants it: fields in tag order, leader lengths filled in.

    Fields are added where their data is at hand, so 080/084/540 came after 6XX/7XX; the
    record length and base address of data (leader/00-04, 12-16) are what pymarc's ISO 2709
    writer computes.
    """
    rec.fields.sort(key=lambda f: f.tag)  # stable: repeated fields keep their order
    rec.leader = pymarc.Leader(rec.as_marc()[:24].decode("ascii"))
    return rec


def _add_title(
    rec: pymarc.Record, document: Document, record: CatalogueRecord | None, has_main: bool
) -> None:
    subfields = {"a": record.title if record else document.title}
    if record and record.subtitle:
        subfields["b"] = record.subtitle
    part = " ".join(p for p in ((record.part if record else ""), document.part_label or "") if p)
    if part:
        subfields["n"] = part
    if record and record.responsibility:
        subfields["c"] = record.responsibility
    rec.add_field(_df("245", ("1" if has_main else "0") + "0", **subfields))


def _add_description(rec: pymarc.Record, record: CatalogueRecord, year: int | None) -> None:
    if record.edition:
        rec.add_field(_df("250", "  ", a=record.edition))
    if record.place or record.publisher or year:
        rec.add_field(
            _df("264", " 1", a=record.place, b=record.publisher, c=str(year) if year else "")
        )
    if record.extent or record.illustrations or record.dimensions:
        rec.add_field(
            _df("300", "  ", a=record.extent, b=record.illustrations, c=record.dimensions)
        )
    if record.series:
        rec.add_field(_df("490", "0 ", a=record.series))
    for line in record.notes.splitlines():
        if line.strip():
            rec.add_field(_df("500", "  ", a=line.strip()))
    for subject in record.subjects:
        tag = _SUBJECT_TAGS.get(subject.kind, "653")
        heading, *subdivisions = subject.term.split(" -- ")
        indicators = "  " if tag < "600" or tag == "653" else " 7" if subject.scheme else " 4"
        if indicators != "  ":  # ind1 of a name: 1 surname first, 0 forename, 2 a body
            indicators = _SUBJECT_IND1.get(tag, " ") + indicators[1]
            if tag == "600":
                indicators = ("1" if "," in heading else "0") + indicators[1]
        subfields: list[pymarc.Subfield] = [pymarc.Subfield("a", heading)]
        subfields += [pymarc.Subfield("x", s) for s in subdivisions]
        source = subject.scheme or (
            _CLASSIFICATION_SOURCE.get(subject.kind, "") if tag == "084" else ""
        )
        if source and (indicators != "  " or tag == "084"):
            subfields.append(pymarc.Subfield("2", source))
        rec.add_field(
            pymarc.Field(tag=tag, indicators=pymarc.Indicators(*indicators), subfields=subfields)
        )


def _agents(document: Document) -> list[tuple[str, str, str, str]]:
    if document.record is None:
        return [("person", name, "aut", "") for name in document.authors or []]
    return [(a.kind, a.name, a.role, a.dates) for a in document.record.agents]


def _agent_field(tag: str, agent: tuple[str, str, str, str]) -> pymarc.Field:
    kind, name, role, dates = agent
    indicators = "1 " if kind == "person" and "," in name else "0 " if kind == "person" else "2 "
    subfields = [pymarc.Subfield("a", name)]
    if dates:
        subfields.append(pymarc.Subfield("d", dates))
    subfields.append(pymarc.Subfield("4", role))
    return pymarc.Field(tag=tag, indicators=pymarc.Indicators(*indicators), subfields=subfields)


def _df(tag: str, indicators: str, **subfields: str) -> pymarc.Field:
    return pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(*indicators),
        subfields=[pymarc.Subfield(code, value) for code, value in subfields.items() if value],
    )


def _field_008(document: Document, year: int | None, languages: list[str]) -> str:
    """Fixed-length data elements: entered date, date type and year, language."""
    entered = (document.created_at or datetime.now()).strftime("%y%m%d")
    dates = f"s{year:04d}    " if year else "n        "
    language = (languages[0] if languages else "und")[:3].ljust(3)
    value = f"{entered}{dates}xx {' ' * 17}{language} d"
    return value.ljust(40)[:40]


# --- UNIMARC (RUSMARC) ---------------------------------------------------------------------------

#: UNIMARC relator codes ($4, numeric) of the MARC 21 roles a record keeps.
_UNIMARC_ROLES = {
    "aut": "070", "edt": "340", "trl": "730", "ill": "440", "com": "220", "cmp": "230",
    "pbd": "651", "ths": "727",
}  # fmt: skip
#: Leader/07 (bibliographic level) and /08 (hierarchical level) by document type.
_UNIMARC_LEVELS = {"book": "m0", "newspaper_issue": "s1", "journal_issue": "s1"}


def unimarc(
    document: Document,
    identifier: str,
    url: str | None = None,
    host_identifier: Callable[[int], str] | None = None,
) -> pymarc.Record:
    """A RUSMARC (UNIMARC) record of the document, as library systems of the region import it.

    IRBIS, OPAC-Global and MARC-SQL take analytics with the host in 463 (the issue: embedded
    001, 200 $a title $h number, 210 $d date, and $v the pages); Mura's own import reads it
    back the same way (``marc_import._unimarc_host``). A clipped article names the issue it
    was cut from, with $1001 the issue's control number (``host_identifier``).
    """
    from mura.app.modules.catalogue.records import marc_languages

    record = document.record
    level = _UNIMARC_LEVELS.get(document.doc_type, "a2")
    rec = pymarc.Record(force_utf8=True)
    # Leader/20-23 "450 " as UNIMARC has it (pymarc's constructor writes MARC 21's "4500");
    # /09 becomes "a" on writing (pymarc's UTF-8 flag; undefined in UNIMARC, so harmless).
    rec.leader = pymarc.Leader(f"     na{level} 22        450 ")
    languages = (list(record.languages) if record else []) or marc_languages(document.langs)
    year = record.year if record else document.year
    stamp = document.updated_at or datetime.now()
    entered = (document.created_at or datetime.now()).strftime("%Y%m%d")
    dates = f"d{year:04d}    " if year else "d        "
    rec.add_field(pymarc.Field(tag="001", data=identifier))
    rec.add_field(pymarc.Field(tag="005", data=stamp.strftime("%Y%m%d%H%M%S.0")))
    if record and record.isbn:
        rec.add_field(_df("010", "  ", a=record.isbn))
    if record and record.issn:
        rec.add_field(_df("011", "  ", a=record.issn))
    # 100: entered, date type and year, audience unknown, not a government publication,
    # cataloguing language Russian, no transliteration, UTF-8 ("50"), Cyrillic title ("ca").
    rec.add_field(_df("100", "  ", a=f"{entered}{dates}u  y0rusy50      ca"))
    rec.add_field(
        pymarc.Field(
            tag="101",
            indicators=pymarc.Indicators("0", " "),
            subfields=[pymarc.Subfield("a", code) for code in languages or ["und"]],
        )
    )
    rec.add_field(
        _df(
            "200",
            "1 ",
            a=record.title if record else document.title,
            e=record.subtitle if record else "",
            h=" ".join(p for p in ((record.part if record else ""), document.part_label) if p),
            f=record.responsibility if record else ", ".join(document.authors or []),
        )
    )
    if record and record.edition:
        rec.add_field(_df("205", "  ", a=record.edition))
    publication = (record.place, record.publisher) if record else ("", "")
    if (any(publication) or year) and document.doc_type not in _ARTICLES:
        rec.add_field(
            _df("210", "  ", a=publication[0], c=publication[1], d=str(year) if year else "")
        )
    if record and record.extent:
        rec.add_field(
            _df("215", "  ", a=record.extent, c=record.illustrations, d=record.dimensions)
        )
    if record and record.series:
        rec.add_field(_df("225", "1 ", a=record.series))
    for line in (record.notes if record else "").splitlines():
        if line.strip():
            rec.add_field(_df("300", "  ", a=line.strip()))
    host = _unimarc_host_field(document, record, host_identifier)
    if host is not None:
        rec.add_field(host)
    if document.rights_uri:  # terms governing use: the rights statement (docs/rights.md)
        rec.add_field(_df("371", "1 ", a=document.rights_uri))
    for position, (_kind, name, role, dates_) in enumerate(_agents(document)):
        surname, _comma, forename = name.partition(",")
        rec.add_field(
            _df(
                "700" if position == 0 else "701",
                " 1",
                a=surname.strip(),
                b=forename.strip(),
                f=dates_,
                **{"4": _UNIMARC_ROLES.get(role, "")},
            )
        )
    if url:
        rec.add_field(_df("856", "4 ", u=url, q="text/html"))
    rec.fields.sort(key=lambda f: f.tag)
    rec.leader = pymarc.Leader(rec.as_marc()[:24].decode("ascii"))
    return rec


#: Document types whose place of publication is their host's (463), not their own (210).
_ARTICLES = ("newspaper_article", "journal_article", "book_article")


def _unimarc_host_field(
    document: Document,
    record: CatalogueRecord | None,
    host_identifier: Callable[[int], str] | None,
) -> pymarc.Field | None:
    """463: the issue (or book) an article is printed in, with embedded fields ($1)."""
    subfields: list[pymarc.Subfield] = []
    if record and record.host_title:
        when = record.host_date.strftime("%d.%m.%Y") if record.host_date else record.host_year
        subfields += [pymarc.Subfield("1", "2001 "), pymarc.Subfield("a", record.host_title)]
        if record.host_issue:
            subfields.append(pymarc.Subfield("h", record.host_issue))
        if when:
            subfields += [pymarc.Subfield("1", "210  "), pymarc.Subfield("d", str(when))]
        pages = record.host_pages
    elif (host := _host_link(document)) is not None:  # clipped from an issue in Mura
        if host_identifier is not None:
            subfields.append(pymarc.Subfield("1", "001" + host_identifier(host.document_id)))
        subfields += [pymarc.Subfield("1", "2001 "), pymarc.Subfield("a", host.title)]
        if host.year:
            subfields += [pymarc.Subfield("1", "210  "), pymarc.Subfield("d", str(host.year))]
        pages = host.pages_label
    else:
        return None
    if pages:
        subfields.append(pymarc.Subfield("v", pages))
    return pymarc.Field(tag="463", indicators=pymarc.Indicators(" ", "1"), subfields=subfields)


# --- PDF ---------------------------------------------------------------------------------------


def document_meta(document: Document) -> DocumentMeta:
    """What the document's PDF says of itself (Info and XMP), from its catalogue record.

    The record, when there is one, gives the title, the authors and the source (a host's
    citation, or place, publisher and year); without one, the upload's own fields do.
    """
    record = document.record
    creators = [a.name for a in record.creators] if record else list(document.authors or [])
    subject = "; ".join(c.title for c in document.collections) or None
    if record is not None:
        subject = (
            record.host_citation
            or ", ".join(str(p) for p in (record.place, record.publisher, record.year) if p)
            or subject
        )
    return DocumentMeta(
        title=record_title(document),
        authors=creators,
        languages=document.languages,
        subject=subject or None,
        identifier=f"mura:document:{document.id}",
        doc_type=document.doc_type,
        keywords=[  # words, not classification numbers ("17.82" says nothing bare)
            s.term
            for s in (record.subjects if record else [])
            if s.kind not in SCHEME_LABELS and s.kind != "classification"
        ],
        rights=document.rights_uri or None,  # rightsstatements.org / PDM (docs/rights.md)
    )
