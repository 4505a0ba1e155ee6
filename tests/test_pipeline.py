"""End-to-end tests of the page pipeline with the real Tesseract on real corpus pages.

Each OCR'd page costs ~2-5 s, so results are computed once per module and shared; the whole
corpus runs only under ``-m slow``. Error paths use fault injection (the subprocess call is
patched, the real code handles what it returns).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import subprocess
import zlib
from pathlib import Path
from types import ModuleType

import pikepdf
import pytest
from PIL import Image

from mura.workers.pipeline import (
    DocumentMeta,
    PageError,
    PageOptions,
    PageResult,
    TransientError,
    assemble_pdf,
    inspect_upload,
    placeholder_page,
    process_page,
)
from mura.workers.pipeline import ocr as ocr_module
from mura.workers.pipeline.context import PageContext
from mura.workers.pipeline.images import deskew, png_passthrough
from mura.workers.pipeline.layout import estimate_layout
from mura.workers.pipeline.page import OcrSource, probe_turned
from tests.conftest import CORPUS, SHARED
from tests.pdfa_helpers import pdfa_problems

MAX_CER = 0.05


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "manifest.json").is_file():
        pytest.skip(f"OCR corpus not found at {CORPUS} (expected ../shared beside the repo)")
    return CORPUS


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    path = SHARED / "bench" / "ocr_score.py"
    if not path.is_file():
        pytest.skip(f"OCR scorer not found at {path}")
    spec = importlib.util.spec_from_file_location("ocr_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def manifest(corpus: Path) -> dict[str, dict]:
    pages = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["pages"]
    return {entry["gt"].removesuffix(".gt.txt"): entry for entry in pages}


def run(corpus: Path, factory: pytest.TempPathFactory, stem: str, file: str, **kw) -> PageResult:
    frame = kw.pop("frame", 0)
    return process_page(corpus / file, frame, factory.mktemp(stem), PageOptions(**kw))


@pytest.fixture(scope="module")
def p01(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> PageResult:
    return run(corpus, tmp_path_factory, "p01", "p01_book.png", langs="kaz")


@pytest.fixture(scope="module")
def p05(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> PageResult:
    return run(corpus, tmp_path_factory, "p05", "p05_book_rot90.png", langs="kaz")


@pytest.fixture(scope="module")
def p06(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> PageResult:
    return run(corpus, tmp_path_factory, "p06", "p06_book_rus_rot180.png", langs="kaz+rus")


def pdf_text(pdf: Path, page: int = 1) -> str:
    args = ["pdftotext", "-raw", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def cer(scorer: ModuleType, corpus: Path, stem: str, text: str) -> float:
    reference = (corpus / f"{stem}.gt.txt").read_text(encoding="utf-8")
    edits, chars, _, _ = scorer.score(reference, text)
    return edits / chars


def check_page(result: PageResult, work: Path | None = None) -> None:
    """The result's files exist and agree with each other and with the numbers."""
    for path in (result.pdf, result.text_path, result.hocr):
        assert path.is_file() and path.stat().st_size > 0, path
        if work is not None:
            assert path.parent == work
    assert result.text == result.text_path.read_text(encoding="utf-8")
    with pikepdf.open(result.pdf) as pdf:
        assert len(pdf.pages) == 1
        box = [float(v) for v in pdf.pages[0].mediabox]
        assert box == pytest.approx([0, 0, result.width_pt, result.height_pt], abs=0.01)
    assert {"load", "ocr", "pdf", "total"} <= result.timings.keys()
    assert result.word_count > 0 and 0 <= result.mean_confidence <= 100


def render(pdf: Path, dpi: float, out: Path) -> Image.Image:
    """Page 1 of a PDF rendered by poppler in grayscale."""
    prefix = out / f"render-{pdf.stem}-{dpi:g}"
    args = ["pdftoppm", "-r", f"{dpi:g}", "-gray", "-singlefile", str(pdf), str(prefix)]
    subprocess.run(args, check=True)
    with Image.open(prefix.with_suffix(".pgm")) as im:
        im.load()
        return im.copy()


Box = tuple[float, float, float, float]
_PDF_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)
_HOCR_WORD = re.compile(r"class='ocrx_word'[^>]*title='bbox (\d+) (\d+) (\d+) (\d+);[^>]*>([^<]*)<")


def text_layer_words(pdf: Path, scale: float) -> list[tuple[str, Box]]:
    """Words of the PDF's text layer (pdftotext -bbox), boxes in pixels at ``scale`` px/pt."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        (m[5], tuple(float(v) * scale for v in m.groups()[:4])) for m in _PDF_WORD.finditer(html)
    ]


def hocr_words(hocr: Path) -> list[tuple[str, Box]]:
    text = hocr.read_text(encoding="utf-8")
    return [(m[5], tuple(float(v) for v in m.groups()[:4])) for m in _HOCR_WORD.finditer(text)]


def ink(image: Image.Image, box: Box) -> float:
    """Fraction of dark pixels inside a box."""
    x0, y0, x1, y1 = (round(v) for v in box)
    histogram = image.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))).histogram()
    return sum(histogram[:128]) / max(1, sum(histogram))


def shifted(box: Box, by: float) -> Box:
    x0, y0, x1, y1 = box
    height = (y1 - y0) * by
    return (x0, y0 + height, x1, y1 + height)


def assert_boxes_on_ink(image: Image.Image, boxes: list[Box]) -> None:
    """Tight word boxes lie on the dark pixels of their words, not beside them."""
    assert len(boxes) > 50
    inside = [ink(image, box) for box in boxes]
    on_ink = sum(1 for value in inside if value > 0.04) / len(boxes)
    assert on_ink > 0.9, f"only {on_ink:.0%} of the word boxes hold ink"
    # Half a line off, boxes would cover the gaps between lines: clearly less ink.
    for by in (-0.6, 0.6):
        off = sum(ink(image, shifted(box, by)) for box in boxes) / len(boxes)
        assert sum(inside) / len(boxes) > 1.5 * off, f"boxes shifted by {by} hold as much ink"


def assert_same_places(layer: list[tuple[str, Box]], hocr: list[tuple[str, Box]]) -> None:
    """Each word of the text layer sits on the same word in the hOCR (matched by text)."""
    matcher = difflib.SequenceMatcher(None, [w for w, _ in layer], [w for w, _ in hocr], False)
    pairs = [
        (layer[a + k][1], hocr[b + k][1])
        for a, b, size in matcher.get_matching_blocks()
        for k in range(size)
    ]
    assert len(pairs) > 0.8 * len(hocr)
    inside = 0
    for (x0, y0, x1, y1), (h0, v0, h1, v1) in pairs:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        inside += h0 - 2 <= cx <= h1 + 2 and v0 - 2 <= cy <= v1 + 2
    assert inside / len(pairs) > 0.95, f"only {inside}/{len(pairs)} words on their place"


# --- priority 1: upright pages and bad inputs ----------------------------------------------


def test_upright_page(p01: PageResult, corpus: Path, scorer: ModuleType) -> None:
    check_page(p01, p01.pdf.parent)
    assert cer(scorer, corpus, "p01_book", pdf_text(p01.pdf)) <= MAX_CER
    assert cer(scorer, corpus, "p01_book", p01.text) <= MAX_CER
    assert (p01.rotation, p01.dpi) == (0, 300.0)
    assert p01.skew_deg == pytest.approx(-1.78, abs=0.3)  # the page was turned 1.78 deg ccw
    # A5 at 300 dpi: the scan at its true size.
    assert (p01.width_pt, p01.height_pt) == pytest.approx((419.52, 595.2), abs=0.05)
    assert p01.mean_confidence > 80 and p01.word_count > 150
    assert not p01.warnings


def test_png_pixels_pass_through_unchanged(p01: PageResult, corpus: Path) -> None:
    with pikepdf.open(p01.pdf) as pdf:
        images = list(pdf.pages[0].get_images(recursive=False).values())
        assert len(images) == 1
        raw = images[0].read_raw_bytes()
    assert raw == png_passthrough((corpus / "p01_book.png").read_bytes()).data


def test_only_results_stay_in_the_work_folder(p01: PageResult) -> None:
    names = {path.name for path in p01.pdf.parent.iterdir()}
    assert not any(name.endswith((".pnm", ".pgm", ".png")) for name in names), names


def test_bad_inputs_fail_the_page_with_a_reason(corpus: Path, tmp_path: Path) -> None:
    png = (corpus / "p01_book.png").read_bytes()
    jpeg = (corpus / "p08_book_jpeg.jpg").read_bytes()
    tiff = (corpus / "p14_book_tiff.tif").read_bytes()
    cases = {
        "empty.png": (b"", "empty_file"),
        "text.png": ("Бұл сурет емес, мәтін.\n".encode() * 50, "not_an_image"),
        "half.png": (png[: len(png) // 2], "truncated_image"),
        "half.jpg": (jpeg[: len(jpeg) // 2], "truncated_image"),
        "half.tif": (tiff[: len(tiff) // 2], "truncated_image"),
        "half.pdf": (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R", "truncated_image"),
    }
    for name, (data, code) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(PageError) as caught:
            process_page(path, 0, tmp_path / f"work-{name}", PageOptions())
        assert caught.value.code == code, name
        assert caught.value.reason and caught.value.reason[0].isupper(), name
        info = inspect_upload(path)
        assert (info.kind, info.error_code) == ("invalid", code), name


def test_unknown_language_is_refused_before_any_work(corpus: Path, tmp_path: Path) -> None:
    for langs in ("kaz+xxx", "", "kaz;rm -rf", "osd"):
        with pytest.raises(PageError) as caught:
            process_page(corpus / "p01_book.png", 0, tmp_path, PageOptions(langs=langs))
        assert caught.value.code == "bad_language", langs
    assert not list(tmp_path.glob("*_ocr*"))


def test_page_out_of_time_is_ocr_timeout(corpus: Path, tmp_path: Path) -> None:
    options = PageOptions(langs="kaz", timeout_s=0.8)  # loads, then Tesseract is killed
    with pytest.raises(PageError) as caught:
        process_page(corpus / "p01_book.png", 0, tmp_path, options)
    assert caught.value.code == "ocr_timeout"


def test_missing_frame_is_a_page_error(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(PageError) as caught:
        process_page(corpus / "p14_book_tiff.tif", 3, tmp_path, PageOptions(langs="kaz"))
    assert caught.value.code == "not_an_image"
    assert "no page 4" in caught.value.reason


# --- Tesseract failures (fault injection) --------------------------------------------------


@pytest.fixture
def small_page(corpus: Path, tmp_path: Path) -> Path:
    with Image.open(corpus / "p01_book.png") as im:
        crop = im.crop((150, 150, 1600, 700))
    path = tmp_path / "small.png"
    crop.save(path, dpi=(300, 300))
    return path


def fake_tesseract(monkeypatch: pytest.MonkeyPatch, behaviour) -> None:
    """Replace the OCR call (the one writing txt/hocr/pdf) and keep every other tool real."""
    ocr_module.installed_languages()  # cached while the real tesseract is in place
    real_run = subprocess.run

    def run(args, **kwargs):
        if args[0] == ocr_module.TESSERACT and "hocr" in args:
            return behaviour(args, kwargs)
        return real_run(args, **kwargs)

    monkeypatch.setattr(ocr_module.subprocess, "run", run)


def test_tesseract_timeout_is_ocr_timeout(small_page, tmp_path, monkeypatch) -> None:
    def hang(args, kwargs):
        raise subprocess.TimeoutExpired(args, kwargs["timeout"])

    fake_tesseract(monkeypatch, hang)
    with pytest.raises(PageError) as caught:
        process_page(small_page, 0, tmp_path / "w", PageOptions(langs="kaz", timeout_s=30))
    assert caught.value.code == "ocr_timeout"


def test_tesseract_killed_is_transient(small_page, tmp_path, monkeypatch) -> None:
    fake_tesseract(monkeypatch, lambda a, k: subprocess.CompletedProcess(a, -9, "", ""))
    with pytest.raises(TransientError, match="signal 9"):
        process_page(small_page, 0, tmp_path / "w", PageOptions(langs="kaz"))


def test_tesseract_error_is_ocr_failed_with_its_message(small_page, tmp_path, monkeypatch) -> None:
    stderr = "Tesseract Open Source OCR Engine v5.3.0\nError in pixReadStream: Unknown format\n"
    fake_tesseract(monkeypatch, lambda a, k: subprocess.CompletedProcess(a, 1, "", stderr))
    with pytest.raises(PageError) as caught:
        process_page(small_page, 0, tmp_path / "w", PageOptions(langs="kaz"))
    assert caught.value.code == "ocr_failed"
    assert "Unknown format" in caught.value.reason


def test_tesseract_without_output_is_ocr_failed(small_page, tmp_path, monkeypatch) -> None:
    fake_tesseract(monkeypatch, lambda a, k: subprocess.CompletedProcess(a, 0, "", ""))
    with pytest.raises(PageError) as caught:
        process_page(small_page, 0, tmp_path / "w", PageOptions(langs="kaz"))
    assert caught.value.code == "ocr_failed"
    assert "did not produce" in caught.value.reason


def test_no_output_on_a_full_disk_is_transient(small_page, tmp_path, monkeypatch) -> None:
    fake_tesseract(monkeypatch, lambda a, k: subprocess.CompletedProcess(a, 0, "", ""))
    monkeypatch.setattr(ocr_module, "disk_is_low", lambda path: True)
    with pytest.raises(TransientError, match="disk is full"):
        process_page(small_page, 0, tmp_path / "w", PageOptions(langs="kaz"))


def test_switches_off_and_clean_on(small_page: Path, tmp_path: Path) -> None:
    plain = PageOptions(langs="kaz", rotate=False, deskew=False)
    result = process_page(small_page, 0, tmp_path / "plain", plain)
    assert (result.rotation, result.skew_deg, "analyse" in result.timings) == (0, 0.0, False)
    cleaned = process_page(small_page, 0, tmp_path / "clean", PageOptions(langs="kaz", clean=True))
    assert cleaned.skew_deg != 0.0
    assert cleaned.word_count > 20 and cleaned.mean_confidence > 80
    # Cleaning touches only what Tesseract reads: the visible scan is the original PNG data.
    with pikepdf.open(cleaned.pdf) as pdf:
        (image,) = pdf.pages[0].get_images(recursive=False).values()
        assert image.read_raw_bytes() == png_passthrough(small_page.read_bytes()).data


def test_blank_page_gives_an_empty_text_layer(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (1240, 1754), 245).save(blank, dpi=(150, 150))
    result = process_page(blank, 0, tmp_path / "w", PageOptions(langs="kaz"))
    assert (result.word_count, result.mean_confidence, result.text.strip()) == (0, None, "")
    assert (result.width_pt, result.height_pt) == pytest.approx((595.2, 841.92))
    assert pdf_text(result.pdf).strip() == ""


# --- priority 2: TIFF, JPEG, PDF input, placeholder, assembly ------------------------------


def test_tiff_frame_stays_bilevel(
    corpus: Path, scorer: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = run(corpus, tmp_path_factory, "tif", "p14_book_tiff.tif", langs="kaz", frame=2)
    check_page(result)
    assert cer(scorer, corpus, "p14_book_tiff-f3", pdf_text(result.pdf)) <= MAX_CER
    with pikepdf.open(result.pdf) as pdf:
        (image,) = pdf.pages[0].get_images(recursive=False).values()
        assert (image.BitsPerComponent, image.Filter) == (1, pikepdf.Name.CCITTFaxDecode)
    assert result.pdf.stat().st_size < 120_000


def test_jpeg_passes_through_even_when_deskewed(
    corpus: Path, scorer: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = run(corpus, tmp_path_factory, "jpg", "p08_book_jpeg.jpg", langs="kaz")
    check_page(result)
    assert result.skew_deg == pytest.approx(2.37, abs=0.3)
    assert cer(scorer, corpus, "p08_book_jpeg", pdf_text(result.pdf)) <= MAX_CER
    with pikepdf.open(result.pdf) as pdf:
        (image,) = pdf.pages[0].get_images(recursive=False).values()
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == (corpus / "p08_book_jpeg.jpg").read_bytes()


def add_scan_page(pdf: pikepdf.Pdf, image: pikepdf.Stream, width: float, height: float) -> None:
    page = pdf.add_blank_page(page_size=(width, height))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
    page.Contents = pdf.make_stream(f"q {width} 0 0 {height} 0 0 cm /Scan Do Q".encode())


def make_scanner_pdf(corpus: Path, out: Path) -> Path:
    """A PDF like a scanner's. Page 1: a full-page JPEG image (A5 at 300 dpi); page 2: visible
    vector text, which has to be rendered; page 3: a gray image stored lying on its side
    (Flate), which the page's /Rotate 90 shows upright."""
    jpeg = (corpus / "p04_book_yellow.jpg").read_bytes()
    with Image.open(corpus / "p05_book_rot90.png") as im:
        sideways = im.convert("L")
    with pikepdf.new() as pdf:
        image = pikepdf.Stream(pdf, jpeg)
        image.Width, image.Height, image.BitsPerComponent = 1748, 2480, 8
        image.ColorSpace, image.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
        add_scan_page(pdf, image, 419.52, 595.2)
        image = pikepdf.Stream(pdf, zlib.compress(sideways.tobytes()))
        image.Width, image.Height, image.BitsPerComponent = *sideways.size, 8
        image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.FlateDecode
        add_scan_page(pdf, image, 595.2, 419.52)
        pdf.pages[1].Rotate = 90
        pdf.save(out.with_suffix(".tmp.pdf"))
    placeholder_page(out.with_suffix(".p2.pdf"), "scanner test", 419.52, 595.2)
    with (
        pikepdf.open(out.with_suffix(".tmp.pdf")) as scans,
        pikepdf.open(out.with_suffix(".p2.pdf")) as vector,
    ):
        scans.pages.insert(1, vector.pages[0])
        scans.save(out)
    return out


def test_scanner_pdf_input(
    corpus: Path, scorer: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("pdf")
    source = make_scanner_pdf(corpus, work / "scan.pdf")
    info = inspect_upload(source)
    assert (info.kind, info.pages, info.mime) == ("pdf", 3, "application/pdf")

    scan = process_page(source, 0, work / "page1", PageOptions(langs="kaz"))
    check_page(scan)
    assert scan.dpi == pytest.approx(300.0, abs=0.5)
    assert cer(scorer, corpus, "p04_book_yellow", pdf_text(scan.pdf)) <= MAX_CER
    with pikepdf.open(scan.pdf) as pdf:
        (image,) = pdf.pages[0].get_images(recursive=False).values()
        assert image.read_raw_bytes() == (corpus / "p04_book_yellow.jpg").read_bytes()

    # Page 2 has real text: kept as it is; asked to, Mura renders and OCRs it instead.
    kept = process_page(source, 1, work / "page2", PageOptions(langs="eng"))
    assert not kept.ocred and any("kept as it is" in w for w in kept.warnings)
    assert "could not be processed: scanner test" in " ".join(kept.text.split())
    vector = process_page(source, 1, work / "page2r", PageOptions(langs="eng", keep_text=False))
    assert vector.ocred and any("rendered" in warning for warning in vector.warnings)
    assert "scanner test" in vector.text
    for page in (kept, vector):
        assert (page.width_pt, page.height_pt) == pytest.approx((419.52, 595.2), abs=0.3)

    turned = process_page(source, 2, work / "page3", PageOptions(langs="kaz"))
    assert (turned.rotation, turned.width_pt < turned.height_pt) == (0, True)  # /Rotate did it
    assert cer(scorer, corpus, "p05_book_rot90", pdf_text(turned.pdf)) <= MAX_CER


def make_text_pdf(text: str, out: Path) -> Path:
    """A page typeset on a computer (fpdf2, DejaVu Serif), turned 90 degrees by /Rotate."""
    from fpdf import FPDF

    page = FPDF(unit="pt", format=(419.53, 595.28))  # A5
    page.add_page()
    page.add_font("DejaVuSerif", fname="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    page.set_font("DejaVuSerif", size=10)
    page.multi_cell(w=0, h=14, text=text)
    out.write_bytes(bytes(page.output()))
    with pikepdf.open(out, allow_overwriting_input=True) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(out)
    return out


def test_pdf_page_with_real_text_is_kept_as_it_is(
    corpus: Path, p01: PageResult, tmp_path: Path
) -> None:
    from mura.app.modules.discovery.reader import parse_hocr
    from mura.workers.pipeline.textpage import HOCR_DPI, has_visible_text

    text = (corpus / "p01_book.gt.txt").read_text(encoding="utf-8")
    source = make_text_pdf(text, tmp_path / "typeset.pdf")
    result = process_page(source, 0, tmp_path / "work", PageOptions(langs="kaz+rus"))
    assert not result.ocred and result.mean_confidence is None and "ocr" not in result.timings
    assert " ".join(result.text.split()) == " ".join(text.split())
    with pikepdf.open(source) as original, pikepdf.open(result.pdf) as kept:
        assert kept.pages[0].Contents.read_bytes() == original.pages[0].Contents.read_bytes()
        assert int(kept.pages[0].Rotate) == 90
    # Shown turned, the page is landscape; the word boxes are on the words as displayed.
    assert (result.width_pt, result.height_pt) == pytest.approx((595.28, 419.53), abs=0.3)
    words = parse_hocr(result.hocr.read_bytes())
    assert len(words.words) == result.word_count == len(text.split())
    assert (words.width, words.height) == (round(595.28 * HOCR_DPI / 72), 1748)
    rendered = render(result.pdf, HOCR_DPI, tmp_path)
    assert rendered.size == pytest.approx((words.width, words.height), abs=1)  # poppler rounds up
    # Turned back a quarter (counter-clockwise), the lines run across again, as the ink
    # check wants them: a point (x, y) of the display goes to (y, width - x).
    level = rendered.transpose(Image.Transpose.ROTATE_90)
    boxes = [
        (y0, words.width - x1, y1, words.width - x0)
        for x0, y0, x1, y1 in (w.box for w in words.words)
    ]
    assert_boxes_on_ink(level, boxes)

    # Mura's own output (a scan with an invisible OCR layer) is a scan: OCRed again.
    with pikepdf.open(p01.pdf) as scan:
        assert not has_visible_text(scan.pages[0])


def test_assembled_document_keeps_page_order_and_metadata(
    p01: PageResult, tmp_path: Path, scorer: ModuleType, corpus: Path
) -> None:
    failed = placeholder_page(tmp_path / "failed.pdf", "Файл бос (0 байт).")
    meta = DocumentMeta("Есеп 2025", ["Қарағанды ОКЖ"], ["kaz"], identifier="inv-0042")
    out = assemble_pdf([p01.pdf, failed, p01.pdf], tmp_path / "doc.pdf", meta)
    assert cer(scorer, corpus, "p01_book", pdf_text(out, 3)) <= MAX_CER
    assert "could not be processed: Файл бос (0 байт)." in " ".join(pdf_text(out, 2).split())
    # A real OCR page and a placeholder: nothing our checks know of stands against PDF/A-2b.
    assert pdfa_problems(out) == []
    with pikepdf.open(out) as pdf:
        assert [page.label for page in pdf.pages] == ["1", "2", "3"]
        assert pdf.open_metadata()["dc:identifier"] == "inv-0042"
        fonts = {
            font.objgen
            for page in (pdf.pages[0], pdf.pages[2])
            for font in page.Resources.XObject.OCR.Resources.Font.values()
        }
        assert len(fonts) == 1  # one GlyphLessFont for all text layers


# --- priority 3: orientation and deskew ----------------------------------------------------


def test_page_on_its_side_comes_out_upright(
    p05: PageResult, corpus: Path, scorer: ModuleType
) -> None:
    check_page(p05)
    assert p05.rotation == 90  # stored turned 90 degrees counter-clockwise
    assert p05.width_pt < p05.height_pt
    assert cer(scorer, corpus, "p05_book_rot90", pdf_text(p05.pdf)) <= MAX_CER


def test_upside_down_page_comes_out_upright(
    p06: PageResult, corpus: Path, scorer: ModuleType
) -> None:
    check_page(p06)
    assert p06.rotation == 180
    assert cer(scorer, corpus, "p06_book_rus_rot180", pdf_text(p06.pdf)) <= MAX_CER


@pytest.mark.parametrize("page", ["p01_book.png", "p10_news.png"])
def test_probe_tells_upside_down_lines_from_upright_ones(
    page: str, corpus: Path, tmp_path: Path
) -> None:
    with Image.open(corpus / page) as im:
        gray = im.convert("L")
    gray = deskew(gray, estimate_layout(gray, 300.0).skew(0))
    source = OcrSource(gray, 300.0, False, None, "kaz", PageOptions(langs="kaz"))
    ctx = PageContext.create(tmp_path, 0, 60)
    assert probe_turned(gray, source, ctx) is False
    assert probe_turned(gray.rotate(180), source, ctx) is True
    # A blank page or one without words gives no answer: orientation detection decides.
    assert probe_turned(Image.new("L", gray.size, 250), source, ctx) is None
    lines = Image.new("L", gray.size, 250)
    lines.paste(0, (200, 1000, 1500, 1010))
    lines.paste(0, (200, 1040, 1500, 1050))
    assert probe_turned(lines, source, ctx) is None


def test_exif_orientation_is_respected(
    corpus: Path, scorer: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("exif")
    with Image.open(corpus / "p04_book_yellow.jpg") as im:
        stored = im.transpose(Image.Transpose.ROTATE_90)  # lying on its side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and saying: show me turned 90 degrees clockwise
    path = work / "camera.jpg"
    stored.save(path, quality=92, dpi=(300, 300), exif=exif)
    result = process_page(path, 0, work / "w", PageOptions(langs="kaz"))
    assert (result.rotation, result.width_pt < result.height_pt) == (0, True)
    assert cer(scorer, corpus, "p04_book_yellow", pdf_text(result.pdf)) <= MAX_CER


# --- priority 4: the text layer lies on the words ------------------------------------------


@pytest.mark.parametrize("page", ["p01", "p05", "p06"])
def test_word_boxes_lie_on_the_ink(page: str, request: pytest.FixtureRequest, tmp_path) -> None:
    result: PageResult = request.getfixturevalue(page)
    # hOCR pixels are those of the visible page at result.dpi (turned and deskewed)...
    scan = render(result.pdf, result.dpi, tmp_path)
    assert scan.size == (
        round(result.width_pt / 72 * result.dpi),
        round(result.height_pt / 72 * result.dpi),
    )
    hocr = hocr_words(result.hocr)
    assert_boxes_on_ink(scan, [box for _, box in hocr])
    # ...and the PDF's invisible words lie on the same places.
    assert_same_places(text_layer_words(result.pdf, result.dpi / 72), hocr)


# --- the whole corpus ----------------------------------------------------------------------


@pytest.mark.slow
def test_whole_corpus(
    corpus: Path,
    manifest: dict[str, dict],
    scorer: ModuleType,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    work = tmp_path_factory.mktemp("corpus")
    edits = chars = 0
    pdfs = []
    for stem, entry in manifest.items():
        result = process_page(
            corpus / entry["file"],
            entry["frame"] or 0,
            work / stem,
            PageOptions(langs="+".join(entry["langs"])),
        )
        reference = (corpus / entry["gt"]).read_text(encoding="utf-8")
        e, c, _, _ = scorer.score(reference, pdf_text(result.pdf))
        assert e / c <= MAX_CER, stem
        edits, chars = edits + e, chars + c
        pdfs.append(result.pdf)
    assert edits / chars <= 0.02
    book = assemble_pdf(pdfs, work / "corpus.pdf", DocumentMeta("Corpus", [], ["kaz"]))
    assert inspect_upload(book).pages == len(manifest)
