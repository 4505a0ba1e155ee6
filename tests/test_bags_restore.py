"""A bag restored elsewhere keeps its catalogue records, rights and public access (issue 15 item 7).

Two Mura homes in one test: the library's, where documents are OCR'd (the real tasks, in this
process), catalogued and given their rights, and a fresh installation that only ever sees the
bag. The bag is written by ``mura export``, validated by bagit-python's own command line
(``python -m bagit --validate``), and restored by ``mura import-bag``; then documents, records,
marks and what the public may read are compared one by one, over HTTP too.
"""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from mura.app.extensions import db
from mura.app.models import (
    CatalogueRecord,
    Collection,
    Contract,
    ContractWork,
    Document,
    DocumentRights,
    Page,
)
from mura.app.modules.catalogue import records
from mura.app.modules.catalogue.marc_import import AgentData, RecordData, SubjectData
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
from mura.app.modules.rights import rights, visibility
from tests.conftest import ROOT, _stack_env, make_app
from tests.synthetic import FONT, render_pages, run_job, words_of
from tests.test_alto import alto_schema

pytestmark = pytest.mark.timeout(600)

SCHEMAS = Path(__file__).parent / "schemas"
METS = {"m": "http://www.loc.gov/METS/", "xlink": "http://www.w3.org/1999/xlink"}
#: Both installations decide by records, marks and contracts only (no default access).
CONFIG = {"DEFAULT_ACCESS": "none"}


@functools.cache
def mets_schema() -> etree.XMLSchema:
    """METS 1.12.1 with its XLink import read from the local copy."""
    doc = etree.parse(str(SCHEMAS / "mets" / "mets.xsd"))
    for imported in doc.getroot().findall("{http://www.w3.org/2001/XMLSchema}import"):
        if imported.get("namespace") == "http://www.w3.org/1999/xlink":
            imported.set("schemaLocation", (SCHEMAS / "mets" / "xlink.xsd").as_uri())
    return etree.XMLSchema(doc)


def _mura(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip


def _tiff(path: Path, numbers: tuple[int, ...]) -> Path:
    """A multi-page TIFF, one synthetic page per frame ("Mura page N")."""
    font = ImageFont.truetype(str(FONT), 44)
    frames = []
    for n in numbers:
        image = Image.new("L", (600, 200), 255)
        ImageDraw.Draw(image).text((30, 70), words_of(n), font=font, fill=0)
        frames.append(image)
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    return path


def _scan(folder: Path, title: str, *, tiff: bool = False) -> int:
    """Upload and OCR a document (the real tasks, in this process); returns its id."""
    folder.mkdir(parents=True)
    paths = [_tiff(folder / "volume.tif", (1, 2))] if tiff else render_pages(folder, 1)
    uploads = [Upload(p.name, io.BytesIO(p.read_bytes())) for p in paths]
    job = ingest(uploads, DocumentFields(title, "book", [], "eng", "karlag"),
                 options={"rotate": False, "deskew": False})  # fmt: skip
    run_job(job)
    return job.document_id


def _record(title: str, author: str, dates: str, **fields: object) -> int:
    data = RecordData(
        flavour="unimarc",
        fields={"title": title, "doc_type": "book", "languages": ["kaz", "rus"], **fields},
        agents=[
            AgentData("person", author, "aut", dates),
            AgentData("person", "Редактор, Р.", "edt"),
        ],
        subjects=[SubjectData("topic", "Қарағанды облысы -- Тарих"), SubjectData("udc", "94(574)")],
        source_marc="<record><controlfield tag='001'>x</controlfield></record>",
    )
    record, _ = records.save_record(None, data)
    db.session.commit()
    return record.id


def _library(tmp_path: Path) -> dict[str, int]:
    """The library's documents, each public (or not) for a different reason."""
    db.session.add(Collection(slug="karlag", title="Карлаг"))
    db.session.commit()
    docs = {
        "dead_author": _scan(tmp_path / "s1", "upload 1"),
        "living_author_library_owned": _scan(tmp_path / "s2", "upload 2"),
        "volume_1": _scan(tmp_path / "s3", "upload 3"),
        "volume_2_tiff": _scan(tmp_path / "s4", "upload 4", tiff=True),
        "no_record_public_domain": _scan(tmp_path / "s5", "Ескі газет"),
        "contract": _scan(tmp_path / "s6", "upload 6"),
        "living_author": _scan(tmp_path / "s7", "upload 7"),
    }
    dead = _record(
        "Шығармалар", "Бөкейханов, Әлихан", "1866-1937", external_id="RU/NLR/bibl/0001",
        publisher="Қазақстан", place="Алматы", year=1995, isbn="5615012345",
        host_date=date(1913, 2, 2), notes="Бірінші жол\nЕкінші жол", local_lore=True,
    )  # fmt: skip
    living = _record("Бүгінгі Қарағанды", "Асылбеков, Нұрлан", "1958-")
    volumes = _record("Алаш қозғалысы", "Дулатов, Міржақып", "1885-1935", series="Алаш")
    contract_record = _record("Шахтёрлар", "Сейітов, Болат", "1970-")
    living_only = _record("Жаңа кітап", "Оспанов, Дәурен", "1980-")
    for key, record_id, part in (
        ("dead_author", dead, None),
        ("living_author_library_owned", living, None),
        ("volume_1", volumes, "Т. 1"),
        ("volume_2_tiff", volumes, "Т. 2"),
        ("contract", contract_record, None),
        ("living_author", living_only, None),
    ):
        assert records.link_document(docs[key], record_id, part)
    rights.set_mark(docs["living_author_library_owned"], "library_owned", "Кітапхананың басылымы")
    rights.set_mark(docs["no_record_public_domain"], "public_domain", "1912 жылғы газет")
    # Death dates only propose public domain until an administrator confirms (issue 18).
    for key in ("dead_author", "volume_1", "volume_2_tiff"):
        rights.confirm_public_domain(docs[key])
    contract = Contract(
        number="12/2024", starts_on=date(2024, 1, 1), status="active",
        grants=["digitize", "publish_online"],
        works=[ContractWork(record_id=contract_record, title="Шахтёрлар")],
    )  # fmt: skip
    db.session.add(contract)
    db.session.commit()
    rights.refresh_rights(list(docs.values()))
    return docs


def _facts(document_ids: list[int]) -> dict[int, dict]:
    """Everything the comparison looks at, per document, as plain data."""
    out: dict[int, dict] = {}
    for document_id in document_ids:
        doc = db.session.get(Document, document_id)
        mark = db.session.scalar(
            db.select(DocumentRights).where(DocumentRights.document_id == document_id)
        )
        record = doc.record
        out[document_id] = {
            "document": {
                name: getattr(doc, name)
                for name in (
                    "title",
                    "authors",
                    "doc_type",
                    "langs",
                    "year",
                    "part_label",
                    "page_count",
                    "access",
                    "access_reason",
                    "access_download",
                    "access_print",
                    "rights_uri",
                    "status",
                )
            },  # fmt: skip
            "collection": doc.collection.slug if doc.collection else None,
            "public": visibility.is_public(doc),
            "listed": visibility.is_listed(doc),
            "mark": (mark.mark, mark.reason) if mark else None,
            "record": None
            if record is None
            else {
                **{name: getattr(record, name) for name in records.RECORD_FIELDS},
                "source_format": record.source_format,
                "source_marc": record.source_marc,
                "agents": [(a.kind, a.name, a.role, a.dates) for a in record.agents],
                "subjects": [(s.kind, s.term, s.scheme) for s in record.subjects],
            },
            "texts": [
                p.best_text
                for p in db.session.scalars(
                    db.select(Page).where(Page.document_id == document_id).order_by(Page.seq)
                )
            ],
        }
    return out


def _public_answers(app: Flask, document_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """What an anonymous reader gets: the document page, the reader, the PDF."""
    client = app.test_client()

    def status(url: str) -> int:
        response = client.get(url)
        response.close()  # a PDF is sent from its file
        return response.status_code

    return {
        i: (status(f"/documents/{i}"), status(f"/read/{i}/1"), status(f"/documents/{i}/pdf"))
        for i in document_ids
    }


@pytest.mark.parametrize(
    "kind", ["embedded", pytest.param("production", marks=pytest.mark.production)]
)
def test_a_bag_restored_elsewhere_keeps_records_rights_and_public_access(
    kind: str, tmp_path: Path
) -> None:
    """The fresh installation on SQLite, or on a new PostgreSQL database."""
    from tests.conftest import PG_ADMIN_URL, _drop_database
    from tests.test_preservation import _new_pg_database

    fresh_config = dict(CONFIG)
    made = []
    if kind == "production":
        made.append(_new_pg_database())
        fresh_config["DATABASE_URL"] = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{made[0]}"
    try:
        _round_trip(tmp_path, fresh_config)
    finally:
        for name in made:
            _drop_database(name)


def _round_trip(tmp_path: Path, fresh_config: dict[str, str]) -> None:
    live = make_app(tmp_path / "live", **CONFIG)
    with live.app_context():
        docs = _library(tmp_path / "scans")
        ids = sorted(docs.values())
        before = _facts(ids)
        db.session.remove()
        db.engine.dispose()
    # The library's decisions, for the record: each document for its own reason.
    access = {key: before[i]["document"]["access"] for key, i in docs.items()}
    assert access == {
        "dead_author": "online",
        "living_author_library_owned": "online",
        "volume_1": "online",
        "volume_2_tiff": "online",
        "no_record_public_domain": "online",
        "contract": "online",
        "living_author": "not_public",
    }
    public_before = _public_answers(live, ids)

    bag = tmp_path / "bag"
    exported = _mura(_stack_env(tmp_path / "live", CONFIG), "export", "--collection", "karlag",
                     str(bag), "--json")  # fmt: skip
    assert exported.returncode == 0, exported.stderr

    # BagIt 1.0, and valid for bagit-python's own command line.
    assert (bag / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "bagit", "--validate", str(bag)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stderr

    _check_bag_contents(bag, docs, before)

    # A fresh installation, a second MURA_HOME: only the bag.
    fresh_env = _stack_env(tmp_path / "fresh", fresh_config)
    restored = _mura(fresh_env, "import-bag", str(bag), "--json")
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["documents"] == {str(i): i for i in ids}
    assert len(report["records"]) == 5  # two volumes share one record
    # The contract is not part of a bag: the import says so instead of hiding it.
    assert list(report["access_differs"]) == [str(docs["contract"])]
    assert "online in the bag, not_public here" in report["access_differs"][str(docs["contract"])]

    fresh = make_app(tmp_path / "fresh", **fresh_config)
    with fresh.app_context():
        after = _facts(ids)
        volume_records = {
            db.session.get(Document, docs[k]).record_id for k in ("volume_1", "volume_2_tiff")
        }
        assert len(volume_records) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(CatalogueRecord)) == 5
        db.session.remove()
    for key, document_id in docs.items():
        if key == "contract":
            assert after[document_id]["document"]["access"] == "not_public"
            assert after[document_id]["record"] == before[document_id]["record"]
            continue
        assert after[document_id] == before[document_id], key
    public_after = _public_answers(fresh, ids)
    expected = dict(public_before)
    expected[docs["contract"]] = public_after[docs["contract"]]
    assert public_after == expected
    assert public_before[docs["dead_author"]] == (200, 200, 200)
    assert public_after[docs["living_author"]][1:] != (200, 200)
    with fresh.app_context():
        db.engine.dispose()


def _check_bag_contents(bag: Path, docs: dict[str, int], before: dict[int, dict]) -> None:
    """METS valid (the TIFF's frames referenced), hOCR names the bag's scans, ALTO, PDF stamped."""
    tiff_id = docs["volume_2_tiff"]
    folder = bag / "data" / "documents" / str(tiff_id)
    mets = etree.parse(str(folder / "metadata" / "mets.xml"))
    schema = mets_schema()
    assert schema.validate(mets), schema.error_log
    ids = {f.get("ID"): f for f in mets.iterfind(".//m:file", METS)}
    path_of = {i: f.find("m:FLocat", METS).get(f"{{{METS['xlink']}}}href") for i, f in ids.items()}
    pages = mets.findall(".//m:structMap/m:div/m:div[@TYPE='page']", METS)
    assert len(pages) == 2
    for frame, div in enumerate(pages, 1):
        [area] = div.findall("m:fptr/m:area", METS)
        assert path_of[area.get("FILEID")] == "../scans/0001.tif"
        assert (area.get("BEGIN"), area.get("END")) == (str(frame), str(frame))
        pointed = {path_of[f.get("FILEID")] for f in div.findall("m:fptr[@FILEID]", METS)}
        assert f"../pages/{frame:04d}.alto.xml" in pointed
        hocr = etree.parse(str(folder / "pages" / f"{frame:04d}.hocr"))
        title = hocr.find(".//*[@class='ocr_page']").get("title")
        assert title.startswith('image "../scans/0001.tif";') and f"ppageno {frame - 1}" in title
        alto = etree.parse(str(folder / "pages" / f"{frame:04d}.alto.xml"))
        assert alto_schema().validate(alto), alto_schema().error_log
        words = [s.get("CONTENT") for s in alto.iterfind(".//{*}String")]
        assert " ".join(words) == words_of(frame)
    fulltext = mets.find(".//m:fileGrp[@USE='FULLTEXT']", METS)
    assert len(fulltext) == 2 and all(f.get("MIMETYPE") == "application/alto+xml" for f in fulltext)

    # Every document's METS is valid; the single-image pages point at their scan directly.
    for document_id in docs.values():
        tree = etree.parse(
            str(bag / "data" / "documents" / str(document_id) / "metadata" / "mets.xml")
        )
        assert schema.validate(tree), (document_id, schema.error_log)

    # The PDF in the bag says what the catalogue says (re-stamped), rights included.
    dead = before[docs["dead_author"]]
    pdf_path = bag / "data" / "documents" / str(docs["dead_author"]) / "document.pdf"
    with pikepdf.open(pdf_path) as pdf:
        assert str(pdf.docinfo["/Title"]) == dead["document"]["title"] == "Шығармалар"
        assert str(pdf.docinfo["/Author"]) == "Бөкейханов, Әлихан"
        xmp = pdf.open_metadata()
        assert xmp["dc:title"] == "Шығармалар"
        assert xmp["xmpRights:WebStatement"] == dead["document"]["rights_uri"]
        assert "publicdomain" in xmp["dc:rights"]
    # mura.json carries the whole record.
    desc = json.loads(
        (
            bag / "data" / "documents" / str(docs["dead_author"]) / "metadata" / "mura.json"
        ).read_text()
    )
    record = desc["document"]["record"]
    assert record["external_id"] == "RU/NLR/bibl/0001" and record["host_date"] == "1913-02-02"
    assert record["agents"][0]["dates"] == "1866-1937"


def test_a_damaged_pdf_stops_the_export_with_its_fixity_named(tmp_path: Path) -> None:
    """The re-stamp before the copy cannot read it: the export says which file failed."""
    from mura.app.core.files import local_path
    from mura.app.modules.preservation import preservation

    app = make_app(tmp_path / "home", **CONFIG)
    with app.app_context():
        db.session.add(Collection(slug="karlag", title="Карлаг"))
        db.session.commit()
        document_id = _scan(tmp_path / "s", "Damaged")
        path = local_path(db.session.get(Document, document_id).pdf_file)
        path.chmod(0o644)
        path.write_bytes(b"%PDF-1.7 rot")
        target = tmp_path / "bag"
        with pytest.raises(preservation.PreservationError, match="failed its fixity check"):
            preservation.export_bag([document_id], target)
        assert not target.exists()
        db.session.remove()
        db.engine.dispose()
