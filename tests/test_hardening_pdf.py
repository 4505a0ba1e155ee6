"""Issue 18, findings 3 and 4 and the 8x8 TIFF: hostile PDFs and tiny images.

* A PDF page kept with its own text loses its actions, scripts, attached files and non-web
  links; the published document carries none of them, and the text stays.
* A tiny PDF whose content stream holds millions of operators fails its page quickly with a
  clear reason (code ``too_complex``), and the worker lives on; each pool process runs under
  an address-space limit (``MURA_WORKER_MEMORY_LIMIT_MB``).
* An image too small to be a page fails with code ``too_small``, not an internal error.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from tests.conftest import Stack

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
    from workers.pipeline.page import PageOptions, process_page

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
    from workers.pipeline.pdf import DocumentMeta, assemble_pdf

    hostile = hostile_pdf(tmp_path / "hostile.pdf")
    plain = typeset_pdf(tmp_path / "plain.pdf", pages=2)
    out = assemble_pdf([plain, hostile], tmp_path / "doc.pdf", DocumentMeta("T", [], ["kaz"]))
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
        assert hostile_things(pdf) == []
        assert web_links(pdf) == [b"https://example.org/kraeved"]


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
