"""Hostile uploads: types from content, size and page limits, bombs, names, and fuzzing.

The fuzz tests mutate real files (corpus scans, a synthetic page, a multi-page TIFF, a PDF, the
RUSMARC sample) with hypothesis and feed them to the real code: ``inspect_upload`` must answer
(never raise, never hang), ``process_page`` must succeed or fail that page with a PageError, and
the MARC reader must report bad records with a reason. Sizes stay small so it runs in seconds.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mura.workers.pipeline.errors import PageError, TransientError
from mura.workers.pipeline.inputs import MAX_PAGES, inspect_upload
from mura.workers.pipeline.page import PageOptions, process_page
from tests.conftest import CORPUS, SHARED, make_app
from tests.synthetic import render_page

pytestmark = pytest.mark.timeout(600)

#: inspect_upload reads headers only: any answer slower than this is a hang in the making.
INSPECT_BUDGET_S = 5.0
MARC_SAMPLE = SHARED / "marc" / "rusmarc_nlr_sample.iso"
FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


# --- seed files --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    page = render_page(folder / "page.png", 7)
    out: dict[str, bytes] = {"png": page.read_bytes()}
    with Image.open(page) as im:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=70)
        out["jpeg"] = buf.getvalue()
        buf = io.BytesIO()
        im.save(buf, "TIFF", save_all=True, append_images=[im.copy(), im.copy()],
                compression="tiff_lzw")  # fmt: skip
        out["tiff"] = buf.getvalue()
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "PDF", resolution=300)
        out["pdf"] = buf.getvalue()
    if (CORPUS / "p08_book_jpeg.jpg").exists():
        out["corpus_jpeg"] = (CORPUS / "p08_book_jpeg.jpg").read_bytes()[:200_000]
    return out


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for position, value in edits:
        buf[position % len(buf)] = value
    if cut is not None:
        buf = buf[: max(1, cut % len(buf))]
    return bytes(buf)


MUTATIONS = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), max_size=12),
    st.none() | st.integers(0, 10**7),
)


def _write(data: bytes, suffix: str = ".bin") -> Path:
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=suffix)  # noqa: SIM115
    handle.write(data)
    handle.close()
    return Path(handle.name)


def _inspect(data: bytes):
    path = _write(data)
    try:
        started = time.monotonic()
        info = inspect_upload(path)
        assert time.monotonic() - started < INSPECT_BUDGET_S, "inspect_upload took too long"
    finally:
        path.unlink()
    assert info.pages >= 1
    assert info.ok or (info.error_code and info.error_reason)
    return info


# --- fuzzing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "jpeg", "tiff", "pdf", "corpus_jpeg"])
def test_inspect_upload_answers_any_mutation(seeds: dict[str, bytes], kind: str) -> None:
    if kind not in seeds:
        pytest.skip("corpus not available")

    @FUZZ
    @given(MUTATIONS)
    def run(mutation: tuple[list[tuple[int, int]], int | None]) -> None:
        _inspect(_mutate(seeds[kind], *mutation))

    run()


@pytest.mark.parametrize("kind", ["png", "tiff", "pdf"])
def test_process_page_fails_a_mutated_page_cleanly(seeds: dict[str, bytes], kind: str) -> None:
    """Whatever inspect_upload accepted, OCR either works or fails that page with a reason."""

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(MUTATIONS)
    def run(mutation: tuple[list[tuple[int, int]], int | None]) -> None:
        data = _mutate(seeds[kind], *mutation)
        info = _inspect(data)
        if not info.ok:
            return
        path = _write(data)
        work = Path(tempfile.mkdtemp())
        try:
            for frame in range(min(info.pages, 2)):
                try:
                    process_page(path, frame, work, PageOptions(langs="eng", timeout_s=60))
                except (PageError, TransientError) as exc:
                    assert str(exc)  # a reason staff can read
        finally:
            path.unlink()
            shutil.rmtree(work, ignore_errors=True)

    run()


@pytest.fixture(autouse=False)
def marc_sample() -> Path:
    if not MARC_SAMPLE.exists():
        pytest.skip(f"MARC sample not found at {MARC_SAMPLE}")
    return MARC_SAMPLE


@pytest.mark.usefixtures("marc_sample")
def test_marc_reader_reports_bad_records_with_a_reason() -> None:
    from mura.app.modules.catalogue.marc_import import MarcError, map_record, read_records

    sample = MARC_SAMPLE.read_bytes()[:20_000]

    @FUZZ
    @given(MUTATIONS)
    def run(mutation: tuple[list[tuple[int, int]], int | None]) -> None:
        started = time.monotonic()
        for raw in read_records(_mutate(sample, *mutation)):
            if raw.record is None:
                assert raw.error, "a bad record without a reason"
                continue
            try:
                map_record(raw.record)
            except MarcError as exc:
                assert str(exc)
        assert time.monotonic() - started < 10

    run()


@pytest.mark.usefixtures("marc_sample")
def test_marcxml_reader_survives_mutations() -> None:
    import pymarc

    from mura.app.modules.catalogue.marc_import import MarcError, read_records

    record = next(r.record for r in read_records(MARC_SAMPLE.read_bytes()) if r.record)
    xml = (
        b"<collection xmlns='http://www.loc.gov/MARC21/slim'>"
        + pymarc.record_to_xml(record, namespace=False)
        + b"</collection>"
    )

    @FUZZ
    @given(MUTATIONS)
    def run(mutation: tuple[list[tuple[int, int]], int | None]) -> None:
        try:
            for raw in read_records(_mutate(xml, *mutation), fmt="marcxml"):
                assert raw.record is not None or raw.error
        except MarcError as exc:
            assert str(exc)

    run()


@pytest.fixture(scope="module")
def marc_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_app(tmp_path_factory.mktemp("marc") / "home")
    with app.app_context():
        yield app
        from mura.app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.mark.usefixtures("marc_sample")
def test_marc_import_never_crashes(marc_app: Flask) -> None:
    from mura.app.modules.catalogue.records import import_marc

    sample = MARC_SAMPLE.read_bytes()[:12_000]

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(MUTATIONS)
    def run(mutation: tuple[list[tuple[int, int]], int | None]) -> None:
        report = import_marc(_mutate(sample, *mutation))
        assert report.total >= len(report.problems)
        assert all(p.reason for p in report.problems)

    run()


# --- limits and bombs --------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        import struct

        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    import struct

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_without_decoding(tmp_path: Path) -> None:
    info = _inspect(_png_header(200_000, 200_000))
    assert info.error_code == "too_large" and "too large" in info.error_reason


def test_a_pdf_with_too_many_pages_is_refused(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    for _ in range(MAX_PAGES + 1):
        pdf.add_blank_page(page_size=(10, 10))
    path = tmp_path / "many.pdf"
    pdf.save(path)
    info = inspect_upload(path)
    assert info.error_code == "too_large" and str(MAX_PAGES) in info.error_reason


def test_a_pdf_page_with_a_huge_image_is_refused(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    image = pikepdf.Stream(pdf, zlib.compress(b"\0" * 1000))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height = 150_000, 150_000
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    image.Filter = pikepdf.Name.FlateDecode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    path = tmp_path / "bomb.pdf"
    pdf.save(path)
    assert inspect_upload(path).ok  # the page count is fine...
    with pytest.raises(PageError) as refused:  # ...but the page's image is not decoded
        process_page(path, 0, tmp_path / "work", PageOptions(langs="eng", timeout_s=60))
    assert refused.value.code == "too_large"


def test_a_tiff_with_too_many_frames_is_refused(tmp_path: Path) -> None:
    frame = Image.new("1", (8, 8))
    path = tmp_path / "many.tif"
    frame.save(path, save_all=True, append_images=[frame] * MAX_PAGES)
    info = inspect_upload(path)
    assert info.error_code == "too_large" and "pages" in info.error_reason


def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    png = render_page(tmp_path / "page.png", 1).rename(tmp_path / "looks-like.pdf")
    info = inspect_upload(png)
    assert (info.kind, info.mime, info.ok) == ("image", "image/png", True)
    fake = tmp_path / "scan.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    info = inspect_upload(fake)
    assert (info.error_code, info.mime) == ("not_an_image", "text/plain")


def test_an_uploaded_name_never_reaches_the_file_system(app: Flask, tmp_path: Path) -> None:
    from mura.app.core.files import local_path
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    data = render_page(tmp_path / "p.png", 1).read_bytes()
    names = ["../../../../tmp/mura-escape.png", "/etc/passwd", "a\0b.png", "..\\..\\win.png"]
    job = ingest([Upload(n, io.BytesIO(data)) for n in names],
                 DocumentFields("Names", "book", [], "eng"))  # fmt: skip
    store = Path(app.config["STORE_DIR"]).resolve()
    for page, name in zip(job.pages, names, strict=True):
        path = local_path(page.source_file).resolve()
        assert path.is_relative_to(store) and path.name == page.source_file.sha256
        assert page.source_file.original_name == name[:500]  # kept for display only
    assert not Path("/tmp/mura-escape.png").exists()


def test_a_request_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    from tests.auth_helpers import logged_in, make_user

    app = make_app(tmp_path / "home", MAX_CONTENT_LENGTH=50_000)
    with app.app_context():
        make_user("uploader")
    client = logged_in(app, "uploader")
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100_000)
    response = client.post(
        "/staff/upload",
        data={"title": "Big", "doc_type": "book", "files": (big, "big.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    with app.app_context():
        from mura.app.extensions import db
        from mura.app.models import StoredFile

        assert db.session.scalar(db.select(db.func.count()).select_from(StoredFile)) == 0
        db.engine.dispose()
