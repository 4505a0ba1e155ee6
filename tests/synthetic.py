"""Tiny synthetic pages for fault and scale tests: 600 x 200 px, three printed words.

Tesseract reads one in ~0.2 s, so a 100-page job stays cheap on CI's two cores. Each page says
``Mura page N`` with its own number, so a test can tell which page a text came from and that no
page was lost or doubled.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def words_of(n: int) -> str:
    """The text printed on page ``n``."""
    return f"Mura page {n}"


def render_page(path: Path, n: int) -> Path:
    """Write page ``n`` as a 600 x 200 PNG at 300 dpi and return its path."""
    image = Image.new("L", (600, 200), 255)
    font = ImageFont.truetype(str(FONT), 44)
    ImageDraw.Draw(image).text((30, 70), words_of(n), font=font, fill=0)
    image.save(path, dpi=(300, 300))
    return path


def render_pages(folder: Path, count: int) -> list[Path]:
    """Pages 1..count as ``folder/page-NNN.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [render_page(folder / f"page-{n:03d}.png", n) for n in range(1, count + 1)]


def ingest_pages(folder: Path, title: str, count: int, user=None):
    """Upload ``count`` synthetic pages as one book (in an app context); returns the scan job."""
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    scans = [open(p, "rb") for p in render_pages(folder, count)]  # noqa: SIM115
    try:
        return ingest(
            [Upload(Path(s.name).name, s) for s in scans],
            DocumentFields(title, "book", ["Автор"], "eng"),
            options={"rotate": False, "deskew": False},
            user=user,
        )
    finally:
        for scan in scans:
            scan.close()


def run_job(job) -> None:
    """Run the job's real tasks in this process, as the workers would (no broker)."""
    from mura.workers import tasks

    for page in job.pages:
        assert tasks.ocr_page.run(page.id) == "processed"
    assert tasks.assemble_pdf.run(job.id) == "assembled"
    assert tasks.index_job.run(job.id) == "indexed"


def publish(app, folder: Path, title: str, count: int = 1) -> int:
    """Ingest ``count`` synthetic pages and run the real tasks in this process (no broker).

    The app must publish by default (``DEFAULT_ACCESS="public_domain"``). Returns the
    document id; the document is OCR'd, assembled, public and indexed.
    """
    from mura.app.extensions import db
    from mura.app.modules.rights import rights

    with app.app_context():
        job = ingest_pages(folder, title, count)
        document_id = job.document_id
        run_job(job)
        rights.refresh_rights([document_id])
        db.session.remove()
    return document_id
