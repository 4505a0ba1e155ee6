"""Deep zoom on a 600 dpi newspaper page: what the IIIF Image API's tiles cost.

Usage (from the repository root)::

    ./run bench iiif_tiles

One published page, an A2 newspaper page scanned at 600 dpi (9,921 x 14,031 px, grayscale, made
with Pillow: lines of text over the whole page, stored as a JPEG inside its page PDF as Mura's
pipeline stores scans), in a fresh installation under ``bench/out/iiif-tiles/home`` (remade each
run). The Flask test client asks what a viewer asks: ``info.json``, a tile at full resolution
(scale factor 1: the first one makes all 560 tiles of that scale), another tile of that scale, a
tile at 1/4, the whole page at its largest size (2,600 px high), each twice (made, then from the
cache), and the reader's "1:1" page. Wall time per request in ms, the bytes sent, and the peak
memory of the process (the page PDF is made in a child process, not counted).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out" / "iiif-tiles"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
WIDTH, HEIGHT, DPI = 9921, 14031, 600


def newspaper_pdf(folder: Path) -> Path:
    """The page: 14 columns of text lines over the whole sheet, as a JPEG in a one-page PDF."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (WIDTH, HEIGHT), 235)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 42)
    line = "Қарағанды облыстық кітапханасы өлкетану бөлімі"
    for column in range(7):
        x = 200 + column * 1380
        for y in range(300, HEIGHT - 300, 60):
            draw.text((x, y), line[(y // 60) % 9 :][:30], font=font, fill=20)
    path = folder / "newspaper.pdf"
    image.save(path, "PDF", resolution=DPI, quality=85)
    return path


def main() -> None:
    if sys.argv[1:2] == ["--make-pdf"]:  # in a child, so that its memory is not counted below
        newspaper_pdf(Path(sys.argv[2]))
        return
    home = OUT / "home"
    shutil.rmtree(OUT, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ.update(
        MURA_HOME=str(home), MURA_SECRET_KEY="bench", MURA_RATELIMIT_ENABLED="false",
        MURA_EMBEDDED_WORKER="false", MURA_DEFAULT_ACCESS="public_domain",
    )  # fmt: skip
    from mura.app import create_app
    from mura.app.cli import upgrade_database
    from mura.app.core import files
    from mura.app.extensions import db
    from mura.app.models import Document, Page, ScanJob

    app = create_app()
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--make-pdf", str(OUT)], check=True)
    pdf_path = OUT / "newspaper.pdf"
    print(
        f"page PDF: {pdf_path.stat().st_size / 1e6:.1f} MB, "
        f"made in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    with app.app_context():
        upgrade_database()
        pdf = files.keep_file(pdf_path, "page_pdf", mime="application/pdf")
        db.session.flush()
        document = Document(
            title="Газет", authors=[], doc_type="newspaper_article", langs="kaz",
            access="online", access_reason="bench", pdf_file_id=pdf.id, page_count=1,
            status="published",
        )  # fmt: skip
        job = ScanJob(document=document, langs="kaz", options={}, status="done")
        db.session.add_all([document, job])
        db.session.flush()
        db.session.add(
            Page(
                job=job,
                document_id=document.id,
                seq=1,
                source_file_id=pdf.id,
                frame=0,
                state="done",
                text="",
                pdf_file_id=pdf.id,
                width_pt=WIDTH * 72 / DPI,
                height_pt=HEIGHT * 72 / DPI,
                dpi=float(DPI),
            )  # fmt: skip
        )
        db.session.commit()
        base = f"/iiif/image/{document.id}/1"
        client = app.test_client()
        requests = [
            ("info.json", f"{base}/info.json"),
            ("tile 1:1 (centre)", f"{base}/4608,6656,512,512/512,512/0/default.jpg"),
            ("another tile 1:1 (corner)", f"{base}/9728,13824,193,207/193,207/0/default.jpg"),
            ("tile 1:4", f"{base}/4096,6144,2048,2048/512,512/0/default.jpg"),
            ("whole page, 2600 px high", f"{base}/full/max/0/default.jpg"),
            ("reader at 1:1 (HTML)", f"/read/{document.id}/1?zoom=4"),
        ]
        for label, url in requests:
            for attempt in ("first", "again"):
                started = time.perf_counter()
                response = client.get(url)
                body = response.get_data()
                elapsed = (time.perf_counter() - started) * 1000
                response.close()
                print(
                    f"{label:26} {attempt:5}  {response.status_code}  "
                    f"{elapsed:8.1f} ms  {len(body) / 1000:8.1f} kB",
                    flush=True,
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (the web app's side): {peak:.0f} MB")


if __name__ == "__main__":
    main()
