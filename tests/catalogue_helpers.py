"""Helpers of the catalogue tests: documents published without OCR, MARC samples (pymarc)."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

import pymarc
from lxml import etree

from mura.app.extensions import db
from mura.app.models import Collection, Document, StoredFile
from tests.conftest import SHARED

RUSMARC = SHARED / "marc" / "rusmarc_nlr_sample.iso"


def make_document(
    title: str,
    *,
    public: bool = True,
    collection: Collection | None = None,
    updated_at: datetime | None = None,
    **fields: object,
) -> Document:
    """A document row; ``public`` gives it a (row-only) PDF, which is what makes it public today."""
    document = Document(
        title=title,
        authors=list(fields.pop("authors", [])),
        doc_type=str(fields.pop("doc_type", "book")),
        langs=str(fields.pop("langs", "kaz+rus")),
        collection=collection,
        page_count=int(fields.pop("page_count", 3)),
        **fields,
    )
    if public:
        digest = hashlib.sha256(title.encode()).hexdigest()
        document.pdf_file = StoredFile(
            sha256=digest, size=2_500_000, kind="document_pdf", mime="application/pdf"
        )
    db.session.add(document)
    db.session.flush()
    if updated_at is not None:
        document.updated_at = updated_at
    db.session.commit()
    return document


def field(tag: str, indicators: str = "  ", **subfields: str | list[str]) -> pymarc.Field:
    """A data field; a list value repeats the subfield."""
    subs = []
    for code, value in subfields.items():
        code = code.lstrip("_")  # _0, _2, _4: digit codes as keyword arguments
        for v in value if isinstance(value, list) else [value]:
            subs.append(pymarc.Subfield(code, v))
    return pymarc.Field(tag=tag, indicators=pymarc.Indicators(*indicators), subfields=subs)


def marc21_book() -> pymarc.Record:
    """A Kazakh local-lore book as Koha or IRBIS would export it in MARC 21 (UTF-8)."""
    rec = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    rec.add_field(pymarc.Field(tag="001", data="KRG-000123"))
    rec.add_field(pymarc.Field(tag="008", data="230115s1998    kz a          000 0 kaz d"))
    rec.add_field(field("020", a="978-601-7069-25-3 (түптеулі)"))
    rec.add_field(field("041", "0 ", a=["kaz", "rus"]))
    rec.add_field(field("080", a="94(574.32)"))
    rec.add_field(field("084", a="63.3(5Каз)", _2="rubbk"))
    rec.add_field(field("100", "1 ", a="Әлімжанов, Серік,", d="1950-", e="автор."))
    rec.add_field(
        field(
            "245", "10", a="Қарағанды көмір бассейнінің тарихы :", b="очерктер /", c="С. Әлімжанов."
        )
    )
    rec.add_field(field("250", a="2-е изд., толықт."))
    rec.add_field(field("264", " 1", a="Қарағанды :", b="Болашақ-Баспа,", c="1998."))
    rec.add_field(field("300", a="215, [1] б. :", b="сур. ;", c="21 см."))
    rec.add_field(field("490", "0 ", a="Қарағанды өлкесі", v="3"))
    rec.add_field(field("500", a="Мәтін қазақ және орыс тілдерінде."))
    rec.add_field(field("650", " 7", a="Краеведение", z="Қарағанды облысы.", _2="nlr-sh"))
    rec.add_field(field("650", " 0", a="Coal mines and mining", z="Kazakhstan", v="History."))
    rec.add_field(field("651", " 7", a="Қарағанды (қала)", x="Тарихы", _2="nlr-sh"))
    rec.add_field(field("653", a=["шахтерлер", "көмір"]))
    rec.add_field(field("700", "1 ", a="Иванова, Мария", _4="edt"))
    rec.add_field(field("710", "2 ", a="Қарағанды облыстық кітапханасы", e="publisher"))
    rec.add_field(field("852", a="ОӘК өлкетану бөлімі"))
    return rec


def marc21_article() -> pymarc.Record:
    """A newspaper article: "Индустриальная Караганда", 2023, № 45, 14.11.2023, p. 3."""
    rec = pymarc.Record(force_utf8=True, leader="00000nab a2200000 i 4500")
    rec.add_field(pymarc.Field(tag="001", data="KRG-A-777"))
    rec.add_field(pymarc.Field(tag="008", data="231114s2023    kz            000 0 rus d"))
    rec.add_field(field("100", "1 ", a="Петров, А. В.", _4="aut"))
    rec.add_field(field("245", "10", a="Шахтёрская слава Караганды /", c="А. Петров."))
    rec.add_field(field("650", " 7", a="Угольная промышленность", z="Караганда", _2="nlr-sh"))
    rec.add_field(
        field("773", "0 ", t="Индустриальная Караганда.", g="2023. - 14.11.2023. - № 45. - С. 3")
    )
    return rec


def iso(*records: pymarc.Record) -> bytes:
    """Records in ISO 2709."""
    return b"".join(r.as_marc() for r in records)


def marcxml(*records: pymarc.Record) -> bytes:
    """Records in a MARCXML collection."""
    body = b"".join(pymarc.record_to_xml(r, namespace=False) for r in records)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + body + b"</collection>"
    )


def log_in_staff(client) -> None:
    """Log ``client`` in as an administrator when the app has users (the staff area's guard).

    Uses Flask-Login's own session key, so it needs nothing but a user row.
    """
    from sqlalchemy import inspect

    import mura.app.models as models

    user_model = getattr(models, "User", None)
    if user_model is None or not inspect(db.engine).has_table(user_model.__tablename__):
        return
    wanted = {
        "username": "cataloguer",
        "display_name": "Cataloguer",
        "role": "admin",
        "password_hash": "!",
        "session_token": hashlib.sha256(b"cataloguer").hexdigest(),
        "must_change_password": False,
        "active": True,
    }
    columns = user_model.__table__.c
    user = user_model(**{k: v for k, v in wanted.items() if k in columns})
    db.session.add(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@functools.cache
def oai_schema() -> etree.XMLSchema:
    """OAI-PMH.xsd plus every namespace that appears inside its responses (no network)."""
    schemas = SHARED / "schemas" / "oai"
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(schemas / name).as_uri()}"/>'
        for ns, name in (
            ("http://www.openarchives.org/OAI/2.0/", "OAI-PMH.xsd"),
            ("http://www.openarchives.org/OAI/2.0/oai_dc/", "oai_dc.xsd"),
            ("http://www.loc.gov/MARC21/slim", "MARC21slim.xsd"),
            ("http://www.openarchives.org/OAI/2.0/oai-identifier", "oai-identifier.xsd"),
        )
    )
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(
        etree.fromstring(wrapper.encode(), parser, base_url=schemas.as_uri() + "/")
    )
