"""OAI-PMH: a real harvester (sickle) over HTTP from a running waitress server, every response
validated against the OAI-PMH, oai_dc, MARCXML and oai-identifier schemas (no network)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask import Flask
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import BadArgument, BadResumptionToken, IdDoesNotExist, NoRecordsMatch

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, Document
from mura.app.modules.catalogue import records
from tests.catalogue_helpers import iso, make_document, marc21_article, marc21_book, oai_schema
from tests.conftest import SHARED, make_app

SCHEMAS = SHARED / "schemas" / "oai"
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "marc": "http://www.loc.gov/MARC21/slim",
}
PUBLIC, HIDDEN = 23, 2
PAGE = 5


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """OAI-PMH.xsd and the namespaces inside its responses (tests/catalogue_helpers.py)."""
    return oai_schema()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask, dict]]:
    """A waitress server on a free port over a home with public, hidden and withdrawn documents."""
    import waitress

    app = make_app(tmp_path_factory.mktemp("oai"), OAI_PAGE_SIZE=PAGE)
    with app.app_context():
        ids = _populate()
    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}/oai", app, ids
    finally:
        srv.close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def _populate() -> dict:
    karlag = Collection(slug="karlag", title="Карлаг", title_kk="Қарлаг", description="Лагерь.")
    coal = Collection(slug="coal", title="Қарағанды көмір бассейні")
    db.session.add_all([karlag, coal])
    db.session.commit()
    records.import_marc(iso(marc21_book(), marc21_article()))
    book = db.session.scalars(
        db.select(CatalogueRecord).where(CatalogueRecord.external_id == "KRG-000123")
    ).one()
    article = db.session.scalars(
        db.select(CatalogueRecord).where(CatalogueRecord.external_id == "KRG-A-777")
    ).one()
    old = datetime(2020, 5, 17, 10, 0, 0, tzinfo=UTC)
    public = []
    for i in range(PUBLIC):
        document = make_document(
            f"Құжат {i}",
            collection=karlag if i % 2 else coal,
            updated_at=old if i < 3 else None,
        )
        public.append(document.id)
    hidden = [
        make_document(f"Жарияланбаған {i}", public=False, collection=karlag).id
        for i in range(HIDDEN)
    ]
    records.link_document(public[5], book.id, "Т. 1")
    records.link_document(public[6], article.id)
    records.link_document(hidden[0], book.id, "Т. 2")
    withdrawn = make_document("Алынып тасталған", collection=karlag)
    records.withdraw_document(withdrawn.id, "rights withdrawn")
    withdrawn.pdf_file_id = None  # what the rights service will do
    db.session.commit()
    for i in range(3):  # the three old documents keep their datestamp
        db.session.get(Document, public[i]).updated_at = old
    db.session.commit()
    return {"public": public, "hidden": hidden, "withdrawn": withdrawn.id, "book": public[5],
            "article": public[6], "old": public[:3]}  # fmt: skip


class ValidatingSickle(Sickle):
    """Sickle that checks each raw response against the schemas before parsing it."""

    schema: etree.XMLSchema
    responses: list[bytes]

    def harvest(self, **kwargs: str):
        response = super().harvest(**kwargs)
        self.responses.append(
            response.raw.encode("utf-8") if isinstance(response.raw, str) else response.raw
        )
        doc = etree.fromstring(self.responses[-1])
        assert self.schema.validate(doc), (kwargs, self.schema.error_log)
        return response


def _sickle(url: str, schema: etree.XMLSchema) -> ValidatingSickle:
    client = ValidatingSickle(url, max_retries=1, timeout=30)
    client.schema = schema
    client.responses = []
    return client


def _local(identifier: str) -> int:
    return int(identifier.rsplit("/", 1)[1])


def test_harvest_oai_dc_through_resumption_tokens(server, schema) -> None:
    url, _app, ids = server
    client = _sickle(url, schema)
    harvested = list(client.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    live = {_local(r.header.identifier) for r in harvested if not r.deleted}
    deleted = {_local(r.header.identifier) for r in harvested if r.deleted}
    assert live == set(ids["public"])
    assert deleted == {ids["withdrawn"]}
    assert not set(ids["hidden"]) & (live | deleted)
    assert len(client.responses) == (PUBLIC + 1 + PAGE - 1) // PAGE  # several tokens
    tokens = [etree.fromstring(r).find(".//oai:resumptionToken", NS) for r in client.responses]
    assert [int(t.get("cursor")) for t in tokens] == list(range(0, PUBLIC + 1, PAGE))
    assert all(t.get("completeListSize") == str(PUBLIC + 1) for t in tokens)
    assert not tokens[-1].text  # the last page closes the list

    by_id = {_local(r.header.identifier): r for r in harvested}
    book = by_id[ids["book"]].metadata
    assert book["title"] == ["Қарағанды көмір бассейнінің тарихы : очерктер. Т. 1"]
    assert book["creator"] == ["Әлімжанов, Серік"]
    assert "Иванова, Мария" in book["contributor"]
    assert "URN:ISBN:9786017069253" in book["identifier"]
    assert f"/documents/{ids['book']}" in book["identifier"][0]
    assert book["language"] == ["kaz", "rus"]
    assert "ББК 63.3(5Каз)" in book["subject"]
    assert book["publisher"] == ["Болашақ-Баспа"]
    article = by_id[ids["article"]].metadata
    assert article["source"] == ["Индустриальная Караганда. – 2023. – 14.11.2023. – № 45. – С. 3"]
    assert article["date"] == ["2023-11-14"]
    assert by_id[ids["withdrawn"]].header.setSpecs == ["karlag"]


def test_harvest_marc21_identifiers_sets_and_dates(server, schema) -> None:
    url, _app, ids = server
    client = _sickle(url, schema)
    assert client.Identify().repositoryName == "Mura"
    prefixes = [f.metadataPrefix for f in client.ListMetadataFormats()]
    assert prefixes == ["oai_dc", "marc21", "marcxml"]
    assert {s.setSpec for s in client.ListSets()} == {"karlag", "coal"}

    marc = list(client.ListRecords(metadataPrefix="marc21", ignore_deleted=True))
    assert len(marc) == PUBLIC
    book = next(r for r in marc if _local(r.header.identifier) == ids["book"])
    xml = book.xml
    assert xml.find(".//marc:datafield[@tag='245']/marc:subfield[@code='a']", NS).text == (
        "Қарағанды көмір бассейнінің тарихы"
    )
    assert xml.find(".//marc:datafield[@tag='020']/marc:subfield[@code='a']", NS).text == (
        "9786017069253"
    )
    article = next(r for r in marc if _local(r.header.identifier) == ids["article"]).xml
    assert article.find(".//marc:leader", NS).text[7] == "b"
    assert article.find(".//marc:datafield[@tag='773']/marc:subfield[@code='t']", NS) is not None

    in_coal = {
        _local(h.identifier) for h in client.ListIdentifiers(metadataPrefix="oai_dc", set="coal")
    }
    assert in_coal == {i for n, i in enumerate(ids["public"]) if n % 2 == 0}
    old = {
        _local(h.identifier)
        for h in client.ListIdentifiers(metadataPrefix="oai_dc", until="2020-05-17")
    }
    assert old == set(ids["old"])
    exact = client.ListIdentifiers(
        metadataPrefix="oai_dc", **{"from": "2020-05-17T10:00:00Z", "until": "2020-05-17T10:00:00Z"}
    )
    assert {_local(h.identifier) for h in exact} == set(ids["old"])
    recent = {
        _local(h.identifier)
        for h in client.ListIdentifiers(
            metadataPrefix="oai_dc", **{"from": "2021-01-01"}, ignore_deleted=True
        )
    }
    assert recent == set(ids["public"]) - set(ids["old"])

    record = client.GetRecord(
        identifier=f"oai:mura.local:document/{ids['book']}", metadataPrefix="oai_dc"
    )
    assert record.metadata["title"][0].startswith("Қарағанды")
    gone = client.GetRecord(
        identifier=f"oai:mura.local:document/{ids['withdrawn']}", metadataPrefix="oai_dc"
    )
    assert gone.deleted
    with pytest.raises(IdDoesNotExist):
        client.GetRecord(
            identifier=f"oai:mura.local:document/{ids['hidden'][0]}", metadataPrefix="oai_dc"
        )
    with pytest.raises(NoRecordsMatch):
        next(iter(client.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2099-01-01"})))
    with pytest.raises(BadArgument):
        next(iter(client.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2020-13-01"})))
    with pytest.raises(BadResumptionToken):
        next(iter(client.ListIdentifiers(resumptionToken="bm9uc2Vuc2U")))


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("verb=Nonsense", "badVerb"),
        ("", "badVerb"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=marc21", "badArgument"),
        ("verb=ListRecords&metadataPrefix=mods", "cannotDisseminateFormat"),
        (
            "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:other.org:document/1",
            "idDoesNotExist",
        ),
        (
            "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2020-01-01&until=2021-01-01T00:00:00Z",
            "badArgument",
        ),
        ("verb=ListRecords&resumptionToken=x&metadataPrefix=oai_dc", "badArgument"),
        ("verb=Identify&extra=1", "badArgument"),
    ],
)
def test_errors_are_valid_oai(server, schema, query: str, code: str) -> None:
    url, _app, _ids = server
    response = requests.get(f"{url}?{query}", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    doc = etree.fromstring(response.content)
    assert schema.validate(doc), schema.error_log
    assert doc.find("oai:error", NS).get("code") == code
    if code in ("badVerb", "badArgument"):
        assert not doc.find("oai:request", NS).attrib


def test_post_requests_are_answered(server, schema) -> None:
    url, _app, _ids = server
    response = requests.post(url, data={"verb": "Identify"}, timeout=30)
    doc = etree.fromstring(response.content)
    assert schema.validate(doc), schema.error_log
    assert doc.find(".//oai:deletedRecord", NS).text == "persistent"


def test_no_collections_means_no_set_hierarchy(app: Flask, schema) -> None:
    body = app.test_client().get("/oai?verb=ListSets").data
    doc = etree.fromstring(body)
    assert schema.validate(doc), schema.error_log
    assert doc.find("oai:error", NS).get("code") == "noSetHierarchy"
    body = app.test_client().get("/oai?verb=ListRecords&metadataPrefix=oai_dc").data
    assert etree.fromstring(body).find("oai:error", NS).get("code") == "noRecordsMatch"


def test_deleting_a_public_document_leaves_a_tombstone(app: Flask) -> None:
    collection = Collection(slug="karlag", title="Карлаг")
    db.session.add(collection)
    document = make_document("Жойылатын", collection=collection)
    hidden = make_document("Жарияланбаған", public=False)
    document_id, hidden_id = document.id, hidden.id
    db.session.delete(document)
    db.session.delete(hidden)
    db.session.commit()
    body = (
        app.test_client()
        .get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc&set=karlag")
        .get_data(as_text=True)
    )
    assert f"document/{document_id}<" in body and 'status="deleted"' in body
    assert f"document/{hidden_id}<" not in body


def test_resumption_token_survives_a_new_process(tmp_path: Path) -> None:
    app = make_app(tmp_path / "h", OAI_PAGE_SIZE=2)
    with app.app_context():
        for i in range(5):
            make_document(f"doc {i}")
        first = app.test_client().get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").data
        token = etree.fromstring(first).find(".//oai:resumptionToken", NS).text
        db.engine.dispose()
    again = make_app(tmp_path / "h", OAI_PAGE_SIZE=2)
    with again.app_context():
        body = again.test_client().get(f"/oai?verb=ListIdentifiers&resumptionToken={token}").data
        ids = [_local(e.text) for e in etree.fromstring(body).iterfind(".//oai:identifier", NS)]
        assert ids == [3, 4]
        db.engine.dispose()
