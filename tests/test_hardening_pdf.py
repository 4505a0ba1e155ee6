"""Issue 18, findings 3 and 4 and the 8x8 TIFF: hostile PDFs and tiny images.

* A PDF page kept with its own text loses its actions, scripts, attached files and non-web
  links; the published document carries none of them, and the text stays.
* A tiny PDF whose content stream holds millions of operators fails its page quickly with a
  clear reason (code ``too_complex``), and the worker lives on; each pool process runs under
  an address-space limit (``MURA_WORKER_MEMORY_LIMIT_MB``).
* An image too small to be a page fails with code ``too_small``, not an internal error.
"""

from __future__ import annotations

import resource
import time
import zlib
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String
from PIL import Image

from tests.conftest import Stack, copy_page

pytestmark = pytest.mark.timeout(600)

#: Words of the typeset page, to find after ingest.
TEXT = (
    "Қазақстанның өлкетану бөлімі кітапханада сақталған қолжазбаларды цифрлайды. "
    "Краеведческий отдел библиотеки оцифровывает рукописи и старые газеты. "
)
#: Action types that must never reach a reader.
FORBIDDEN_ACTIONS = {"/Launch", "/JavaScript", "/GoToR", "/ImportData", "/SubmitForm", "/GoToE"}
FORBIDDEN_KEYS = {"/AA", "/JS", "/OpenAction", "/EmbeddedFiles", "/EmbeddedFile", "/JavaScript"}


def typeset_pdf(out: Path, pages: int = 1) -> Path:
    """A PDF typeset on a computer (visible text, kept as it is by the pipeline)."""
    from fpdf import FPDF

    doc = FPDF(unit="pt", format=(419.53, 595.28))
    doc.add_font("DejaVuSerif", fname="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    doc.set_font("DejaVuSerif", size=10)
    for _ in range(pages):
        doc.add_page()
        doc.multi_cell(w=0, h=14, text=TEXT * 4)
    out.write_bytes(bytes(doc.output()))
    return out


def _link(pdf: pikepdf.Pdf, action: Dictionary, y: float) -> pikepdf.Object:
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=Array([20, y, 200, y + 20]),
            Border=Array([0, 0, 0]),
            A=action,
        )
    )


def hostile_pdf(out: Path) -> Path:
    """A typeset page carrying every kind of action a reader's PDF viewer might run."""
    typeset_pdf(out)
    with pikepdf.open(out, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0].obj
        launch = Dictionary(S=Name.Launch, F=String("calc.exe"), Win=Dictionary(F=String("calc")))
        js = Dictionary(S=Name.JavaScript, JS=String("app.alert('pwned')"))
        page.AA = Dictionary(O=launch, C=js)
        attachment = pdf.make_stream(b"MZ not really a program", Type=Name.EmbeddedFile)
        filespec = Dictionary(Type=Name.Filespec, F=String("evil.exe"), EF=Dictionary(F=attachment))
        web = Dictionary(
            S=Name.URI, URI=String("https://example.org/kraeved"), Next=js
        )  # a web link, with a script chained after it
        page.Annots = Array(
            [
                _link(pdf, Dictionary(S=Name.URI, URI=String("javascript:alert(1)")), 20),
                _link(pdf, Dictionary(S=Name.URI, URI=String(" JavaScript:alert(2)")), 50),
                _link(pdf, Dictionary(S=Name.URI, URI=String("file:///etc/passwd")), 80),
                _link(pdf, launch, 110),
                _link(pdf, Dictionary(S=Name.GoToR, F=String("other.pdf"), D=Array([0])), 140),
                _link(pdf, Dictionary(S=Name.SubmitForm, F=String("http://evil.test/")), 170),
                _link(pdf, Dictionary(S=Name.ImportData, F=String("data.fdf")), 200),
                _link(pdf, web, 230),
                pdf.make_indirect(
                    Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.FileAttachment,
                        Rect=Array([300, 20, 320, 40]),
                        FS=filespec,
                    )
                ),
                pdf.make_indirect(
                    Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.Text,
                        Rect=Array([300, 60, 320, 80]),
                        Contents=String("a note"),
                        AA=Dictionary(E=js),
                    )
                ),
            ]
        )
        pdf.Root.OpenAction = launch
        pdf.Root.AA = Dictionary(WC=js)
        pdf.Root.Names = Dictionary(
            JavaScript=Dictionary(Names=Array([String("run"), pdf.make_indirect(js)])),
            EmbeddedFiles=Dictionary(Names=Array([String("evil.exe"), filespec])),
        )
        pdf.save(out)
    return out


def hostile_things(pdf: pikepdf.Pdf) -> list[str]:
    """Every action, script, attached file or non-web link anywhere in the PDF's objects."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(obj: pikepdf.Object, where: str) -> None:
        if isinstance(obj, (Dictionary, pikepdf.Stream)):
            if obj.is_indirect:
                if obj.objgen in seen:
                    return
                seen.add(obj.objgen)
            keys = list(obj.keys())
            for key in keys:
                if key in FORBIDDEN_KEYS:
                    found.append(f"{where}{key}")
            if str(obj.get("/S", "")) in FORBIDDEN_ACTIONS:
                found.append(f"{where} action {obj.S}")
            if obj.get("/Subtype") == Name.FileAttachment or obj.get("/Type") == Name.Filespec:
                found.append(f"{where} file")
            uri = obj.get("/URI")
            if uri is not None and not bytes(uri).startswith((b"http://", b"https://")):
                found.append(f"{where} link {bytes(uri)!r}")
            if obj.get("/Next") is not None and obj.get("/S") is not None:
                found.append(f"{where} chained action")
            for key in keys:
                visit(obj[key], f"{where}{key}")
        elif isinstance(obj, Array):
            for i, item in enumerate(obj):
                visit(item, f"{where}[{i}]")

    for obj in pdf.objects:
        visit(obj, f"obj{obj.objgen if obj.is_indirect else ''}")
    visit(pdf.trailer, "trailer")
    return found


def web_links(pdf: pikepdf.Pdf) -> list[bytes]:
    return [
        bytes(annot.A.URI)
        for page in pdf.pages
        for annot in page.obj.get("/Annots", [])
        if annot.get("/A") is not None and annot.A.get("/URI") is not None
    ]


# --- finding 3: actions on kept pages ------------------------------------------------------


def test_hostile_pdf_fixture_is_hostile(tmp_path: Path) -> None:
    with pikepdf.open(hostile_pdf(tmp_path / "hostile.pdf")) as pdf:
        assert len(hostile_things(pdf)) >= 12


def test_kept_page_loses_its_actions_keeps_its_text(tmp_path: Path) -> None:
    from mura.workers.pipeline.page import PageOptions, process_page

    source = hostile_pdf(tmp_path / "hostile.pdf")
    result = process_page(source, 0, tmp_path / "work", PageOptions(langs="kaz+rus"))
    assert not result.ocred  # kept as it is, with its own text
    assert "цифрлайды" in result.text and "оцифровывает" in result.text
    assert any("Removed 10 action" in w for w in result.warnings), result.warnings
    with pikepdf.open(result.pdf) as pdf, pikepdf.open(source) as original:
        assert hostile_things(pdf) == []
        assert web_links(pdf) == [b"https://example.org/kraeved"]
        assert pdf.pages[0].Contents.read_bytes() == original.pages[0].Contents.read_bytes()


def test_assembly_strips_every_page_and_the_catalog(tmp_path: Path) -> None:
    """A page PDF that reached the store some other way is cleaned when the document is made."""
    from mura.workers.pipeline.pdf import DocumentMeta, assemble_pdf

    hostile = hostile_pdf(tmp_path / "hostile.pdf")
    plain = typeset_pdf(tmp_path / "plain.pdf", pages=2)
    out = assemble_pdf([plain, hostile], tmp_path / "doc.pdf", DocumentMeta("T", [], ["kaz"]))
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
        assert hostile_things(pdf) == []
        assert web_links(pdf) == [b"https://example.org/kraeved"]


@pytest.mark.parametrize(
    ("uri", "kept"),
    [
        (b"https://example.org/a?b=c#d", True),
        (b"HTTP://EXAMPLE.ORG/", True),
        (b"http://", False),
        (b"http://example.org/a b", False),
        (b"http://example.org/\x00javascript:x", False),
        (b"\thttp://example.org/", False),
        (b"mailto:x@example.org", False),
        (b"data:text/html,<script>", False),
    ],
)
def test_only_plain_web_links_are_kept(uri: bytes, kept: bool) -> None:
    from mura.workers.pipeline.sanitize import strip_actions

    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        page = pdf.pages[0].obj
        page.Annots = Array([_link(pdf, Dictionary(S=Name.URI, URI=String(uri)), 20)])
        assert strip_actions(pdf) == (0 if kept else 1)
        assert web_links(pdf) == ([uri] if kept else [])


def test_outline_keeps_bookmarks_loses_scripts() -> None:
    """Mura writes no outline today; one added later keeps its page and web bookmarks only."""
    from mura.workers.pipeline.sanitize import strip_actions

    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        js = Dictionary(S=Name.JavaScript, JS=String("app.alert(1)"))
        goto = Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=js)
        web = Dictionary(S=Name.URI, URI=String("https://example.org/"))
        items = [
            pdf.make_indirect(Dictionary(Title=String(t), A=a))
            for t, a in (("page", goto), ("web", web), ("script", js))
        ]
        for item, following in zip(items, items[1:], strict=False):
            item.Next = following
        pdf.Root.Outlines = pdf.make_indirect(Dictionary(First=items[0], Last=items[-1]))
        assert strip_actions(pdf) == 2  # the script bookmark's action, the chained script
        assert hostile_things(pdf) == []
        assert [str(item.get("/A", {}).get("/S", "-")) for item in items] == ["/GoTo", "/URI", "-"]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_published_pdf_has_no_actions(stack: Stack, tmp_path: Path) -> None:
    source = hostile_pdf(tmp_path / "hostile.pdf")
    [kept] = stack.mura_json(
        "ingest", str(source), "--title", "Қауіпті", "--type", "book", "--lang", "kaz+rus",
        "--wait",
    )  # fmt: skip
    assert kept["status"] == "done" and kept["pages_failed"] == 0, kept
    with pikepdf.open(kept["pdf_path"]) as published:
        assert hostile_things(published) == []
        assert web_links(published) == [b"https://example.org/kraeved"]
    hits = stack.mura_json("search", "оцифровывает")
    assert any(h["document_id"] == kept["document_id"] for h in hits)


# --- finding 4: a small PDF that unfolds into millions of operators ------------------------


def q_bomb_pdf(out: Path, operators: int = 10_000_000) -> Path:
    """A typeset page whose content also holds ``operators`` ``q``/``Q`` (20 MB), compressed."""
    typeset_pdf(out)
    with pikepdf.open(out, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0].obj
        bomb = pikepdf.Stream(pdf, zlib.compress(b"q Q\n" * (operators // 2), 9))
        bomb.Filter = Name.FlateDecode
        page.Contents = Array([pdf.make_indirect(bomb), page.Contents])
        pdf.save(out)
    return out


def test_q_bomb_pdf_is_small(tmp_path: Path) -> None:
    assert q_bomb_pdf(tmp_path / "bomb.pdf").stat().st_size < 60_000


@pytest.mark.parametrize(
    ("operators", "why"),
    [(10_000_000, "unpacks to more than 16 MB"), (3_000_000, "1,000,000 drawing commands")],
)
@pytest.mark.parametrize("keep_text", [True, False])
def test_page_with_millions_of_operators_fails_quickly(
    tmp_path: Path, keep_text: bool, operators: int, why: str
) -> None:
    from mura.workers.pipeline.errors import TooComplex
    from mura.workers.pipeline.page import PageOptions, process_page

    source = q_bomb_pdf(tmp_path / "bomb.pdf", operators)
    started = time.perf_counter()
    with pytest.raises(TooComplex) as failure:
        process_page(source, 0, tmp_path / "work", PageOptions(keep_text=keep_text))
    assert time.perf_counter() - started < 5
    assert failure.value.code == "too_complex"
    assert failure.value.reason.startswith("Page 1 of the PDF is too complex to process")
    assert why in failure.value.reason


def test_content_that_unpacks_too_far_fails(tmp_path: Path) -> None:
    """A Flate bomb: 17 MB of one number (no operators at all) in a few kilobytes."""
    from mura.workers.pipeline.errors import TooComplex
    from mura.workers.pipeline.page import PageOptions, process_page

    source = typeset_pdf(tmp_path / "flate.pdf")
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        bomb = pikepdf.Stream(pdf, zlib.compress(b"1" * (17 * 1024 * 1024), 9))
        bomb.Filter = Array([Name.FlateDecode])
        pdf.pages[0].obj.Contents = Array([pdf.pages[0].obj.Contents, pdf.make_indirect(bomb)])
        pdf.save(source)
    with pytest.raises(TooComplex, match="unpacks to more than 16 MB"):
        process_page(source, 0, tmp_path / "work", PageOptions())


def test_forms_count_once_each_and_together(tmp_path: Path) -> None:
    """A form drawn 100 times is read once; 60 forms of 20,000 tokens are too many."""
    from mura.workers.pipeline.errors import TooComplex
    from mura.workers.pipeline.pdfinput import ContentBudget, check_content
    from mura.workers.pipeline.textpage import has_visible_text

    with pikepdf.new() as pdf:
        page = pdf.add_blank_page()
        forms = Dictionary()
        for i in range(60):
            form = pdf.make_stream(b"q Q\n" * 10_000, Type=Name.XObject, Subtype=Name.Form)
            form.BBox = Array([0, 0, 10, 10])
            forms[f"/Fm{i}"] = form
        page.Resources = Dictionary(XObject=forms)
        page.Contents = pdf.make_stream(b"/Fm0 Do\n" * 100)
        started = time.perf_counter()
        assert has_visible_text(page, ContentBudget(0)) is False
        assert time.perf_counter() - started < 2
        with pytest.raises(TooComplex):  # before rendering, every form counts (once)
            check_content(page, ContentBudget(0))
        page.Contents = pdf.make_stream(b"".join(b"/Fm%d Do\n" % i for i in range(60)))
        with pytest.raises(TooComplex):
            has_visible_text(page, ContentBudget(0))


@pytest.mark.parametrize(
    ("filters", "encode"),
    [
        ([], lambda data: data),
        ([Name.FlateDecode], lambda data: zlib.compress(data)),
        ([Name.ASCIIHexDecode], lambda data: data.hex().encode() + b">"),
        ([Name.ASCII85Decode, Name.FlateDecode], lambda data: a85(zlib.compress(data))),
        ([Name.RunLengthDecode], lambda data: run_length(data)),
    ],
)
def test_ordinary_content_is_unpacked_as_qpdf_does(filters: list, encode) -> None:
    from mura.workers.pipeline.pdfinput import ContentBudget, unpack_content

    content = b"BT /F1 12 Tf 72 700 Td (Hello, world) Tj ET\nq 1 0 0 1 0 0 cm Q\n" * 50
    with pikepdf.new() as pdf:
        if encode is None:  # let qpdf encode it
            stream = pdf.make_stream(content)
            stream.write(content, filter=Name.RunLengthDecode)
        else:
            stream = pikepdf.Stream(pdf, encode(content))
            if filters:
                stream.Filter = Array(filters)
        assert stream.read_bytes(pikepdf.StreamDecodeLevel.specialized) == content
        assert unpack_content(stream, ContentBudget(0)) == content


def a85(data: bytes) -> bytes:
    import base64

    return base64.a85encode(data) + b"~>"


def run_length(data: bytes) -> bytes:
    """PDF's RunLengthDecode, literal runs only (pikepdf does not encode it)."""
    runs = (
        bytes([len(data[i : i + 128]) - 1]) + data[i : i + 128] for i in range(0, len(data), 128)
    )
    return b"".join(runs) + b"\x80"


def pool_processes(worker_pid: int) -> list[int]:
    """The worker's child processes (its pool, and beat's process when it runs one)."""
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def address_space_limit(pid: int) -> str:
    """The soft 'Max address space' of a process, as /proc says it ('unlimited' or bytes)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return line.split()[3]
    raise AssertionError(f"no address-space line for {pid}")


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_bomb_fails_its_page_and_the_worker_goes_on(
    stack: Stack, corpus: Path, tmp_path: Path
) -> None:
    assert stack.worker is not None
    bomb = q_bomb_pdf(tmp_path / "bomb.pdf")
    started = time.monotonic()
    [failed] = stack.mura_json(
        "ingest", str(bomb), "--title", "Бомба", "--type", "book", "--wait", check=False
    )
    assert time.monotonic() - started < 60
    assert failed["pages_failed"] == 1, failed
    [failure] = failed["failures"]
    assert failure["code"] == "too_complex", failure
    assert "too complex to process" in failure["reason"]
    assert stack.worker.poll() is None  # the worker lives ...

    pool = pool_processes(stack.worker.pid)
    limited = [pid for pid in pool if address_space_limit(pid) == str(2048 * 1024 * 1024)]
    assert len(limited) >= 2, [(pid, address_space_limit(pid)) for pid in pool]
    assert address_space_limit(stack.worker.pid) == "unlimited"  # the main process is not

    # ... and takes the next job: a real scan, OCRed under the limit.
    page = copy_page(corpus, "p01_book.png", tmp_path)
    [done] = stack.mura_json(
        "ingest", str(page), "--title", "Келесі", "--type", "book", "--lang", "kaz", "--wait"
    )
    assert done["status"] == "done" and done["pages_failed"] == 0, done
    assert stack.worker.poll() is None
    peaks = [vm_peak_mib(pid) for pid in limited if Path(f"/proc/{pid}").exists()]
    print(f"pool processes' peak address space: {peaks} MiB (limit 2048)")


def vm_peak_mib(pid: int) -> int:
    """The peak address space of a process, in MiB (/proc/<pid>/status VmPeak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmPeak:"):
            return int(line.split()[1]) // 1024
    return 0


def test_memory_limit_is_set_in_each_pool_process(tmp_path: Path) -> None:
    """worker_process_init (what Celery sends in a new pool process) sets RLIMIT_AS there."""
    import multiprocessing

    from celery.signals import worker_process_init

    from mura.workers.celery_app import _settings, connect_worker_signals
    from tests.conftest import make_app

    app = make_app(tmp_path / "home", WORKER_MEMORY_LIMIT_MB=1536)
    assert _settings(app)["worker_max_memory_per_child"] == 1536 * 1024 // 2
    connect_worker_signals(app)
    before = resource.getrlimit(resource.RLIMIT_AS)

    def child(out) -> None:
        worker_process_init.send(sender=None)
        out.put(resource.getrlimit(resource.RLIMIT_AS))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    soft, hard = queue.get(timeout=30)
    process.join(30)
    assert soft == 1536 * 1024 * 1024
    assert hard == before[1]
    assert resource.getrlimit(resource.RLIMIT_AS) == before  # this process is untouched


def test_memory_limit_zero_means_none(tmp_path: Path) -> None:
    from mura.workers.memory import limit_address_space, recycle_after_kib

    assert limit_address_space(0) is None
    assert recycle_after_kib(0) is None


# --- finding 6: an 8 x 8 pixel TIFF frame ---------------------------------------------------


def tiff_with_a_tiny_frame(out: Path, corpus: Path) -> Path:
    """A two-page TIFF: a real page, then a frame of 8 x 8 pixels."""
    with Image.open(corpus / "p09_book_sans.png") as page:
        scan = page.convert("L")
    tiny = Image.new("L", (8, 8), 255)
    scan.save(out, save_all=True, append_images=[tiny], dpi=(300, 300), compression="tiff_lzw")
    return out


@pytest.mark.parametrize(
    ("size", "dpi", "code", "why"),
    [
        ((8, 8), None, "too_small", "8 x 8 pixels"),
        ((8, 8), (72, 72), "too_small", "8 x 8 pixels"),
        ((20, 2400), (600, 600), "too_small", "at least 1.06 mm a side"),
        ((60000, 40), (50, 50), "too_large", "at most 508 cm a side"),
    ],
)
def test_image_of_no_page_size_fails_with_a_reason(
    tmp_path: Path, size: tuple[int, int], dpi: tuple[int, int] | None, code: str, why: str
) -> None:
    from mura.workers.pipeline.errors import PageError
    from mura.workers.pipeline.page import PageOptions, process_page

    source = tmp_path / "odd.tif"
    Image.new("L", size, 255).save(source, **({"dpi": dpi} if dpi else {}))
    with pytest.raises(PageError) as failure:
        process_page(source, 0, tmp_path / "work", PageOptions())
    assert failure.value.code == code, failure.value
    assert why in failure.value.reason


def test_small_image_that_makes_a_page_is_processed(tmp_path: Path) -> None:
    from mura.workers.pipeline.page import PageOptions, process_page

    source = tmp_path / "stamp.tif"
    Image.new("L", (16, 16), 255).save(source, dpi=(72, 72))
    result = process_page(source, 0, tmp_path / "work", PageOptions())
    assert (result.width_pt, result.height_pt) == pytest.approx((16.0, 16.0))


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_tiny_tiff_frame_fails_alone_with_a_clear_reason(
    stack: Stack, corpus: Path, tmp_path: Path
) -> None:
    source = tiff_with_a_tiny_frame(tmp_path / "two.tif", corpus)
    [result] = stack.mura_json(
        "ingest", str(source), "--title", "Кішкентай", "--type", "book", "--wait", check=False
    )
    assert result["pages"] == 2 and result["pages_failed"] == 1, result
    [failure] = result["failures"]
    assert failure["page"] == 2 and failure["code"] == "too_small", failure
    assert "Internal error" not in failure["reason"]
    assert "8 x 8 pixels" in failure["reason"]


@pytest.mark.parametrize(
    ("locale", "complex_label", "small_label"),
    [
        ("kk", "Бет тым күрделі", "Сурет тым кішкентай"),
        ("ru", "Страница слишком сложная", "Изображение слишком маленькое"),
        ("en", "Page too complex", "Image too small"),
    ],
)
def test_new_failure_codes_have_translated_labels(
    app, locale: str, complex_label: str, small_label: str
) -> None:
    from flask import render_template_string
    from flask_babel import force_locale

    from mura.app.modules.digitization.jobs import UNREADABLE

    assert {"too_complex", "too_small"} <= set(UNREADABLE)  # a retry cannot mend them
    template = '{% from "_macros.html" import failure_label %}{{ failure_label(code) }}'
    with app.test_request_context(), force_locale(locale):
        assert render_template_string(template, code="too_complex").strip() == complex_label
        assert render_template_string(template, code="too_small").strip() == small_label
