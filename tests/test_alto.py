"""ALTO 4 per page: made from the hOCR, valid against the ALTO 4.4 XSD, served like the page text.

The schema is the ALTO Editorial Board's own (tests/schemas/alto/, with its source and licence);
its XLink import is pointed at the local copy, so validation needs no network.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import pytest
from flask import Flask
from lxml import etree

from mura.app.extensions import db
from mura.app.models import Document, Page
from mura.app.modules.preservation import alto
from mura.workers.pipeline.page import PageOptions, process_page
from mura.workers.pipeline.pdf import placeholder_page
from tests.synthetic import publish, render_pages, words_of

SCHEMAS = Path(__file__).parent / "schemas"
NS = {"a": alto.ALTO_NS}

pytestmark = pytest.mark.timeout(300)


@functools.cache
def alto_schema() -> etree.XMLSchema:
    """ALTO 4.4, its XLink import read from tests/schemas/mets/xlink.xsd."""
    doc = etree.parse(str(SCHEMAS / "alto" / "alto-4-4.xsd"))
    for imported in doc.getroot().findall("{http://www.w3.org/2001/XMLSchema}import"):
        if imported.get("namespace") == "http://www.w3.org/1999/xlink":
            imported.set("schemaLocation", (SCHEMAS / "mets" / "xlink.xsd").as_uri())
    return etree.XMLSchema(doc)


def assert_valid(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    schema = alto_schema()
    assert schema.validate(root), schema.error_log
    return root


def strings(root: etree._Element) -> list[str]:
    return [s.get("CONTENT") for s in root.iterfind(".//a:String", NS)]


def test_alto_of_a_tesseract_page_is_valid_and_has_its_words(tmp_path: Path) -> None:
    [scan] = render_pages(tmp_path / "p", 1)
    result = process_page(scan, 0, tmp_path / "w", PageOptions(langs="eng", timeout_s=120))
    hocr = result.hocr.read_bytes()
    root = assert_valid(alto.alto_from_hocr(hocr, alto.AltoPage(3, "scans/0001.png", langs="eng")))
    assert " ".join(strings(root)) == words_of(1)
    page = root.find(".//a:Page", NS)
    assert (page.get("PHYSICAL_IMG_NR"), page.get("WIDTH"), page.get("HEIGHT")) == (
        "3",
        "600",
        "200",
    )
    assert (
        root.findtext(".//a:sourceImageInformation/a:fileName", namespaces=NS) == "scans/0001.png"
    )
    assert root.findtext(".//a:MeasurementUnit", namespaces=NS) == "pixel"
    assert root.findtext(".//a:softwareName", namespaces=NS) == "tesseract"
    for string in root.iterfind(".//a:String", NS):
        assert 0.5 < float(string.get("WC")) <= 1
        x, y = int(string.get("HPOS")), int(string.get("VPOS"))
        assert 0 <= x < 600 and 0 <= y < 200 and int(string.get("WIDTH")) > 0
    assert root.find(".//a:TextBlock", NS).get("LANG") == "en"
    assert len(root.findall(".//a:SP", NS)) == 2  # between the three words


def test_alto_of_a_kazakh_book_page_of_the_corpus(corpus: Path, tmp_path: Path) -> None:
    """A real page (300 dpi, skewed, noisy): paragraphs, lines and words, in Kazakh."""
    scan = corpus / "p01_book.png"
    result = process_page(scan, 0, tmp_path / "w", PageOptions(langs="kaz+rus", timeout_s=300))
    root = assert_valid(alto.alto_from_hocr(result.hocr.read_bytes(), alto.AltoPage(1, scan.name)))
    words = strings(root)
    assert len(words) == result.word_count > 200
    assert len(root.findall(".//a:TextLine", NS)) >= 30  # the page has 36 lines
    assert {b.get("LANG") for b in root.iterfind(".//a:TextBlock", NS)} <= {"kk", "ru"}
    page = root.find(".//a:Page", NS)
    assert (page.get("WIDTH"), page.get("HEIGHT")) == ("1748", "2480")
    truth = (corpus / "p01_book.gt.txt").read_text(encoding="utf-8").split()
    assert len(set(words) & set(truth)) > 0.8 * len(set(truth))


def test_the_hocr_names_the_master_not_a_deleted_scratch_file(tmp_path: Path) -> None:
    [scan] = render_pages(tmp_path / "p", 1)
    result = process_page(scan, 0, tmp_path / "w", PageOptions(langs="eng", timeout_s=120))
    title = etree.parse(str(result.hocr)).find(".//*[@class='ocr_page']").get("title")
    assert title.startswith(f'image "{scan.name}";') and title.endswith("ppageno 0"), title
    assert "bbox 0 0 600 200" in title


def test_pointing_the_hocr_changes_only_the_page_title() -> None:
    """Tools read Tesseract's hOCR with patterns: every other byte stays, quotes included."""
    from mura.workers.pipeline.hocr import point_image_bytes

    tesseract = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<html xmlns='http://www.w3.org/1999/xhtml'>"
        "<body>\n <div class='ocr_page' id='page_1' title='image \"/tmp/p7/ocr.pnm\";"
        " bbox 0 0 600 200; ppageno 0; scan_res 300 300'>\n"
        "  <span class='ocrx_word' id='word_1_1' title='bbox 34 83 137 116; x_wconf 96'>Мұра</span>"
        "\n </div>\n</body></html>\n"
    ).encode()
    pointed = point_image_bytes(tesseract, "../scans/0001.tif", 2)
    assert pointed == tesseract.replace(
        b"title='image \"/tmp/p7/ocr.pnm\"; bbox 0 0 600 200; ppageno 0; scan_res 300 300'",
        b"title='image \"../scans/0001.tif\"; bbox 0 0 600 200; scan_res 300 300; ppageno 2'",
    )
    assert point_image_bytes(pointed, "../scans/0001.tif", 2) == pointed  # idempotent
    odd = point_image_bytes(tesseract, "a \"quoted\" & 'odd' name", 0)
    title = etree.fromstring(odd).find(".//*[@class='ocr_page']").get("title")
    assert title.startswith('image "a \\"quoted\\" & \'odd\' name"; bbox 0 0 600 200')
    assert point_image_bytes(b"not xml", "x", 0) == b"not xml"


def test_alto_of_a_pdf_page_kept_with_its_own_text(tmp_path: Path) -> None:
    """The hOCR made from a PDF's text layer has lines but no blocks: each gets one."""
    source = placeholder_page(tmp_path / "text.pdf", "Қарағанды облысы, 1937 жыл")
    result = process_page(source, 0, tmp_path / "w", PageOptions(langs="kaz", timeout_s=120))
    assert not result.ocred
    root = assert_valid(alto.alto_from_hocr(result.hocr.read_bytes(), alto.AltoPage(1, "x.pdf")))
    assert "Қарағанды" in strings(root) and "1937" in strings(root)
    assert root.find(".//a:String", NS).get("WC") is None  # no OCR, no confidence
    assert root.findtext(".//a:softwareName", namespaces=NS) == "pdftotext"


@pytest.mark.parametrize("bad", [b"not xml <", b"<html><body><p>no page</p></body></html>"])
def test_bad_hocr_is_refused_with_a_reason(bad: bytes) -> None:
    with pytest.raises(alto.AltoError):
        alto.alto_from_hocr(bad, alto.AltoPage(1, "x"))


def test_control_characters_and_empty_words_never_break_the_xml() -> None:
    hocr = (
        b"<html xmlns='http://www.w3.org/1999/xhtml'><body>"
        b"<div class='ocr_page' title='bbox 0 0 100 50'>"
        b"<span class='ocr_line' title='bbox 1 1 90 20'>"
        b"<span class='ocrx_word' title='bbox 1 1 40 20; x_wconf 101'>\xd0\xb0 b</span>"
        b"<span class='ocrx_word' title='bbox 45 1 60 20'>  </span>"
        b"</span></div></body></html>"
    )
    root = assert_valid(alto.alto_from_hocr(hocr, alto.AltoPage(1, "scan\x07.tif")))
    assert strings(root) == ["а b"]  # one word, as hOCR had it; the blank one is left out
    assert root.findtext(".//a:fileName", namespaces=NS) == "scan.tif"
    assert root.find(".//a:String", NS).get("WC") == "1"


# --- over HTTP -----------------------------------------------------------------------------------


def test_alto_over_http_follows_the_page_text_rules(
    app: Flask, logged_in_client, tmp_path: Path
) -> None:
    from mura.app.core.files import local_path
    from mura.app.models import StoredFile
    from mura.app.modules.rights import rights

    app.config["DEFAULT_ACCESS"] = "public_domain"
    document_id = publish(app, tmp_path / "pages", "ALTO over HTTP", count=2)
    client = app.test_client()
    response = client.get(f"/read/{document_id}/2/alto.xml")
    assert response.status_code == 200, response.status
    assert response.mimetype == "application/xml"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    root = assert_valid(response.data)
    assert " ".join(strings(root)) == words_of(2)
    page = db.session.scalar(db.select(Page).where(Page.document_id == document_id, Page.seq == 2))
    master = page.source_file.sha256
    assert root.findtext(".//a:fileName", namespaces=NS) == master
    # The stored hOCR names the stored master as well (and its frame), not a scratch file.
    hocr = etree.parse(str(local_path(db.session.get(StoredFile, page.hocr_file_id))))
    title = hocr.find(".//*[@class='ocr_page']").get("title")
    assert title.startswith(f'image "{master}";') and "ppageno 0" in title, title
    assert client.get(f"/read/{document_id}/3/alto.xml").status_code == 404
    assert client.get(f"/read/{document_id + 1}/1/alto.xml").status_code == 404

    # Not public: the public gets 404, as for the page's text; staff still get it.
    rights.set_mark(document_id, "none", "")
    assert db.session.get(Document, document_id).access == "not_public"
    assert client.get(f"/read/{document_id}/1/alto.xml").status_code == 404
    answer = logged_in_client.get(f"/read/{document_id}/1/alto.xml")
    assert answer.status_code == 200 and "private" in answer.headers["Cache-Control"]
    assert " ".join(strings(assert_valid(answer.data))) == words_of(1)


def test_alto_is_not_made_for_a_page_without_hocr(app: Flask, tmp_path: Path) -> None:
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    [scan] = render_pages(tmp_path / "p", 1)
    job = ingest([Upload(scan.name, io.BytesIO(scan.read_bytes()))],
                 DocumentFields("No OCR yet", "book", [], "eng"))  # fmt: skip
    assert alto.page_alto(job.pages[0]) is None
