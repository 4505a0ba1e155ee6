"""MARC 21 as Mura gives it out (OAI-PMH ``marc21``/``marcxml``), read by other systems' rules.

Issue 15 items 2 and 11: leader/18 said ISBD punctuation was present while it is stripped,
leader/12-16 were blank, 080/084/540 came after 6XX/7XX, 600 had a blank first indicator,
``856 $q application/pdf`` pointed at an HTML page, the prefix ``marcxml`` was unknown and a
GRNTI number went out bare ("17.82").
"""

from __future__ import annotations

import pymarc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Document
from mura.app.modules.catalogue import metadata, records
from tests.catalogue_helpers import iso, make_document, marc21_book, oai_schema
from tests.conftest import SHARED

SCHEMAS = SHARED / "schemas" / "oai"
NS = {"oai": "http://www.openarchives.org/OAI/2.0/", "marc": "http://www.loc.gov/MARC21/slim"}


def _unimarc_with_grnti() -> pymarc.Record:
    """A RUSMARC record with a GRNTI number (686 $2 rugasnti) and a person as subject (600)."""
    rec = pymarc.Record(force_utf8=True, leader="00000nam0a2200000   450 ")

    def df(tag: str, ind: str, *subfields: tuple[str, str]) -> pymarc.Field:
        return pymarc.Field(
            tag=tag,
            indicators=pymarc.Indicators(*ind),
            subfields=[pymarc.Subfield(c, v) for c, v in subfields],
        )

    rec.add_field(pymarc.Field(tag="001", data="GRNTI-1"))
    rec.add_field(df("200", "1 ", ("a", "Абай және қазақ әдебиеті")))
    rec.add_field(df("600", " 1", ("a", "Құнанбайұлы"), ("b", "Абай")))
    rec.add_field(df("686", "  ", ("a", "17.82"), ("2", "rugasnti")))
    rec.add_field(df("700", " 1", ("a", "Әуезов"), ("b", "М. О.")))
    return rec


@pytest.fixture
def published(app: Flask) -> tuple[int, int]:
    """Two public documents, linked to a MARC 21 book and to a RUSMARC record with GRNTI."""
    report = records.import_marc(iso(marc21_book(), _unimarc_with_grnti()))
    assert report.created == 2, report.problems
    ids = []
    for external_id in ("KRG-000123", "GRNTI-1"):
        record = db.session.scalars(
            db.select(CatalogueRecord).where(CatalogueRecord.external_id == external_id)
        ).one()
        document = make_document(
            "upload", rights_uri="http://rightsstatements.org/vocab/NoC-NC/1.0/"
        )
        assert records.link_document(document.id, record.id)
        ids.append(document.id)
    db.session.commit()
    return ids[0], ids[1]


def _marc(document_id: int) -> pymarc.Record:
    document = db.session.get(Document, document_id)
    return metadata.marc21(
        document, f"oai:mura.local:document/{document_id}", "https://mura.example/d/1"
    )


def test_leader_says_what_the_record_is(published: tuple[int, int]) -> None:
    rec = _marc(published[0])
    leader = str(rec.leader)
    assert leader[18] == "c"  # ISBD punctuation omitted: the import strips it
    assert leader[9] == "a" and leader[10:12] == "22" and leader[20:] == "4500"
    data = rec.as_marc()
    assert leader[:5] == f"{len(data):05d}"
    base = int(leader[12:17])
    assert data[base - 1 : base] == b"\x1e"  # the directory ends where the leader says
    again = pymarc.Record(data=data)  # another reader takes it as it is
    assert again.title.startswith("Қарағанды көмір бассейнінің тарихы")


def test_fields_are_in_tag_order(published: tuple[int, int]) -> None:
    tags = [f.tag for f in _marc(published[0]).fields]
    assert tags == sorted(tags)
    assert {"080", "084", "540", "650", "700", "856"} <= set(tags)


def test_subject_person_and_links(published: tuple[int, int]) -> None:
    rec = _marc(published[1])
    [person] = rec.get_fields("600")
    assert person.indicator1 == "1"  # surname first
    assert person.get_subfields("a") == ["Құнанбайұлы, Абай"]
    [grnti] = rec.get_fields("084")
    assert (grnti.get_subfields("a"), grnti.get_subfields("2")) == (["17.82"], ["rugasnti"])
    [page] = [f for f in rec.get_fields("856") if f.indicator2 == "0"]
    assert page.get_subfields("q") == ["text/html"]  # the public page, not the PDF itself


def test_dublin_core_names_the_scheme_of_a_classification(published: tuple[int, int]) -> None:
    dc = metadata.dublin_core(db.session.get(Document, published[1]))
    assert "ГРНТИ 17.82" in dc["subject"]
    assert "17.82" not in dc["subject"]


@pytest.fixture
def schema() -> etree.XMLSchema:
    """OAI-PMH.xsd and the namespaces inside its responses (tests/catalogue_helpers.py)."""
    return oai_schema()


def _oai(client: FlaskClient, schema: etree.XMLSchema, query: str) -> etree._Element:
    response = client.get(f"/oai?{query}")
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    schema.assertValid(root)
    assert root.find("oai:error", NS) is None, response.get_data(as_text=True)
    return root


def test_oai_answers_marcxml_like_marc21(
    client: FlaskClient, schema: etree.XMLSchema, published: tuple[int, int]
) -> None:
    formats = _oai(client, schema, "verb=ListMetadataFormats")
    prefixes = [e.text for e in formats.iterfind(".//oai:metadataPrefix", NS)]
    assert "marcxml" in prefixes and "marc21" in prefixes
    identifier = f"oai:mura.local:document/{published[0]}"
    records_of = {}
    for prefix in ("marc21", "marcxml"):
        root = _oai(
            client, schema, f"verb=GetRecord&metadataPrefix={prefix}&identifier={identifier}"
        )
        [marc] = root.iterfind(".//marc:record", NS)
        records_of[prefix] = etree.tostring(marc)
        leader = marc.find("marc:leader", NS).text
        assert leader[12:17].isdigit() and int(leader[12:17]) > 24 and leader[18] == "c"
    assert records_of["marc21"] == records_of["marcxml"]
    listed = _oai(client, schema, "verb=ListRecords&metadataPrefix=marcxml")
    assert len(listed.findall(".//marc:record", NS)) == 2
    ids = _oai(client, schema, "verb=ListIdentifiers&metadataPrefix=marcxml")
    assert len(ids.findall(".//oai:header", NS)) == 2


def test_a_bbk_number_entered_without_a_scheme_gets_the_bbk_source_code(
    published: tuple[int, int],
) -> None:
    document = db.session.get(Document, published[0])
    [bbk] = [s for s in document.record.subjects if s.kind == "bbk"]
    bbk.scheme = ""  # as the staff form saves a BBK number typed by hand
    db.session.commit()
    [field] = _marc(published[0]).get_fields("084")
    assert (field.get_subfields("a"), field.get_subfields("2")) == (["63.3(5Каз)"], ["rubbk"])


def test_pdf_keywords_carry_no_bare_classification_number(published: tuple[int, int]) -> None:
    meta = metadata.document_meta(db.session.get(Document, published[1]))
    assert meta.keywords and not any("17.82" in word for word in meta.keywords)
