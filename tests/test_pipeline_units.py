"""Stages of the page pipeline that need no OCR: input checks, resolution, layout, geometry,
image encodings, placeholder pages and document assembly. Real corpus files where possible."""

from __future__ import annotations

import io
import json
import math
import resource
import subprocess
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name
from PIL import Image, ImageChops, ImageStat

from mura.workers.pipeline import (
    DocumentMeta,
    UploadInfo,
    assemble_pdf,
    inspect_upload,
    placeholder_page,
)
from mura.workers.pipeline import pdf as pdf_module
from mura.workers.pipeline.context import PageContext
from mura.workers.pipeline.errors import PageError
from mura.workers.pipeline.geometry import placement
from mura.workers.pipeline.images import (
    encode_g4,
    encode_lossless,
    estimate_dpi,
    flatten,
    jpeg_passthrough,
    load_raster,
    png_passthrough,
    resolve_dpi,
    square_pixels,
)
from mura.workers.pipeline.inputs import identify
from mura.workers.pipeline.layout import estimate_layout
from mura.workers.pipeline.pdf import build_page_pdf, to_ascii
from mura.workers.pipeline.pdfinput import full_page_image
from tests.conftest import CORPUS
from tests.pdfa_helpers import pdfa_problems


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "manifest.json").is_file():
        pytest.skip(f"OCR corpus not found at {CORPUS} (expected ../shared beside the repo)")
    return CORPUS


@pytest.fixture(scope="module")
def manifest(corpus: Path) -> list[dict]:
    return json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["pages"]


def render(pdf: Path, dpi: float, tmp_path: Path) -> Image.Image:
    """Page 1 of a PDF rendered by poppler in grayscale."""
    prefix = tmp_path / f"render-{pdf.stem}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(pdf), str(prefix)], check=True
    )
    with Image.open(prefix.with_suffix(".pgm")) as im:
        im.load()
        return im.copy()


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def pdf_text(pdf: Path, page: int = 1) -> str:
    args = ["pdftotext", "-raw", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


# --- inspect_upload ------------------------------------------------------------------------


def test_inspect_good_files(corpus: Path, tmp_path: Path) -> None:
    tiff = inspect_upload(corpus / "p14_book_tiff.tif")
    assert (tiff.kind, tiff.pages, tiff.mime, tiff.ok) == ("tiff", 3, "image/tiff", True)
    png = inspect_upload(corpus / "p01_book.png")
    assert (png.kind, png.pages, png.mime) == ("image", 1, "image/png")
    jpeg = inspect_upload(corpus / "p04_book_yellow.jpg")
    assert (jpeg.kind, jpeg.pages, jpeg.mime) == ("image", 1, "image/jpeg")
    renamed = tmp_path / "scan.pdf"  # the name lies; the content decides
    renamed.write_bytes((corpus / "p01_book.png").read_bytes())
    assert inspect_upload(renamed).mime == "image/png"
    doc = tmp_path / "two.pdf"
    placeholder_page(tmp_path / "a.pdf", "one")
    placeholder_page(tmp_path / "b.pdf", "two")
    assemble_pdf([tmp_path / "a.pdf", tmp_path / "b.pdf"], doc, DocumentMeta("T", [], []))
    assert inspect_upload(doc) == UploadInfo("pdf", 2, "application/pdf")


def bad_files(corpus: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Unusable uploads made from real files, with the error code each must get."""
    png = (corpus / "p01_book.png").read_bytes()
    jpeg = (corpus / "p04_book_yellow.jpg").read_bytes()
    tiff = (corpus / "p14_book_tiff.tif").read_bytes()
    files = {
        "empty.png": (b"", "empty_file"),
        "notes.png": ("Опись фонда: 12 единиц хранения.\n".encode() * 20, "not_an_image"),
        "half.png": (png[: len(png) // 2], "truncated_image"),
        "half.jpg": (jpeg[: len(jpeg) // 2], "truncated_image"),
        "half.tif": (tiff[: len(tiff) // 2], "truncated_image"),
        "anim.gif": (b"GIF89a" + bytes(200), "unsupported_format"),
        "random.bin": (bytes(range(256)) * 8, "not_an_image"),
        "half.pdf": (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "truncated_image"),
    }
    out = {}
    for name, (data, code) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[name] = (path, code)
    return out


def test_inspect_bad_files_never_raises(corpus: Path, tmp_path: Path) -> None:
    for name, (path, code) in bad_files(corpus, tmp_path).items():
        info = inspect_upload(path)
        assert (info.kind, info.pages, info.error_code) == ("invalid", 1, code), name
        assert info.error_reason and info.error_reason.endswith("."), name
    assert inspect_upload(tmp_path / "empty.png").error_reason == "The file is empty (0 bytes)."
    assert inspect_upload(tmp_path / "notes.png").mime == "text/plain"
    assert inspect_upload(tmp_path / "missing.png").error_code == "not_an_image"


def test_inspect_decompression_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (400, 300), 255).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    assert inspect_upload(path).error_code == "too_large"


def test_inspect_caps_pages(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mura.workers.pipeline.inputs.MAX_PAGES", 2)
    info = inspect_upload(corpus / "p14_book_tiff.tif")
    assert info.error_code == "too_large"
    assert "2 pages" in info.error_reason


def test_page_error_keeps_code_through_pickle() -> None:
    import pickle

    from mura.workers.pipeline.errors import OcrTimeout

    error = pickle.loads(pickle.dumps(OcrTimeout("Too slow.")))
    assert (type(error), error.code, error.reason) == (OcrTimeout, "ocr_timeout", "Too slow.")
    assert PageError("x", code="too_large").code == "too_large"


# --- resolution ----------------------------------------------------------------------------


def test_resolve_dpi() -> None:
    assert resolve_dpi((300.0, 300.0), (1748, 2480), 150) == ((300.0, 300.0), None)
    assert resolve_dpi(None, (1748, 2480), 400)[0] == (400, 400)
    (dpi, note) = resolve_dpi(None, (1748, 2480), None)
    assert dpi == (300.0, 300.0) and "A5" in note
    assert resolve_dpi((1.0, 1.0), (1654, 2339), None)[0] == (200.0, 200.0)  # A4 at 200
    assert resolve_dpi((5000.0, 5000.0), (2550, 3300), None)[0] == (300.0, 300.0)  # Letter
    assert resolve_dpi(None, (1000, 1000), None)[0] == (300.0, 300.0)  # no paper fits
    assert estimate_dpi((1000, 1000)) is None
    assert estimate_dpi((4961, 7016)) == (600.0, "A4")


def test_square_pixels() -> None:
    fax = Image.new("L", (1728, 1100), 255)  # fax "normal" mode: 204 x 98 dpi
    square, dpi = square_pixels(fax, (204.0, 98.0))
    assert dpi == 204.0
    assert square.size == (1728, round(1100 * 204 / 98))
    same, dpi = square_pixels(fax, (300.0, 299.5))
    assert same is fax and dpi == 300.0


# --- layout --------------------------------------------------------------------------------


def test_layout_finds_skew_and_sideways_pages(corpus: Path, manifest: list[dict]) -> None:
    for entry in manifest:
        with Image.open(corpus / entry["file"]) as im:
            im.seek(entry["frame"] or 0)
            gray = im.convert("L")
        layout = estimate_layout(gray, entry["dpi"])
        stored = entry["degradations"].get("stored_rotation_ccw", 0)
        assert layout.sideways == (stored in (90, 270)), entry["gt"]
        rotation = {0: 0, 90: 90, 180: 180, 270: 270}[stored]  # ccw stored -> cw fix
        true_skew = entry["degradations"].get("skew_deg", 0.0)
        # skew_deg is counter-clockwise; deskewing turns the other way.
        assert layout.skew(rotation) == pytest.approx(-true_skew, abs=0.3), entry["gt"]


def test_layout_leaves_blank_page_alone() -> None:
    paper = Image.effect_noise((1748, 2480), 6).point(lambda v: v + 112)  # 240 +- 6
    for blank in (paper, Image.new("L", (1748, 2480), 250)):
        layout = estimate_layout(blank, 300)
        assert not layout.sideways
        assert layout.skew(0) == 0.0


def test_text_band_of_a_page_blank_in_its_middle_is_none() -> None:
    from PIL import ImageDraw

    from mura.workers.pipeline.layout import text_band

    page = Image.new("L", (2480, 3508), 250)
    draw = ImageDraw.Draw(page)
    for top in (*range(200, 900, 60), *range(2600, 3300, 60)):  # lines above and below only
        draw.rectangle((200, top, 2200, top + 25), fill=20)
    assert text_band(page, 300, 3, 0.5) is None
    for top in range(1200, 2300, 60):  # and with lines in the middle, a band of three
        draw.rectangle((200, top, 2200, top + 25), fill=20)
    left, top, right, bottom = text_band(page, 300, 3, 0.5)
    assert 1200 <= top < bottom <= 2300 and 200 <= left < right <= 2200


def test_otsu_threshold_splits_ink_from_paper_of_any_shade() -> None:
    from mura.workers.pipeline.images import binarize, otsu_threshold

    for ink, paper in ((20, 240), (90, 170), (120, 150)):  # dark, grey, faint scans
        page = Image.new("L", (400, 300), paper)
        page.paste(ink, (50, 50, 350, 120))
        noisy = Image.merge("L", [ImageChops.add(page, Image.effect_noise(page.size, 4), 1, -128)])
        threshold = otsu_threshold(noisy)
        assert ink + 8 < threshold < paper - 8, (ink, paper, threshold)
        bilevel = binarize(noisy)
        assert bilevel.mode == "1"
        assert bilevel.getpixel((200, 85)) == 0 and bilevel.getpixel((200, 250)) == 255
    assert binarize(Image.new("L", (10, 10), 255)).getextrema() == (255, 255)  # blank stays


@pytest.mark.parametrize("clean", [False, True])
def test_tesseract_reads_a_bilevel_copy_unless_cleaning(
    clean: bool, corpus: Path, tmp_path: Path
) -> None:
    from mura.workers.pipeline.images import to_gray
    from mura.workers.pipeline.page import OcrSource, PageOptions, prepare

    gray = to_gray(Image.open(corpus / "p03_book_rus_lowcontrast.png"))
    options = PageOptions(clean=clean)
    source = OcrSource(gray, 300.0, False, estimate_layout(gray, 300), "kaz+rus", options)
    prepared = prepare(source, 0, PageContext.create(tmp_path, 0, 60))
    assert prepared.skew != 0.0
    assert prepared.image.mode == ("L" if clean else "1")
    if not clean:  # the low-contrast page keeps its text: about as much ink as the scan shows
        ink = 1 - ImageStat.Stat(prepared.image.convert("L")).mean[0] / 255
        assert 0.03 < ink < 0.2, ink


# --- geometry ------------------------------------------------------------------------------


def apply(matrix: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return (round(a * x + c * y + e, 6), round(b * x + d * y + f, 6))


def test_placement_turns_and_sizes_the_page() -> None:
    # 200 x 100 px at 100 dpi = 144 x 72 pt, stored lying on its side.
    upright = placement((200, 100), (100.0, 100.0), 0, 0.0)
    assert (upright.width_pt, upright.height_pt) == (144.0, 72.0)
    assert upright.image_matrix == (144.0, 0.0, 0.0, 72.0, 0.0, 0.0)
    turned = placement((200, 100), (100.0, 100.0), 90, 0.0)
    assert (turned.width_pt, turned.height_pt) == (72.0, 144.0)
    # Clockwise: the stored top-left corner (image space (0, 1)) ends at the top right.
    assert apply(turned.image_matrix, 0, 1) == (72.0, 144.0)
    assert apply(turned.image_matrix, 0, 0) == (0.0, 144.0)
    flipped = placement((200, 100), (100.0, 100.0), 180, 0.0)
    assert apply(flipped.image_matrix, 0, 1) == (144.0, 0.0)
    left = placement((200, 100), (100.0, 100.0), 270, 0.0)
    assert apply(left.image_matrix, 0, 1) == (0.0, 0.0)
    # Deskew keeps the centre and the page size.
    skewed = placement((200, 100), (100.0, 100.0), 0, 2.0)
    assert apply(skewed.image_matrix, 0.5, 0.5) == (72.0, 36.0)
    a, b, c, d, _, _ = skewed.image_matrix
    assert math.degrees(math.atan2(b, a)) == pytest.approx(2.0)
    assert (skewed.width_pt, skewed.height_pt) == (144.0, 72.0)


# --- image encodings -----------------------------------------------------------------------


def embed_and_render(encoded, size: tuple[int, int], tmp_path: Path, name: str) -> Image.Image:
    """Embed an encoded image as a page at 100 dpi, render it at 100 dpi."""
    out = build_page_pdf(encoded, placement(size, (100.0, 100.0), 0, 0.0), None, tmp_path / name)
    return render(out, 100, tmp_path)


def embedded_pixels(encoded, size: tuple[int, int], tmp_path: Path) -> Image.Image:
    """The image as a PDF reader decodes it from the page (pikepdf)."""
    out = build_page_pdf(encoded, placement(size, (100.0, 100.0), 0, 0.0), None, tmp_path / "e.pdf")
    with pikepdf.open(out) as pdf:
        image = pikepdf.PdfImage(pdf.pages[0].get_images(recursive=False)["/Im0"])
        return image.as_pil_image().copy()


def test_g4_frames_stay_bilevel_and_render_the_same(corpus: Path, tmp_path: Path) -> None:
    with Image.open(corpus / "p14_book_tiff.tif") as tiff:
        tiff.seek(1)
        frame = tiff.copy()
    encoded = encode_g4(frame)
    assert encoded.filter == "CCITTFaxDecode" and encoded.bits == 1
    assert len(encoded.data) < 60_000  # G4, not raw bits
    decoded = embedded_pixels(encoded, frame.size, tmp_path).convert("L")
    assert decoded.tobytes() == frame.convert("L").tobytes()
    rendered = embed_and_render(encoded, frame.size, tmp_path, "g4.pdf")
    # Inverted polarity would differ by ~230; poppler smooths a few edge pixels.
    assert mean_difference(rendered, frame.convert("L")) < 8.0


def test_png_passthrough_is_lossless(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "p11_news_rus_200dpi.png").read_bytes()
    encoded = png_passthrough(data)
    assert encoded is not None and encoded.decode_parms["Predictor"] == 15
    with Image.open(io.BytesIO(data)) as im:
        source = im.convert("L")
    assert embedded_pixels(encoded, source.size, tmp_path).tobytes() == source.tobytes()
    rendered = embed_and_render(encoded, source.size, tmp_path, "png.pdf")
    assert mean_difference(rendered, source) < 8.0


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "I;16", "LA", "1"])
def test_encodings_of_other_modes_render_right(mode: str, tmp_path: Path) -> None:
    base = Image.linear_gradient("L").resize((300, 200))
    if mode == "I;16":
        image = base.convert("I").point(lambda v: v * 256).convert("I;16")
    elif mode == "P":
        image = base.convert("RGB").quantize(16)
    elif mode == "1":
        image = base.convert("1", dither=Image.Dither.NONE)
    else:
        image = base.convert(mode)
    expected = flatten(image).convert("L")
    encoded = encode_lossless(image)
    rendered = embed_and_render(encoded, image.size, tmp_path, f"{mode[:2]}.pdf")
    assert mean_difference(rendered, expected) < 8.0, mode


def test_cmyk_jpeg_passthrough_renders_right(tmp_path: Path) -> None:
    base = Image.linear_gradient("L").resize((300, 200))
    buffer = io.BytesIO()
    base.convert("CMYK").save(buffer, "JPEG", quality=95)
    with Image.open(buffer) as jpeg:
        jpeg.load()
        encoded = jpeg_passthrough(buffer.getvalue(), jpeg, jpeg.info)
        expected = jpeg.convert("L")
    rendered = embed_and_render(encoded, base.size, tmp_path, "cmyk.pdf")
    assert mean_difference(rendered, expected) < 6.0


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "JPEG2000", "TIFF"])
def test_other_formats_are_embedded_losslessly(fmt: str, corpus: Path, tmp_path: Path) -> None:
    with Image.open(corpus / "p11_news_rus_200dpi.png") as im:
        source = im.crop((0, 0, 800, 600)).convert("RGB")
    path = tmp_path / f"scan.{fmt.lower()}"
    options = {"WEBP": {"lossless": True}, "JPEG2000": {"irreversible": False}}.get(fmt, {})
    source.save(path, fmt, **options)
    fmt_info = identify(path)
    assert inspect_upload(path).ok
    ctx = PageContext.create(tmp_path / "work", 0, 60)
    page = load_raster(path, fmt_info, 0, ctx)
    assert page.visible.filter == "FlateDecode"
    assert embedded_pixels(page.visible, source.size, tmp_path).tobytes() == source.tobytes()


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"q 200 0 0 300 0 0 cm /Im0 Do Q", True),
        (b"q 1 0 0 1 0 0 cm q 200 0 0 300 0 0 cm /Im0 Do Q Q", True),
        (b"BT 3 Tr /F1 9 Tf (old OCR layer) Tj ET q 200 0 0 300 0 0 cm /Im0 Do Q", True),
        (b"q 200 0 0 300 0 0 cm /Im0 Do Q BT /F1 9 Tf (visible text) Tj ET", False),
        (b"q 100 0 0 150 0 0 cm /Im0 Do Q", False),  # does not cover the page
        (b"q 0 300 -200 0 200 0 cm /Im0 Do Q", False),  # turned by the matrix
        (b"q 200 0 0 300 0 0 cm /Im0 Do Q q 200 0 0 300 0 0 cm /Im0 Do Q", False),
        (b"q 200 0 0 300 0 0 cm /Im0 Do Q BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI", False),
    ],
)
def test_full_page_image_is_found_only_on_scanner_pages(content: bytes, found: bool) -> None:
    with pikepdf.new() as pdf:
        page = pdf.add_blank_page(page_size=(200, 300))
        image = pikepdf.Stream(pdf, bytes(6))
        image.Type, image.Subtype, image.ColorSpace = Name.XObject, Name.Image, Name.DeviceGray
        image.Width, image.Height, image.BitsPerComponent = 2, 3, 8
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pdf.make_stream(content)
        result = full_page_image(page)
        assert (result is not None) == found
        if found:
            assert result[0] == "/Im0" and result[2] == (200.0, 300.0)


# --- placeholder and assembly --------------------------------------------------------------


def test_to_ascii() -> None:
    assert to_ascii("Файл бүлінген: «Қазақстан» — №5") == 'Fayl bulingen: "Qazaqstan" - No.5'
    assert to_ascii("Ешқандай 中文") == "Eshqanday ??"


def test_placeholder_page_says_why_in_an_embedded_font(tmp_path: Path) -> None:
    out = placeholder_page(tmp_path / "ph.pdf", "Сурет файлы бос (0 байт).", 420.0, 595.0)
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
        assert [float(v) for v in pdf.pages[0].mediabox] == [0.0, 0.0, 420.0, 595.0]
    text = " ".join(pdf_text(out).split())
    assert text == "This page could not be processed: Сурет файлы бос (0 байт)."
    long = placeholder_page(tmp_path / "long.pdf", "word " * 200)
    assert pdf_text(long).count("\n") > 5  # wrapped, not cut off the page
    with pikepdf.open(long) as pdf:
        assert len(pdf.pages) == 1


def test_placeholder_page_without_its_font_says_why_in_ascii(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_module, "PLACEHOLDER_FONT", tmp_path / "missing.ttf")
    out = placeholder_page(tmp_path / "ph.pdf", "Сурет файлы бос (0 байт).")
    text = " ".join(pdf_text(out).split())
    assert text == "This page could not be processed: Suret fayly bos (0 bayt)."
    document = assemble_pdf([out], tmp_path / "doc.pdf", DocumentMeta("T", [], ["kaz"]))
    assert any("is not embedded" in p for p in pdfa_problems(document))


def test_pdfa_checks_find_what_the_output_intent_does_not_cover(tmp_path: Path) -> None:
    """A CMYK JPEG passes through as DeviceCMYK, which the sRGB output intent does not cover."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((300, 200)).convert("CMYK").save(buffer, "JPEG")
    with Image.open(buffer) as cmyk:
        encoded = jpeg_passthrough(buffer.getvalue(), cmyk, cmyk.info)
    assert encoded is not None and encoded.colorspace == "DeviceCMYK" and encoded.icc is None
    page = build_page_pdf(
        encoded, placement((300, 200), (100.0, 100.0), 0, 0.0), None, tmp_path / "c.pdf"
    )
    document = assemble_pdf([page], tmp_path / "doc.pdf", DocumentMeta("T", ["A"], ["kaz"]))
    assert pdfa_problems(document) == [
        "page 1: image /Im0 is DeviceCMYK, which the sRGB output intent omits"
    ]
    with pikepdf.open(document) as pdf:  # the output intent itself is in order
        (intent,) = pdf.Root.OutputIntents
        profile = intent.DestOutputProfile.read_bytes()
        assert (
            profile[16:20] == b"RGB " and profile[8] == 4 and int(intent.DestOutputProfile.N) == 3
        )


def test_assemble_pdf_in_batches_with_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_module, "ASSEMBLY_BATCH_PAGES", 3)
    pages = [placeholder_page(tmp_path / f"p{i}.pdf", f"reason {i + 1}") for i in range(7)]
    meta = DocumentMeta(
        title="Қарағанды кітапханалары: 2025 жылғы есеп",
        authors=["Жүнісов Б.Ж.", "Шуланбаев А.І."],
        languages=["kaz", "rus"],
        subject="Annual report",
        identifier="urn:mura:doc:42",
        doc_type="book",
    )
    out = assemble_pdf(pages, tmp_path / "doc.pdf", meta)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers
    for number in (1, 4, 7):
        assert f"reason {number}" in pdf_text(out, number)
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 7
        assert [page.label for page in pdf.pages] == [str(n) for n in range(1, 8)]
        assert str(pdf.docinfo["/Title"]) == meta.title
        assert str(pdf.docinfo["/Author"]) == "Жүнісов Б.Ж.; Шуланбаев А.І."
        assert str(pdf.Root.Lang) == "kk"
        xmp = pdf.open_metadata()
        assert xmp["dc:title"] == meta.title
        assert xmp["dc:creator"] == meta.authors
        assert set(xmp["dc:language"]) == {"kk", "ru"}
        assert xmp["dc:identifier"] == "urn:mura:doc:42"
        assert xmp["dc:description"] == "Annual report"


@pytest.mark.slow
def test_assemble_500_pages_in_bounded_memory(corpus: Path, tmp_path: Path) -> None:
    # One real scan page (900 KB of image data) repeated: 450 MB of images in the result.
    page = tmp_path / "page.pdf"
    encoded = png_passthrough((corpus / "p01_book.png").read_bytes())
    build_page_pdf(encoded, placement((1748, 2480), (300.0, 300.0), 0, 1.0), None, page)
    copies = []
    for i in range(500):
        copy = tmp_path / f"{i:03d}.pdf"
        copy.hardlink_to(page)
        copies.append(copy)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = assemble_pdf(copies, tmp_path / "book.pdf", DocumentMeta("Book", ["A"], ["kaz"]))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert out.stat().st_size > 400 * 1024 * 1024
    assert grown_mb < 150, f"assembly grew the process by {grown_mb:.0f} MB"


@pytest.mark.parametrize(("mode", "visible"), [(0, True), (3, False)])
def test_text_inside_a_form_counts_unless_invisible(mode: int, visible: bool) -> None:
    from mura.workers.pipeline.textpage import has_visible_text

    with pikepdf.new() as pdf:
        page = pdf.add_blank_page(page_size=(200, 200))
        form = pdf.make_stream(f"BT {mode} Tr /F1 12 Tf 10 10 Td (Hello) Tj ET".encode())
        form.Type, form.Subtype, form.BBox = Name.XObject, Name.Form, [0, 0, 200, 200]
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fm0=form))
        page.Contents = pdf.make_stream(b"q /Fm0 Do Q")
        assert has_visible_text(page) is visible
