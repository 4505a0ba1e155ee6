"""MARC import: real RUSMARC (cp1251, ISO 2709), our MARC 21 and MARCXML, broken records."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pymarc
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord
from mura.app.modules.catalogue import records
from tests.catalogue_helpers import (
    RUSMARC,
    iso,
    log_in_staff,
    make_document,
    marc21_article,
    marc21_book,
    marcxml,
)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client logged in to the staff area."""
    test_client = app.test_client()
    log_in_staff(test_client)
    return test_client


def _rusmarc() -> bytes:
    return RUSMARC.read_bytes()


def _by_id(external_id: str) -> CatalogueRecord:
    return db.session.scalars(
        select(CatalogueRecord).where(CatalogueRecord.external_id == external_id)
    ).one()


def _count() -> int:
    return db.session.scalar(select(func.count(CatalogueRecord.id)))


def test_rusmarc_sample_imports_and_maps(app: Flask) -> None:
    report = records.import_marc(_rusmarc())
    assert (report.created, report.problems) == (81, [])
    assert _count() == 81

    # A volume of a multi-volume set: the set's title (461) is the title, the volume the part.
    volume = _by_id(r"RU\NLR\bibl\3415")
    assert (volume.title, volume.part, volume.full_title) == (
        "Задачи и этюды", "Вып. 13.", "Задачи и этюды. Вып. 13",  # the dot is in the data
    )  # fmt: skip
    assert (volume.isbn, volume.year, volume.extent, volume.illustrations) == (
        "5744300430", 1997, "80 с.", "ил., портр.",
    )  # fmt: skip
    assert (volume.languages, volume.branch, volume.source_format) == (["rus"], "NLR", "unimarc")
    assert volume.doc_type == "book"
    assert "<record" in (volume.source_marc or "")

    # The set itself: an editor from 702 with the UNIMARC relator 340 -> edt, and its authority.
    the_set = _by_id(r"RU\NLR\bibl\5996")
    assert (the_set.subtitle, the_set.responsibility) == ("Сб.", "Редкол.: В. Н. Барсуков и др.")
    assert (the_set.place, the_set.publisher, the_set.dimensions) == ("СПб.", "Ut", "20")
    [editor] = the_set.agents
    assert (editor.name, editor.role, editor.kind) == ("Барсуков, В. Н.", "edt", "person")
    assert editor.authority_id == r"RU\NLR\auth\773539"
    assert [(s.kind, s.term, s.scheme) for s in the_set.subjects] == [
        ("topic", "Шахматные композиции -- Сборники", "nlr-sh"),
        ("bbk", "Ч515.815я43", "rubbk"),
    ]

    law = _by_id(r"RU\NLR\bibl\341772")
    assert (law.edition, law.series, law.year) == ("[3-е изд.]", "Актуальный закон", 2002)
    assert [(a.kind, a.name, a.role) for a in law.agents] == [
        ("corporate", "Российская Федерация", "aut")
    ]
    kinds = [(s.kind, s.term) for s in law.subjects]
    assert (
        "topic",
        "Судебные приставы -- Российская Федерация -- Законодательные материалы",
    ) in kinds
    assert ("keyword", "Судебные приставы - Законодательство") in kinds
    assert ("udc", "347.96(470)(094.5)") in kinds
    assert ("classification", "10.31") in kinds  # GRNTI keeps its scheme
    assert ("bbk", "67.71") in kinds

    # Persons with dates and full names (700 $f), Kazakh history volumes from 701.
    assert any(a.dates == "1894-1940" for r in records.search_records("Бабель") for a in r.agents)


def test_reimport_updates_instead_of_duplicating(app: Flask) -> None:
    records.import_marc(_rusmarc())
    again = records.import_marc(_rusmarc())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 81)
    assert _count() == 81

    # Staff flagged a record as local lore and linked a document: a re-import keeps both and
    # carries the catalogue's corrections into the document.
    record = _by_id(r"RU\NLR\bibl\341772")
    record.local_lore = True
    db.session.commit()
    document = make_document("черновик")
    assert records.link_document(document.id, record.id)
    stamp = db.session.get(type(document), document.id).updated_at
    changed = pymarc.Record(data=_rusmarc_record(r"RU\NLR\bibl\341772"), file_encoding="cp1251")
    changed["200"]["a"] = "Об исполнительном производстве и судебных приставах"
    # as_marc() writes UTF-8 with leader/09 "a", which the import detects by itself.
    report = records.import_marc(changed.as_marc())
    assert (report.created, report.updated) == (0, 1)
    db.session.expire_all()
    record = _by_id(r"RU\NLR\bibl\341772")
    assert record.title == "Об исполнительном производстве и судебных приставах"
    assert record.local_lore is True
    document = db.session.get(type(document), document.id)
    assert document.title == record.full_title
    assert document.updated_at > stamp


def _rusmarc_record(external_id: str) -> bytes:
    for chunk in _rusmarc().split(b"\x1d"):
        if external_id.encode("cp1251") in chunk:
            return chunk + b"\x1d"
    raise AssertionError(external_id)


def test_broken_iso2709_records_are_reported_and_the_rest_imported(app: Flask) -> None:
    chunks = [c + b"\x1d" for c in _rusmarc().split(b"\x1d") if c.strip()]
    bad_leader = b"00x12nam0 2200" + chunks[1][14:]
    bad_directory = chunks[2][:27] + b"O" + chunks[2][28:]  # letter O in a directory length
    truncated = chunks[4][: len(chunks[4]) // 2]
    data = chunks[0] + bad_leader + bad_directory + chunks[3] + truncated
    report = records.import_marc(data)
    assert report.created == 2
    problems = {p.position: p.reason for p in report.problems}
    assert set(problems) == {2, 3, 5}
    assert "bad leader" in problems[2]
    assert "directory" in problems[3]
    assert "truncated" in problems[5]
    assert report.problems[0].offset == len(chunks[0])


def test_marc21_iso2709_mapping(app: Flask) -> None:
    report = records.import_marc(iso(marc21_book(), marc21_article()))
    assert (report.created, report.problems) == (2, [])
    book = _by_id("KRG-000123")
    assert book.source_format == "marc21"
    assert (book.title, book.subtitle, book.responsibility) == (
        "Қарағанды көмір бассейнінің тарихы", "очерктер", "С. Әлімжанов",
    )  # fmt: skip
    assert (book.place, book.publisher, book.year, book.isbn) == (
        "Қарағанды", "Болашақ-Баспа", 1998, "9786017069253",
    )  # fmt: skip
    assert (book.extent, book.illustrations, book.dimensions) == ("215, [1] б.", "сур.", "21 см.")
    assert (book.series, book.languages) == ("Қарағанды өлкесі ; 3", ["kaz", "rus"])
    assert book.local_lore is True  # "Краеведение" in its subjects
    assert book.branch == "ОӘК өлкетану бөлімі"
    assert [(a.kind, a.name, a.role, a.dates) for a in book.agents] == [
        ("person", "Әлімжанов, Серік", "aut", "1950-"),
        ("person", "Иванова, Мария", "edt", ""),
        ("corporate", "Қарағанды облыстық кітапханасы", "pbl", ""),
    ]
    assert [(s.kind, s.term, s.scheme) for s in book.subjects] == [
        ("topic", "Краеведение -- Қарағанды облысы", "nlr-sh"),
        ("topic", "Coal mines and mining -- Kazakhstan -- History", "lcsh"),
        ("place", "Қарағанды (қала) -- Тарихы", "nlr-sh"),
        ("keyword", "шахтерлер", ""),
        ("keyword", "көмір", ""),
        ("udc", "94(574.32)", ""),
        ("bbk", "63.3(5Каз)", "rubbk"),
    ]
    article = _by_id("KRG-A-777")
    assert article.doc_type == "newspaper_article"
    assert (article.host_title, article.host_year, article.host_issue, article.host_pages) == (
        "Индустриальная Караганда", 2023, "№ 45", "С. 3",
    )  # fmt: skip
    assert article.host_date == date(2023, 11, 14)
    assert article.host_citation == "Индустриальная Караганда. – 2023. – 14.11.2023. – № 45. – С. 3"


def test_marcxml_unimarc_and_marc21_with_broken_records(app: Flask) -> None:
    unimarc = pymarc.Record(data=_rusmarc_record(r"RU\NLR\bibl\341772"), file_encoding="cp1251")
    xml = marcxml(unimarc, marc21_book())
    bad = (
        b'<record><controlfield tag="001">no-leader</controlfield></record>'
        b"<record><leader>00000nam a2200000 i 4500</leader>"
        b'<datafield tag="2 5" ind1="1" ind2="0"><subfield code="a">x</subfield></datafield>'
        b"</record>"
        b"<record><leader>00000nam a2200000 i 4500</leader>"
        b'<controlfield tag="001">no-title</controlfield></record>'
    )
    xml = xml.replace(b"</collection>", bad + b"</collection>")
    report = records.import_marc(xml)
    assert report.created == 2
    assert [(p.position, p.reason) for p in report.problems] == [
        (3, "no leader"),
        (4, "bad tag '2 5'"),
        (5, "no title: neither UNIMARC 200 nor MARC 21 245"),
    ]
    assert report.problems[2].external_id == "no-title"
    assert _by_id(r"RU\NLR\bibl\341772").source_format == "unimarc"
    assert _by_id("KRG-000123").source_format == "marc21"

    # A file cut off in the middle: what came before is imported, the break is reported.
    cut = marcxml(marc21_article(), marc21_book())
    cut = cut[: cut.index(b"<record>", 100) + 200]
    report = records.import_marc(cut)
    assert report.created == 1
    assert report.problems[0].position == 2
    assert report.problems[0].reason.startswith("XML syntax error")


def test_isbn_matches_when_there_is_no_external_id(app: Flask) -> None:
    book = marc21_book()
    book.remove_fields("001")
    records.import_marc(iso(book))
    book["245"]["a"] = "Қарағанды көмір бассейні :"
    report = records.import_marc(iso(book))
    assert (report.created, report.updated, _count()) == (0, 1, 1)
    assert db.session.scalars(select(CatalogueRecord)).one().title == "Қарағанды көмір бассейні"


def test_cli_import_json(app: Flask, tmp_path: Path) -> None:
    from mura.app.cli import cli

    path = tmp_path / "records.mrc"
    path.write_bytes(iso(marc21_book()) + b"00042nam  2200000   4500garbage\x1d")
    result = CliRunner().invoke(
        cli, ["records", "import", str(path), "--json", "--branch", "Абай кітапханасы",
              "--url-template", "https://opac.example.kz/record/{id}"],
        obj=ScriptInfo(create_app=lambda: app),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    assert (report["total"], report["created"], report["failed"]) == (2, 1, 1)
    assert report["problems"][0]["position"] == 2
    record = _by_id("KRG-000123")
    assert record.external_url == "https://opac.example.kz/record/KRG-000123"
    assert record.branch == "ОӘК өлкетану бөлімі"  # the record says; --branch is the fallback


def test_import_form(client: FlaskClient) -> None:
    data = {"fmt": "auto", "flavour": "auto", "encoding": "", "branch": "", "url_template": ""}
    data["file"] = (io.BytesIO(_rusmarc()), "rusmarc.iso")
    response = client.post("/staff/records/import", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="import-report"' in page
    assert "81" in page
    listing = client.get("/staff/records/?q=судебных").get_data(as_text=True)
    assert "О судебных приставах" in listing
