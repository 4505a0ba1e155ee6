"""Reading MARC records (ISO 2709 and MARCXML; UNIMARC/RUSMARC/KAZMARC and MARC 21).

Reading is separate from saving: :func:`read_records` turns a file into ``(position, record or
problem)`` pairs, :func:`map_record` turns one pymarc record into plain :class:`RecordData`, and
:func:`mura.app.modules.catalogue.records.import_marc` saves them. A bad record is reported with its
position and the reason; the good ones go on.

The mapping is data (the ``UNIMARC_*`` and ``MARC21_*`` tables below), described for people in
``docs/catalogue.md``. ISO 2709 files are split on the record terminator rather than trusted by
their leader lengths, so one record with a wrong length or directory does not take the rest of
the file with it.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pymarc
from lxml import etree

from mura.app.modules.catalogue.marc_encoding import (
    Detected,
    EncodingError,
    clean_text,
    decode,
    detect_encoding,
)

MARC_NS = "http://www.loc.gov/MARC21/slim"
FORMATS = ("auto", "iso2709", "marcxml")
FLAVOURS = ("auto", "unimarc", "marc21")
#: MARCXML says its own encoding in the XML declaration (UTF-8 by default).
XML_DETECTED = Detected("utf-8", "xml declaration")

# --- the mapping tables ------------------------------------------------------------------------

#: UNIMARC/RUSMARC text attributes: attribute -> (tag, subfield codes, separator).
UNIMARC_TEXT: dict[str, tuple[str, str, str]] = {
    "title": ("200", "a", " ; "),
    "subtitle": ("200", "e", " : "),
    "part": ("200", "hi", ". "),
    "responsibility": ("200", "fg", " ; "),
    "edition": ("205", "a", ", "),
    "place": ("210", "a", " ; "),
    "publisher": ("210", "c", " ; "),
    "extent": ("215", "a", ", "),
    "illustrations": ("215", "c", ", "),
    "dimensions": ("215", "d", ", "),
    "series": ("225", "av", " ; "),
}
#: MARC 21 text attributes: attribute -> (tags tried in order, subfield codes, separator).
MARC21_TEXT: dict[str, tuple[str, str, str]] = {
    "title": ("245", "a", " "),
    "subtitle": ("245", "b", " "),
    "part": ("245", "np", ". "),
    "responsibility": ("245", "c", " "),
    "edition": ("250", "a", " "),
    "place": ("264 260", "a", " ; "),
    "publisher": ("264 260", "b", " ; "),
    "extent": ("300", "a", " "),
    "illustrations": ("300", "b", " "),
    "dimensions": ("300", "c", " "),
    "series": ("490 830", "av", " ; "),
}
#: Where the year, identifiers, languages and notes come from.
UNIMARC_YEAR = ("210", "d")
MARC21_YEAR = ("264 260", "c")
UNIMARC_ISBN, UNIMARC_ISSN = ("010", "a"), ("011", "a")
MARC21_ISBN, MARC21_ISSN = ("020", "a"), ("022", "a")
UNIMARC_LANGUAGES = ("101", "a")
MARC21_LANGUAGES = ("041", "a")
UNIMARC_NOTES = ("300", "320", "327", "330")
MARC21_NOTES = ("500", "504", "505", "520")
#: Holding branch (sigla of the library or department that keeps the item).
UNIMARC_BRANCH = ("899", "a")
MARC21_BRANCH = ("852", "a")

#: Persons and corporate bodies: tag -> (kind, relator code when the field has none).
UNIMARC_AGENTS: dict[str, tuple[str, str]] = {
    "700": ("person", "aut"),  # primary responsibility
    "701": ("person", "aut"),  # alternative responsibility (co-authors)
    "702": ("person", "ctb"),  # secondary responsibility (editors, translators…)
    "710": ("corporate", "aut"),
    "711": ("corporate", "aut"),
    "712": ("corporate", "ctb"),
}
MARC21_AGENTS: dict[str, tuple[str, str]] = {
    "100": ("person", "aut"),
    "110": ("corporate", "aut"),
    "111": ("meeting", "aut"),
    "700": ("person", "ctb"),
    "710": ("corporate", "ctb"),
    "711": ("meeting", "ctb"),
}

#: Subject access: tag -> (kind, heading codes, subdivision codes).
UNIMARC_SUBJECTS: dict[str, tuple[str, str, str]] = {
    "600": ("person", "abcdf", "xyzj"),
    "601": ("corporate", "abcde", "xyzj"),
    "605": ("title", "a", "xyzj"),
    "606": ("topic", "a", "xyzj"),
    "607": ("place", "a", "xyzj"),
    "610": ("keyword", "a", ""),
    "675": ("udc", "a", ""),
    "686": ("classification", "a", ""),
}
MARC21_SUBJECTS: dict[str, tuple[str, str, str]] = {
    "600": ("person", "abcd", "vxyz"),
    "610": ("corporate", "ab", "vxyz"),
    "611": ("corporate", "acdn", "vxyz"),
    "630": ("title", "a", "vxyz"),
    "650": ("topic", "a", "vxyz"),
    "651": ("place", "a", "vxyz"),
    "653": ("keyword", "a", ""),
    "080": ("udc", "a", ""),
    "082": ("ddc", "a", ""),
    "084": ("classification", "a", ""),
}
#: Classification schemes ($2) that have a kind of their own.
SCHEME_KINDS = {"rubbk": "bbk", "bbk": "bbk", "kazbbk": "bbk", "udc": "udc"}

#: UNIMARC relator codes (Appendix C) -> MARC relator codes.
UNIMARC_RELATORS: dict[str, str] = {
    "005": "act", "010": "adp", "020": "ann", "040": "art", "070": "aut", "072": "aut",
    "075": "aft", "080": "aui", "100": "ant", "180": "ctg", "205": "ctb", "210": "cmm",
    "212": "cwt", "220": "com", "230": "cmp", "273": "cur", "340": "edt", "395": "fnd",
    "440": "ill", "550": "oth", "570": "oth", "600": "pht", "605": "pre", "651": "pbd",
    "710": "red", "727": "ths", "730": "trl", "750": "tyd",
}  # fmt: skip
#: Relator terms ($e) in the languages our catalogues use -> MARC relator codes.
RELATOR_TERMS: dict[str, str] = {
    "author": "aut", "editor": "edt", "translator": "trl", "illustrator": "ill",
    "compiler": "com", "photographer": "pht", "publisher": "pbl", "автор": "aut", "редактор": "edt",
    "переводчик": "trl", "иллюстратор": "ill", "составитель": "com", "фотограф": "pht",
    "авторы": "aut", "құрастырушы": "com", "аудармашы": "trl",
}  # fmt: skip
#: Bibliographic level (leader/07) -> document type; articles are refined by their host.
LEVEL_TYPES = {"a": "article", "b": "article", "m": "book", "c": "book", "d": "book", "s": "book"}
#: Words in subjects or keywords that mark a local-lore item.
LOCAL_LORE_MARKS = ("краевед", "өлкетану", "local history")

# --- plain data --------------------------------------------------------------------------------


@dataclass
class AgentData:
    """A person or body as mapped from a MARC field."""

    kind: str
    name: str
    role: str
    dates: str = ""
    authority_id: str = ""


@dataclass
class SubjectData:
    """A subject heading, keyword or classification number as mapped from a MARC field."""

    kind: str
    term: str
    scheme: str = ""
    authority_id: str = ""


@dataclass
class RecordData:
    """One MARC record mapped to :class:`~mura.app.models.CatalogueRecord` attributes."""

    flavour: str
    fields: dict[str, object]
    agents: list[AgentData] = field(default_factory=list)
    subjects: list[SubjectData] = field(default_factory=list)
    source_marc: str = ""


class MarcError(ValueError):
    """A record (or file) that cannot be read or mapped; the message says why."""


@dataclass
class RawRecord:
    """One record of a file: its 1-based position, and either the record or the problem."""

    position: int
    record: pymarc.Record | None = None
    error: str = ""
    offset: int | None = None
    detected: Detected | None = None


@dataclass
class EncodingSeen:
    """How many records of a file were read in one encoding, and how that was decided."""

    encoding: str
    how: str
    records: int


def encodings_seen(raws: Iterable[RawRecord]) -> list[EncodingSeen]:
    """The encodings detected in a file, most records first (the report and preview show it)."""
    counts: dict[tuple[str, str], int] = {}
    for raw in raws:
        if raw.detected is not None:
            key = (raw.detected.encoding, raw.detected.how)
            counts[key] = counts.get(key, 0) + 1
    return [
        EncodingSeen(encoding, how, n)
        for (encoding, how), n in sorted(counts.items(), key=lambda item: -item[1])
    ]


@dataclass
class PreviewRow:
    """One record as it would be imported: what was detected and what it maps to."""

    position: int
    encoding: str = ""
    how: str = ""
    flavour: str = ""
    title: str = ""
    authors: str = ""
    year: int | None = None
    error: str = ""


@dataclass
class Preview:
    """A file read and mapped without saving anything: the first rows and the totals."""

    total: int = 0
    failed: int = 0
    rows: list[PreviewRow] = field(default_factory=list)
    encodings: list[EncodingSeen] = field(default_factory=list)


def preview(
    data: bytes,
    fmt: str = "auto",
    flavour: str = "auto",
    encoding: str | None = None,
    limit: int = 20,
) -> Preview:
    """Read and map a whole file as the import would, keep the first ``limit`` rows; save nothing.

    Lets staff see the detected encoding and the titles in their script before the catalogue
    changes. The work is bounded by the upload size limit; only ``limit`` rows are kept.
    """
    out = Preview()
    try:
        raws = list(read_records(data, fmt, encoding))
    except MarcError as exc:
        out.total = out.failed = 1
        out.rows.append(PreviewRow(0, error=str(exc)))
        return out
    out.encodings = encodings_seen(raws)
    for raw in raws:
        row = PreviewRow(raw.position, error=raw.error)
        if raw.detected is not None:
            row.encoding, row.how = raw.detected.encoding, raw.detected.how
        if raw.record is not None:
            try:
                mapped = map_record(raw.record, flavour)
            except MarcError as exc:
                row.error = str(exc)
            except Exception as exc:  # a mapping bug: shown, as the import would report it
                row.error = f"cannot map: {type(exc).__name__}: {exc}"
            else:
                row.flavour = mapped.flavour
                title = str(mapped.fields.get("title") or "")
                part = str(mapped.fields.get("part") or "")
                row.title = f"{title}. {part}" if part else title
                row.authors = "; ".join(a.name for a in mapped.agents[:3])
                row.year = mapped.fields.get("year")  # type: ignore[assignment]
        out.total += 1
        out.failed += bool(row.error)
        if len(out.rows) < limit:
            out.rows.append(row)
    return out


# --- reading files -----------------------------------------------------------------------------


def detect_format(data: bytes) -> str:
    """``marcxml`` when the file is XML, else ``iso2709``."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "marcxml" if head.startswith(b"<") else "iso2709"


def read_records(
    data: bytes, fmt: str = "auto", encoding: str | None = None
) -> Iterator[RawRecord]:
    """The records of a MARC file, each with its position, or the reason it cannot be read.

    Args:
        data: The whole file.
        fmt: ``iso2709``, ``marcxml`` or ``auto``.
        encoding: Force the character encoding of ISO 2709 records (``utf-8``, ``cp1251``,
            ``marc-8``); by default leader/09 decides, then a guess (see :func:`_decode`).
    """
    if fmt == "auto":
        fmt = detect_format(data)
    if fmt == "iso2709":
        yield from _read_iso2709(data, encoding)
    elif fmt == "marcxml":
        yield from _read_marcxml(data)
    else:
        raise MarcError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _read_iso2709(data: bytes, encoding: str | None) -> Iterator[RawRecord]:
    offset = 0
    position = 0
    for chunk in data.split(pymarc.END_OF_RECORD.encode("ascii")):
        start, offset = offset, offset + len(chunk) + 1
        if not chunk.strip(b"\r\n\x00 \x1a"):
            continue  # line breaks between records, padding at the end
        position += 1
        stripped = chunk.lstrip(b"\r\n")
        start += len(chunk) - len(stripped)
        terminated = offset <= len(data)
        try:
            record, detected = _decode(stripped, encoding, terminated)
        except MarcError as exc:
            yield RawRecord(position, error=str(exc), offset=start)
        else:
            yield RawRecord(position, record=record, offset=start, detected=detected)


def _decode(chunk: bytes, encoding: str | None, terminated: bool) -> tuple[pymarc.Record, Detected]:
    """One ISO 2709 record, checked more strictly than pymarc does, and its detected encoding."""
    leader = chunk[:24]
    if len(leader) < 24 or not leader[:5].isdigit() or not leader[12:17].isdigit():
        raise MarcError(f"bad leader {leader.decode('latin-1')!r}")
    length, base = int(leader[:5]), int(leader[12:17])
    if not terminated and len(chunk) + 1 < length:
        raise MarcError(f"truncated: {len(chunk) + 1} of {length} bytes")
    if base < 25 or base > len(chunk) or chunk[base - 1 : base] != b"\x1e":
        raise MarcError(f"bad directory: base address {base} does not end the directory")
    directory = chunk[24 : base - 1]
    if len(directory) % 12:
        raise MarcError("bad directory: entries are not 12 characters of tag, length, offset")
    for i in range(0, len(directory), 12):
        entry = directory[i : i + 12]
        if not entry[:3].isalnum() or not entry[3:].isdigit():
            raise MarcError(f"bad directory entry {entry.decode('latin-1')!r}")
        end = base + int(entry[3:7]) + int(entry[7:12])
        if end > len(chunk) + 1:
            raise MarcError(
                f"bad directory: field {entry[:3].decode('latin-1')} ends past the record"
            )
    detected = detect_encoding(chunk, encoding, unimarc=_has_tag(chunk, b"200"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            raw = pymarc.Record(data=chunk + b"\x1d", to_unicode=False)
        except (pymarc.PymarcException, ValueError, Warning) as exc:
            raise MarcError(f"unreadable record: {type(exc).__name__} {exc}".strip()) from exc
    return _unicode_record(raw, detected), detected


def _unicode_record(raw: pymarc.Record, detected: Detected) -> pymarc.Record:
    """The record with every text decoded from ``detected.encoding`` and cleaned (NFC)."""
    record = pymarc.Record()
    for f in raw.fields:
        try:
            if f.is_control_field():
                record.add_field(pymarc.Field(tag=f.tag, data=decode(f.data, detected.encoding)))
                continue
            subfields = [
                pymarc.Subfield(code=sub.code, value=decode(sub.value, detected.encoding))
                for sub in f.subfields
            ]
        except EncodingError as exc:
            raise MarcError(
                f"not {detected.encoding} ({detected.how}): field {f.tag}: {exc}"
            ) from exc
        record.add_field(pymarc.Field(tag=f.tag, indicators=f.indicators, subfields=subfields))
    # The text is Unicode now, and leader/09 "a" says so in the MARCXML kept as source_marc.
    leader = str(raw.leader)
    record.leader = pymarc.Leader(leader[:9] + "a" + leader[10:])
    return record


def _has_tag(chunk: bytes, tag: bytes) -> bool:
    try:
        base = int(chunk[12:17])
    except ValueError:
        return False
    directory = chunk[24 : base - 1]
    return any(directory[i : i + 3] == tag for i in range(0, len(directory), 12))


def _read_marcxml(data: bytes) -> Iterator[RawRecord]:
    position = 0
    parser = etree.iterparse(
        io.BytesIO(data), events=("end",), tag=(f"{{{MARC_NS}}}record", "record"),
        resolve_entities=False, no_network=True, huge_tree=False,
    )  # fmt: skip
    try:
        for _event, element in parser:
            position += 1
            try:
                yield RawRecord(position, record=_xml_record(element), detected=XML_DETECTED)
            except MarcError as exc:
                yield RawRecord(position, error=str(exc))
            finally:
                element.clear()
    except etree.XMLSyntaxError as exc:
        yield RawRecord(position + 1, error=f"XML syntax error, line {exc.lineno}: {exc.msg}")


def _xml_record(element: etree._Element) -> pymarc.Record:
    record = pymarc.Record()
    leader = None
    for child in element:
        name = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag", "")
            _check_tag(tag)
            record.add_field(pymarc.Field(tag=tag, data=clean_text(child.text or "")))
        elif name == "datafield":
            tag = child.get("tag", "")
            _check_tag(tag)
            ind = (child.get("ind1", " ") or " ", child.get("ind2", " ") or " ")
            subfields = [
                pymarc.Subfield(code=sub.get("code", ""), value=clean_text(sub.text or ""))
                for sub in child
                if isinstance(sub.tag, str) and etree.QName(sub).localname == "subfield"
            ]
            record.add_field(
                pymarc.Field(tag=tag, indicators=pymarc.Indicators(*ind), subfields=subfields)
            )
    if leader is None or len(leader) != 24:
        raise MarcError(f"bad leader {leader!r}" if leader is not None else "no leader")
    record.leader = pymarc.Leader(leader)
    return record


def _check_tag(tag: str) -> None:
    if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
        raise MarcError(f"bad tag {tag!r}")


# --- mapping -----------------------------------------------------------------------------------


def detect_flavour(record: pymarc.Record) -> str:
    """``unimarc`` (title in 200) or ``marc21`` (title in 245); MarcError when neither."""
    tags = {f.tag for f in record.fields}
    if "245" in tags:
        return "marc21"
    if "200" in tags:
        return "unimarc"
    raise MarcError("no title: neither UNIMARC 200 nor MARC 21 245")


def map_record(record: pymarc.Record, flavour: str = "auto") -> RecordData:
    """Map one record to plain data; MarcError when it has no usable title."""
    if flavour == "auto":
        flavour = detect_flavour(record)
    data = _map_unimarc(record) if flavour == "unimarc" else _map_marc21(record)
    if not data.fields.get("title"):
        raise MarcError("no title")
    terms = " ".join(s.term.lower() for s in data.subjects)
    data.fields["local_lore"] = any(mark in terms for mark in LOCAL_LORE_MARKS)
    data.source_marc = pymarc.record_to_xml(record, namespace=True).decode("utf-8")
    return data


def _map_unimarc(record: pymarc.Record) -> RecordData:
    fields: dict[str, object] = {
        name: _text(record, tag, codes, sep, isbd=False)
        for name, (tag, codes, sep) in UNIMARC_TEXT.items()
    }
    fields["year"] = _year(_first(record, *UNIMARC_YEAR)) or _year(_control(record, "100", 9, 13))
    fields["isbn"] = _isbn(_all(record, *UNIMARC_ISBN))
    fields["issn"] = _issn(_all(record, *UNIMARC_ISSN))
    fields["languages"] = _languages(_all(record, *UNIMARC_LANGUAGES))
    fields["notes"] = "\n".join(v for tag in UNIMARC_NOTES for v in _all(record, tag, "a"))
    fields["branch"] = _first(record, *UNIMARC_BRANCH)
    fields["external_id"] = _control(record, "001") or None
    kind = LEVEL_TYPES.get(record.leader[7], "book")
    set_level = _embedded(record, "461")
    unit_level = _embedded(record, "463")
    if kind == "article":
        _unimarc_host(fields, set_level, unit_level)
    elif set_level and set_level.get("200a"):
        # A volume of a multi-volume set: the set title is the title, this volume is the part.
        own = " ".join(p for p in (fields["title"], fields["part"]) if p)
        fields["title"], fields["part"] = set_level["200a"], _volume_part(set_level.get("v"), own)
    fields["doc_type"] = _article_type(fields) if kind == "article" else "book"
    agents = [
        AgentData(
            kind="meeting" if tag in ("710", "711", "712") and f.indicator1 == "1" else kind_,
            name=_agent_name(f, "ab", ", " if kind_ == "person" else ". ", isbd=False),
            role=_unimarc_role(f, default),
            dates=" ".join(f.get_subfields("f")),
            authority_id=_first_sub(f, "3"),
        )
        for tag, (kind_, default) in UNIMARC_AGENTS.items()
        for f in record.get_fields(tag)
        if f.get_subfields("a")
    ]
    if not agents and kind != "article" and set_level.get("700a"):
        # A volume without its own author has the set's (461 embeds the set's 700).
        name = ", ".join(_name_part(set_level[k]) for k in ("700a", "700b") if k in set_level)
        agents.append(AgentData("person", name, "aut", authority_id=set_level.get("7003", "")))
    subjects = _subjects(record, UNIMARC_SUBJECTS, authority="3")
    return RecordData("unimarc", fields, agents, subjects)


def _volume_part(number: str | None, own: str) -> str:
    """The part of a volume: 461$v ("Т. 1") and the volume's own title, neither dropped.

    RUSMARC puts the volume's number in 461$v and its own title, if any, in 200$a; a record
    whose 200$a already is the number ("Вып. 13.") does not repeat it.
    """
    number = _clean(number or "", isbd=False)
    if not number or number.rstrip(". ").casefold() in own.casefold():
        return own or number
    return f"{number}. {own}" if own else number


def _name_part(value: str) -> str:
    """A name's part without the separator some systems type into it (700$b ", Isaac")."""
    return _clean(value, isbd=False).strip(" ,;:")


def _unimarc_host(fields: dict, set_level: dict, unit_level: dict) -> None:
    """RUSMARC analytics: 461 is the newspaper or journal, 463 the issue (and $v the pages)."""
    host = set_level or unit_level
    fields["host_title"] = host.get("200a", "")
    issue = unit_level.get("200a", "") if set_level else unit_level.get("200h", "")
    parts = [v for v in (unit_level.get("v", ""), set_level.get("v", "")) if v]
    pages = next((p for p in parts if _PAGES.match(p)), "")
    issue = issue or next((p for p in parts if p != pages), "")
    fields["host_issue"] = issue
    fields["host_pages"] = pages
    when = unit_level.get("210d", "") or set_level.get("210d", "")
    fields["host_year"] = _year(when)
    fields["host_date"] = _date(when)
    fields["_host_isbn"] = host.get("010a", "")
    fields["_host_issn"] = host.get("011a", "")


def _map_marc21(record: pymarc.Record) -> RecordData:
    fields: dict[str, object] = {
        name: _text(record, tag, codes, sep, isbd=True)
        for name, (tag, codes, sep) in MARC21_TEXT.items()
    }
    fields["year"] = _year(_first(record, *MARC21_YEAR)) or _year(_control(record, "008", 7, 11))
    fields["isbn"] = _isbn(_all(record, *MARC21_ISBN))
    fields["issn"] = _issn(_all(record, *MARC21_ISSN))
    langs = _all(record, *MARC21_LANGUAGES)
    fields["languages"] = _languages(langs or [_control(record, "008", 35, 38)])
    fields["notes"] = "\n".join(v for tag in MARC21_NOTES for v in _all(record, tag, "a", True))
    fields["branch"] = _first(record, *MARC21_BRANCH, isbd=True)
    fields["external_id"] = _control(record, "001") or _first(record, "999", "c") or None
    kind = LEVEL_TYPES.get(record.leader[7], "book")
    if kind == "article" and record.get_fields("773"):
        host = record.get_fields("773")[0]
        related = " ".join(host.get_subfields("g", "q"))
        fields["host_title"] = _clean(" ".join(host.get_subfields("t")) or _first_sub(host, "a"))
        fields["host_year"] = _year(related) or _year(" ".join(host.get_subfields("d")))
        fields["host_date"] = _date(related)
        issue = _ISSUE.search(related)
        pages = _PAGES_IN.search(related)
        fields["host_issue"] = issue.group(0).strip(" ,.") if issue else ""
        fields["host_pages"] = pages.group(0).strip(" ,.") if pages else ""
        fields["_host_isbn"] = _first_sub(host, "z")
        fields["_host_issn"] = _first_sub(host, "x")
        control = _first_sub(host, "7")
        if len(control) > 3 and control[3] == "m":
            fields["_host_isbn"] = fields["_host_isbn"] or "monograph"
    fields["doc_type"] = _article_type(fields) if kind == "article" else "book"
    agents = [
        AgentData(
            kind=kind_,
            name=_agent_name(
                f, "abc" if kind_ == "person" else "ab", " " if kind_ == "person" else ". ", True
            ),
            role=_marc21_role(f, default),
            dates=" ".join(f.get_subfields("d")).strip(" ,.") if kind_ == "person" else "",
            authority_id=_first_sub(f, "0"),
        )
        for tag, (kind_, default) in MARC21_AGENTS.items()
        for f in record.get_fields(tag)
        if f.get_subfields("a")
    ]
    subjects = _subjects(record, MARC21_SUBJECTS, authority="0")
    return RecordData("marc21", fields, agents, subjects)


def _article_type(fields: dict) -> str:
    """A book's chapter has an ISBN host; a dated issue is a newspaper's; else a journal's."""
    isbn, issn = fields.pop("_host_isbn", ""), fields.pop("_host_issn", "")
    if isbn:
        return "book_article"
    if fields.get("host_date") or "газет" in str(fields.get("host_title", "")).lower():
        return "newspaper_article"
    return "journal_article" if issn or fields.get("host_title") else "newspaper_article"


# --- small readers -----------------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(1[4-9]\d\d|20\d\d)(?!\d)")
_DATE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")
_ISSUE = re.compile(r"(№|N[or]?\.?|no\.|No\.|Вып\.|вып\.|Iss\.)\s*[\w/\-–]+")
_PAGES = re.compile(r"^\s*\[?(С|с|C|c|Б|б|P|p|pp|S|s)\.\s*\S")
_PAGES_IN = re.compile(
    r"(?<!\w)(С|с|C|c|Б|б|P|p|pp|S|s)\.\s*[\dIVXLCivxlc\[\]][\dIVXLCivxlc\[\]\-–, ]*"
)
_ISBD_END = " /:;,=."
_ABBREVIATION = re.compile(r"(?:^|[\s.(\[-])[^\W\d_]{1,3}\.$")


def _clean(value: str, isbd: bool = True) -> str:
    """Tidy spaces; with ``isbd``, drop the punctuation MARC 21 ends subfields with ("Title :")."""
    value = " ".join(value.split())
    while isbd and value and value[-1] in _ISBD_END:
        if value.endswith(".") and (value.endswith("..") or _ABBREVIATION.search(value)):
            break  # an initial or abbreviation keeps its full stop ("В. Н.", "Сб.", "др.")
        value = value[:-1].rstrip()
    return value


def _text(record: pymarc.Record, tags: str, codes: str, sep: str, isbd: bool) -> str:
    for tag in tags.split():
        fields = record.get_fields(tag)
        if fields:
            values = [_clean(v, isbd) for v in fields[0].get_subfields(*codes)]
            return sep.join(v for v in values if v)
    return ""


def _all(record: pymarc.Record, tag: str, code: str, isbd: bool = False) -> list[str]:
    return [
        _clean(v, isbd) for f in record.get_fields(tag) for v in f.get_subfields(code) if v.strip()
    ]


def _first(record: pymarc.Record, tags: str, code: str, isbd: bool = False) -> str:
    for tag in tags.split():
        values = _all(record, tag, code, isbd)
        if values:
            return values[0]
    return ""


def _first_sub(f: pymarc.Field, code: str) -> str:
    values = f.get_subfields(code)
    return values[0].strip() if values else ""


def _control(record: pymarc.Record, tag: str, start: int = 0, end: int | None = None) -> str:
    fields = record.get_fields(tag)
    if not fields:
        return ""
    f = fields[0]
    value = f.data if f.is_control_field() else (f.get_subfields("a") or [""])[0]
    return (value or "")[start:end].strip()


def _year(value: str | None) -> int | None:
    match = _YEAR.search(value or "")
    return int(match.group(1)) if match else None


def _date(value: str | None) -> date | None:
    match = _DATE.search(value or "")
    if not match:
        return None
    try:
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def normalise_isbn(value: str) -> str:
    """Digits and X of an ISBN ("5-7443-0043-0 (в пер.)" -> "5744300430"); "" if none."""
    match = re.search(r"[0-9][0-9\- ]{8,16}[0-9Xx]", value or "")
    if not match:
        return ""
    digits = re.sub(r"[^0-9Xx]", "", match.group(0)).upper()
    return digits if len(digits) in (10, 13) else ""


def _isbn(values: Iterable[str]) -> str:
    return next((n for n in map(normalise_isbn, values) if n), "")


def _issn(values: Iterable[str]) -> str:
    for value in values:
        match = re.search(r"\d{4}-?\d{3}[\dXx]", value)
        if match:
            digits = match.group(0).replace("-", "").upper()
            return f"{digits[:4]}-{digits[4:]}"
    return ""


def _languages(values: Iterable[str]) -> list[str]:
    codes: list[str] = []
    for value in values:
        value = value.strip().lower()
        # Old MARC 21 records run several codes together in one 041$a ("kazrus").
        for i in range(0, len(value) - len(value) % 3, 3):
            code = value[i : i + 3]
            if code.isalpha() and code not in codes:
                codes.append(code)
    return codes


def _agent_name(f: pymarc.Field, codes: str, sep: str, isbd: bool) -> str:
    parts = (_clean(v, isbd) if isbd else _name_part(v) for v in f.get_subfields(*codes))
    return sep.join(p for p in parts if p)


def _unimarc_role(f: pymarc.Field, default: str) -> str:
    code = _first_sub(f, "4")
    return UNIMARC_RELATORS.get(code, "oth" if code else default)


def _marc21_role(f: pymarc.Field, default: str) -> str:
    code = _first_sub(f, "4").lower().strip(" .")
    if re.fullmatch(r"[a-z]{3}", code):
        return code
    term = _clean(_first_sub(f, "e")).lower()
    return RELATOR_TERMS.get(term, "oth" if term else default)


def _subjects(
    record: pymarc.Record, table: dict[str, tuple[str, str, str]], authority: str
) -> list[SubjectData]:
    subjects: list[SubjectData] = []
    for tag, (kind, heading, subdivisions) in table.items():
        for f in record.get_fields(tag):
            scheme = _first_sub(f, "2")
            if not scheme and tag[0] == "6" and f.indicator2 == "0" and table is MARC21_SUBJECTS:
                scheme = "lcsh"
            isbd = table is MARC21_SUBJECTS
            terms = [_clean(v, isbd) for v in f.get_subfields(*heading) if v.strip()]
            if kind == "keyword" and table is MARC21_SUBJECTS:
                subjects += [SubjectData("keyword", t) for t in terms]  # one keyword per 653$a
                continue
            if not terms:
                continue
            if kind in ("person", "corporate"):
                main = ", ".join(p for p in (t if isbd else _name_part(t) for t in terms) if p)
            else:
                main = " ".join(terms)
            subs = [_clean(v, isbd) for v in f.get_subfields(*subdivisions) if v.strip()]
            subjects.append(
                SubjectData(
                    kind=SCHEME_KINDS.get(scheme.lower(), kind)
                    if kind == "classification"
                    else kind,
                    term=" -- ".join([main, *subs]),
                    scheme=scheme,
                    authority_id=_first_sub(f, authority),
                )
            )
    return subjects


def _embedded(record: pymarc.Record, tag: str) -> dict[str, str]:
    """UNIMARC 4XX linking field with embedded fields ($1 + tag + indicators) as a flat dict.

    Keys are tag + code ("200a", "210d", "001"); ``v`` holds the volume designation wherever it
    stands. Only the first field with the tag is read.
    """
    fields = record.get_fields(tag)
    if not fields:
        return {}
    out: dict[str, str] = {}
    current = ""
    for code, value in fields[0].subfields:
        if code == "1":
            current = value[:3]
            if current < "010":
                out.setdefault(current, value[3:].strip())
            continue
        if code == "v":
            out.setdefault("v", _clean(value, isbd=False))
        elif current:
            out.setdefault(current + code, _clean(value, isbd=False))
    return out
