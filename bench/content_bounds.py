"""What the PDF content bounds cost and save (issue 18, finding 4).

Before its content is parsed, a PDF page is unpacked with a bound and its tokens counted
(``workers/pipeline/pdfinput.py``). This prints, for each case, the time to decide whether the
page shows visible text (what ingest does first) and the peak memory of the process doing it,
each case in a fresh forked process:

* a typeset page (the common case: the bound's overhead),
* a page just under the limits (1,000,000 tokens: the most a page may make qpdf parse),
* the 21 KB page of 10 million ``q Q`` that took a worker to 3.2 GB (refused),
* a Flate bomb of 17 MB of one number (refused).

Run: ``./run bench content_bounds``.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
from pikepdf import Array, Name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script by ./run bench

from mura.workers.pipeline.errors import PageError  # noqa: E402
from mura.workers.pipeline.pdfinput import MAX_CONTENT_TOKENS, ContentBudget  # noqa: E402
from mura.workers.pipeline.textpage import has_visible_text  # noqa: E402


def _typeset(out: Path) -> Path:
    from fpdf import FPDF

    doc = FPDF(unit="pt", format=(419.53, 595.28))
    doc.add_font("DejaVuSerif", fname="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    doc.set_font("DejaVuSerif", size=9)
    doc.add_page()
    doc.multi_cell(w=0, h=12, text="Өлкетану бөлімі қолжазбаларды цифрлайды. " * 120)
    out.write_bytes(bytes(doc.output()))
    return out


def _with_content(out: Path, data: bytes) -> Path:
    _typeset(out)
    with pikepdf.open(out, allow_overwriting_input=True) as pdf:
        extra = pikepdf.Stream(pdf, zlib.compress(data, 9))
        extra.Filter = Name.FlateDecode
        page = pdf.pages[0].obj
        page.Contents = Array([pdf.make_indirect(extra), page.Contents])
        pdf.save(out)
    return out


def _measure(path: Path, queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    with pikepdf.open(path) as pdf:
        try:
            outcome = f"visible text: {has_visible_text(pdf.pages[0], ContentBudget(0))}"
        except PageError as exc:
            outcome = f"{exc.code}"
    seconds = time.perf_counter() - started
    queue.put((outcome, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    """Build each case, measure it in a fresh process, print a table."""
    folder = Path(tempfile.mkdtemp(prefix="mura-bench-bounds-"))
    near_limit = (MAX_CONTENT_TOKENS - 10_000) // 2
    cases: list[tuple[str, Callable[[], Path]]] = [
        ("typeset page", lambda: _typeset(folder / "typeset.pdf")),
        (
            f"{near_limit * 2:,} q/Q tokens",
            lambda: _with_content(folder / "near.pdf", b"q\nQ\n" * near_limit),
        ),
        ("10,000,000 q/Q (20 MB)", lambda: _with_content(folder / "q.pdf", b"q Q\n" * 5_000_000)),
        ("17 MB of one number", lambda: _with_content(folder / "fl.pdf", b"1" * 17_825_792)),
    ]
    context = multiprocessing.get_context("fork")
    print(f"{'case':<28} {'file':>9} {'outcome':<20} {'seconds':>8} {'peak RSS MiB':>13}")
    for name, build in cases:
        path = build()
        queue = context.Queue()
        process = context.Process(target=_measure, args=(path, queue))
        process.start()
        outcome, seconds, peak = queue.get()
        process.join()
        size = f"{path.stat().st_size / 1024:.0f} KB"
        print(f"{name:<28} {size:>9} {outcome:<20} {seconds:>8.2f} {peak:>13.0f}")


if __name__ == "__main__":
    main()
