"""OAI-PMH 2.0 data provider: the six verbs, answered as XML built with lxml.

Items are the listed documents (``services.visibility`` decides: online, reading-room and
record-only documents, docs/rights.md), with their catalogue record's description; sets are
collections; deleted items are the tombstones of documents that were public and no longer
are. A document's datestamp is its ``updated_at``, which moves whenever its record, its
collection or its publication (rights) changes.

Lists are paged by stateless resumption tokens that carry the request's arguments and the last
document id given, so a harvest survives a server restart and pages never overlap.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree
from sqlalchemy import false, func, or_, select

from mura.app.extensions import db
from mura.app.models import Collection, CollectionItem, Document, OaiTombstone
from mura.app.models.base import utcnow
from mura.app.modules.catalogue import metadata
from mura.app.modules.catalogue.records import set_spec, set_specs, tombstone_spec_list
from mura.app.modules.rights import visibility

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
MARC_NS = "http://www.loc.gov/MARC21/slim"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"

#: metadataPrefix -> (schema, namespace).
FORMATS = {
    "oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS),
    "marc21": (MARC_SCHEMA, MARC_NS),
    # The same MARCXML under the name many harvesters ask for (DSpace, Koha, VuFind, Primo).
    "marcxml": (MARC_SCHEMA, MARC_NS),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
DEFAULT_PAGE_SIZE = 100
#: The largest document id (ids are int4 on PostgreSQL, as repo_app/web/converters.py).
MAX_ID = 2**31 - 1
#: Our tokens are under 300 characters; a longer one is forged (and costs work to decode).
_TOKEN_MAX_CHARS = 2000
TOKEN_LIFETIME = timedelta(days=1)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OaiError(Exception):
    """An OAI-PMH error condition: its code (``badArgument``…) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Settings:
    """What the repository says about itself (from the app config, ``MURA_OAI_*``)."""

    base_url: str
    repository_name: str = "Mura"
    repository_id: str = "mura.local"
    admin_email: str = "admin@mura.local"
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_config(cls, config: Mapping, base_url: str) -> Settings:
        """Settings from a Flask config; every key is optional."""
        return cls(
            base_url=base_url,
            repository_name=config.get("OAI_REPOSITORY_NAME", "Mura"),
            repository_id=config.get("OAI_REPOSITORY_IDENTIFIER", "mura.local"),
            admin_email=config.get("OAI_ADMIN_EMAIL", "admin@mura.local"),
            page_size=int(config.get("OAI_PAGE_SIZE", DEFAULT_PAGE_SIZE)),
        )


@dataclass
class Query:
    """The arguments of a list request, also what a resumption token carries."""

    verb: str
    prefix: str
    set_spec: str | None = None
    since: str | None = None
    until: str | None = None
    after: int = 0
    cursor: int = 0


def respond(
    args: Mapping[str, list[str]], settings: Settings, page_url: Callable[[int], str]
) -> bytes:
    """The OAI-PMH response to a request's arguments (each name with its list of values).

    ``page_url(document_id)`` gives the public address of a document (dc:identifier, 856$u).
    """
    verb = _single(args, "verb")
    root, request_el = _envelope(settings)
    try:
        if len(args.get("verb") or []) > 1:
            raise OaiError("badVerb", "The verb argument is repeated")
        _check_characters(args)
        if verb not in VERBS:
            raise OaiError("badVerb", f"Illegal OAI verb: {verb or 'none given'}")
        _check_arguments(verb, args)
        for name in sorted(args):
            request_el.set(name, args[name][0])
        handler = _HANDLERS[verb]
        root.append(handler(args, settings, page_url))
    except OaiError as exc:
        if exc.code in ("badVerb", "badArgument"):
            request_el.attrib.clear()
        error = etree.SubElement(root, _q(OAI_NS, "error"), code=exc.code)
        error.text = _NOT_XML.sub("\ufffd", exc.message[:500])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _envelope(settings: Settings) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_q(OAI_NS, "OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(_q(XSI_NS, "schemaLocation"), f"{OAI_NS} {OAI_SCHEMA}")
    etree.SubElement(root, _q(OAI_NS, "responseDate")).text = _stamp(utcnow())
    request_el = etree.SubElement(root, _q(OAI_NS, "request"))
    request_el.text = settings.base_url
    return root, request_el


def _check_characters(args: Mapping[str, list[str]]) -> None:
    """Refuse (badArgument) a name or value XML cannot carry: ``from=%01`` made lxml fail, a 500."""
    for name, values in args.items():
        if any(_NOT_XML.search(text) for text in (name, *values)):
            raise OaiError("badArgument", "An argument holds characters that are not allowed")


def _check_arguments(verb: str, args: Mapping[str, list[str]]) -> None:
    required, optional = VERBS[verb]
    names = set(args) - {"verb"}
    for name, values in args.items():
        if len(values) > 1:
            raise OaiError("badArgument", f"Repeated argument: {name}")
    if "resumptionToken" in names and verb in ("ListIdentifiers", "ListRecords", "ListSets"):
        if names != {"resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return
    illegal = names - required - optional
    if illegal:
        raise OaiError("badArgument", f"Illegal argument(s): {', '.join(sorted(illegal))}")
    missing = required - names
    if missing:
        raise OaiError("badArgument", f"Missing argument(s): {', '.join(sorted(missing))}")


# --- verbs -------------------------------------------------------------------------------------


def _identify(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    el = etree.Element(_q(OAI_NS, "Identify"))
    for name, value in (
        ("repositoryName", settings.repository_name),
        ("baseURL", settings.base_url),
        ("protocolVersion", "2.0"),
        ("adminEmail", settings.admin_email),
        ("earliestDatestamp", _stamp(_earliest())),
        ("deletedRecord", "persistent"),
        ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
    ):
        etree.SubElement(el, _q(OAI_NS, name)).text = value
    description = etree.SubElement(el, _q(OAI_NS, "description"))
    ident = etree.SubElement(description, _q(ID_NS, "oai-identifier"), nsmap={None: ID_NS})
    ident.set(_q(XSI_NS, "schemaLocation"), f"{ID_NS} {ID_SCHEMA}")
    for name, value in (
        ("scheme", "oai"),
        ("repositoryIdentifier", settings.repository_id),
        ("delimiter", ":"),
        ("sampleIdentifier", identifier(settings, 1)),
    ):
        etree.SubElement(ident, _q(ID_NS, name)).text = value
    return el


def _list_metadata_formats(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    if "identifier" in args:
        _item(settings, _single(args, "identifier"))
    el = etree.Element(_q(OAI_NS, "ListMetadataFormats"))
    for prefix, (schema, namespace) in FORMATS.items():
        fmt = etree.SubElement(el, _q(OAI_NS, "metadataFormat"))
        etree.SubElement(fmt, _q(OAI_NS, "metadataPrefix")).text = prefix
        etree.SubElement(fmt, _q(OAI_NS, "schema")).text = schema
        etree.SubElement(fmt, _q(OAI_NS, "metadataNamespace")).text = namespace
    return el


def _list_sets(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "ListSets is never split into pages")
    collections = db.session.scalars(select(Collection).order_by(Collection.slug)).all()
    if not collections:
        raise OaiError("noSetHierarchy", "This repository has no collections yet")
    el = etree.Element(_q(OAI_NS, "ListSets"))
    for collection in collections:
        item = etree.SubElement(el, _q(OAI_NS, "set"))
        etree.SubElement(item, _q(OAI_NS, "setSpec")).text = set_spec(collection)
        etree.SubElement(item, _q(OAI_NS, "setName")).text = collection.title
        if collection.description:
            description = etree.SubElement(item, _q(OAI_NS, "setDescription"))
            dc = _oai_dc({"description": [collection.description]})
            description.append(dc)
    return el


def _get_record(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    prefix = _prefix(_single(args, "metadataPrefix"))
    document, tombstone = _item(settings, _single(args, "identifier"))
    el = etree.Element(_q(OAI_NS, "GetRecord"))
    el.append(_record(settings, document, tombstone, prefix, page_url, with_metadata=True))
    return el


def _list(args: Mapping, settings: Settings, page_url: Callable, verb: str) -> etree._Element:
    if "resumptionToken" in args:
        query = _decode_token(_single(args, "resumptionToken"), verb)
    else:
        query = Query(
            verb=verb,
            prefix=_prefix(_single(args, "metadataPrefix")),
            set_spec=_single(args, "set") or None,
            since=_single(args, "from") or None,
            until=_single(args, "until") or None,
        )
    since, until = _range(query.since, query.until)
    collection_id = _collection_id(query.set_spec) if query.set_spec else None
    live, dead = _selects(since, until, query.set_spec, collection_id)
    total = _count(live) + _count(dead)
    page = _page(live, dead, query.after, settings.page_size)
    if not page:
        raise OaiError("noRecordsMatch", "No records match the request")
    el = etree.Element(_q(OAI_NS, verb))
    with_metadata = verb == "ListRecords"
    for document, tombstone in page[: settings.page_size]:
        if with_metadata:
            el.append(_record(settings, document, tombstone, query.prefix, page_url, True))
        else:
            el.append(_header(settings, document, tombstone))
    shown = min(len(page), settings.page_size)
    if len(page) > settings.page_size or query.cursor:
        token = etree.SubElement(
            el, _q(OAI_NS, "resumptionToken"),
            completeListSize=str(total), cursor=str(query.cursor),
        )  # fmt: skip
        if len(page) > settings.page_size:
            last = page[settings.page_size - 1]
            next_query = Query(
                verb, query.prefix, query.set_spec, query.since, query.until,
                after=_item_id(last), cursor=query.cursor + shown,
            )  # fmt: skip
            token.set("expirationDate", _stamp(utcnow() + TOKEN_LIFETIME))
            token.text = _encode_token(next_query)
    return el


def _list_identifiers(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    return _list(args, settings, page_url, "ListIdentifiers")


def _list_records(args: Mapping, settings: Settings, page_url: Callable) -> etree._Element:
    return _list(args, settings, page_url, "ListRecords")


_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "GetRecord": _get_record,
    "ListIdentifiers": _list_identifiers,
    "ListRecords": _list_records,
}


# --- items -------------------------------------------------------------------------------------


def identifier(settings: Settings, document_id: int) -> str:
    """The OAI identifier of a document: ``oai:<repository>:document/<id>``."""
    return f"oai:{settings.repository_id}:document/{document_id}"


def parse_identifier(settings: Settings, value: str) -> int | None:
    """The document id in an OAI identifier of this repository, else None."""
    match = re.fullmatch(
        rf"oai:{re.escape(settings.repository_id)}:document/([0-9]{{1,10}})", value
    )
    if match is None or int(match.group(1)) > MAX_ID:  # past the database's ids: no such item
        return None
    return int(match.group(1))


def _item(settings: Settings, value: str) -> tuple[Document | None, OaiTombstone | None]:
    """A live (public) document or the tombstone of a withdrawn one; idDoesNotExist otherwise."""
    document_id = parse_identifier(settings, value)
    if document_id is not None:
        document = db.session.get(Document, document_id)
        if document is not None and visibility.is_listed(document):
            return document, None
        tombstone = db.session.scalar(
            select(OaiTombstone).where(OaiTombstone.document_id == document_id)
        )
        if tombstone is not None:
            return None, tombstone
    raise OaiError("idDoesNotExist", f"No item {value}")


def _selects(since: datetime | None, until: datetime | None, spec: str | None, collection_id):
    """Selects of public documents and of tombstones of documents that are not public now."""
    live = select(Document).where(visibility.listed_condition())
    public_ids = select(Document.id).where(visibility.listed_condition())
    dead = select(OaiTombstone).where(OaiTombstone.document_id.not_in(public_ids))
    if since is not None:
        live = live.where(Document.updated_at >= since)
        dead = dead.where(OaiTombstone.withdrawn_at >= since)
    if until is not None:
        live = live.where(Document.updated_at < until)
        dead = dead.where(OaiTombstone.withdrawn_at < until)
    if spec is not None:
        # A set whose collection is gone still lists the tombstones of its documents.
        # A document is in the set of each of its collections.
        member = select(CollectionItem.document_id).where(
            CollectionItem.collection_id == collection_id
        )
        live = live.where(Document.id.in_(member) if collection_id else false())
        dead = dead.where(
            or_(
                OaiTombstone.set_spec == spec,  # one bare setSpec, as written before
                OaiTombstone.set_spec.contains(f" {spec} ", autoescape=True),
            )
        )
    return live, dead


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _page(live, dead, after: int, size: int) -> list[tuple[Document | None, OaiTombstone | None]]:
    """Up to ``size + 1`` items after document id ``after``, merged in document id order."""
    documents = db.session.scalars(
        live.where(Document.id > after).order_by(Document.id).limit(size + 1)
    ).all()
    tombstones = db.session.scalars(
        dead.where(OaiTombstone.document_id > after)
        .order_by(OaiTombstone.document_id)
        .limit(size + 1)
    ).all()
    items: list[tuple[Document | None, OaiTombstone | None]] = [(d, None) for d in documents]
    items += [(None, t) for t in tombstones]
    items.sort(key=_item_id)
    return items[: size + 1]


def _item_id(item: tuple[Document | None, OaiTombstone | None]) -> int:
    document, tombstone = item
    return document.id if document is not None else tombstone.document_id  # type: ignore[union-attr]


def _header(
    settings: Settings, document: Document | None, tombstone: OaiTombstone | None
) -> etree._Element:
    header = etree.Element(_q(OAI_NS, "header"))
    if document is not None:
        etree.SubElement(header, _q(OAI_NS, "identifier")).text = identifier(settings, document.id)
        etree.SubElement(header, _q(OAI_NS, "datestamp")).text = _stamp(document.updated_at)
        specs = set_specs(document)
    else:
        assert tombstone is not None
        header.set("status", "deleted")
        etree.SubElement(header, _q(OAI_NS, "identifier")).text = identifier(
            settings, tombstone.document_id
        )
        etree.SubElement(header, _q(OAI_NS, "datestamp")).text = _stamp(tombstone.withdrawn_at)
        specs = tombstone_spec_list(tombstone.set_spec)
    for spec in specs:
        etree.SubElement(header, _q(OAI_NS, "setSpec")).text = spec
    return header


def _record(
    settings: Settings,
    document: Document | None,
    tombstone: OaiTombstone | None,
    prefix: str,
    page_url: Callable[[int], str],
    with_metadata: bool,
) -> etree._Element:
    record = etree.Element(_q(OAI_NS, "record"))
    record.append(_header(settings, document, tombstone))
    if document is not None and with_metadata:
        md = etree.SubElement(record, _q(OAI_NS, "metadata"))
        url = page_url(document.id)
        if prefix == "oai_dc":
            md.append(_oai_dc(metadata.dublin_core(document, url)))
        else:
            rec = metadata.marc21(
                document,
                identifier(settings, document.id),
                url,
                host_identifier=lambda host_id: identifier(settings, host_id),
            )
            md.append(_marcxml(rec))
    return record


def _oai_dc(dc: Mapping[str, list[str]]) -> etree._Element:
    root = etree.Element(
        _q(OAI_DC_NS, "dc"), nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    root.set(_q(XSI_NS, "schemaLocation"), f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    for name in metadata.DC_ELEMENTS:
        for value in dc.get(name, []):
            etree.SubElement(root, _q(DC_NS, name)).text = _xml_text(value)
    return root


def _marcxml(rec) -> etree._Element:
    root = etree.Element(_q(MARC_NS, "record"), nsmap={"marc": MARC_NS, "xsi": XSI_NS})
    root.set(_q(XSI_NS, "schemaLocation"), f"{MARC_NS} {MARC_SCHEMA}")
    root.set("type", "Bibliographic")
    etree.SubElement(root, _q(MARC_NS, "leader")).text = str(rec.leader)
    for f in rec.fields:
        if f.is_control_field():
            el = etree.SubElement(root, _q(MARC_NS, "controlfield"), tag=f.tag)
            el.text = _xml_text(f.data)
            continue
        el = etree.SubElement(
            root, _q(MARC_NS, "datafield"), tag=f.tag, ind1=f.indicator1, ind2=f.indicator2
        )
        for sub in f.subfields:
            etree.SubElement(el, _q(MARC_NS, "subfield"), code=sub.code).text = _xml_text(sub.value)
    return root


# --- arguments ---------------------------------------------------------------------------------


def _single(args: Mapping[str, list[str]], name: str) -> str:
    values = args.get(name) or [""]
    return values[0]


def _prefix(value: str) -> str:
    if value not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"Unknown metadataPrefix: {value}")
    return value


def _collection_id(spec: str) -> int | None:
    for collection in db.session.scalars(select(Collection)):
        if set_spec(collection) == spec:
            return collection.id
    return None


def _parse_date(value: str, name: str) -> tuple[datetime, bool]:
    """A from/until value and whether it is a whole day; badArgument if malformed."""
    try:
        if _DAY.match(value):
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), True
        if _SECOND.match(value):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), False
    except ValueError:
        pass
    raise OaiError("badArgument", f"Bad {name} date: {value}")


def _range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``from`` inclusive; ``until`` inclusive of the whole second or day it names."""
    start = end = None
    start_day = end_day = None
    if since:
        start, start_day = _parse_date(since, "from")
    if until:
        end, end_day = _parse_date(until, "until")
        if end.year == 9999:  # adding a day to 9999-12-31 overflows; nothing is that late anyway
            end = None
        else:
            end += timedelta(days=1) if end_day else timedelta(seconds=1)
    if since and until and start_day != end_day:
        raise OaiError("badArgument", "from and until must have the same granularity")
    if start is not None and end is not None and start >= end:
        raise OaiError("badArgument", "from is later than until")
    return start, end


def _encode_token(query: Query) -> str:
    payload = json.dumps(
        [query.verb, query.prefix, query.set_spec, query.since, query.until, query.after,
         query.cursor], separators=(",", ":"),
    )  # fmt: skip
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str, verb: str) -> Query:
    """The query a token of ours carries; badResumptionToken for anything else.

    A token is client input: a forged one holding a list, a number or nested garbage where
    strings and ids belong used to reach the database or lxml and give a 500 (issue 18).
    """
    invalid = OaiError("badResumptionToken", "The resumptionToken is invalid")
    if len(token) > _TOKEN_MAX_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise invalid from exc
    if not isinstance(fields, list) or len(fields) != 7:
        raise invalid
    verb_, prefix, spec, since, until, after, cursor = fields
    if not (
        all(isinstance(v, str) for v in (verb_, prefix))
        and all(v is None or isinstance(v, str) for v in (spec, since, until))
        and all(type(v) is int and 0 <= v <= MAX_ID for v in (after, cursor))
        and all(v is None or _DAY.match(v) or _SECOND.match(v) for v in (since, until))
        and not any(_NOT_XML.search(v) for v in (spec or "", since or "", until or ""))
    ):
        raise invalid
    if verb_ != verb or prefix not in FORMATS:
        raise OaiError("badResumptionToken", "The resumptionToken is for another request")
    return Query(verb_, prefix, spec, since, until, after, cursor)


def _earliest() -> datetime:
    candidates = [
        db.session.scalar(
            select(func.min(Document.updated_at)).where(visibility.listed_condition())
        ),
        db.session.scalar(select(func.min(OaiTombstone.withdrawn_at))),
    ]
    found = [_utc(c) for c in candidates if c is not None]
    return min(found) if found else datetime(2000, 1, 1, tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Any character outside XML 1.0's ``Char`` production (lxml refuses to write them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    """Catalogue data may hold control characters that XML 1.0 cannot carry."""
    return _CONTROL.sub("", value)


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"
