"""Re-stamping a PDF's metadata, and checking whether it needs it (issue 15 item 8).

Usage (from the repository root)::

    ./run bench restamp_pdf                  # 100- and 500-page documents
    ./run bench restamp_pdf --pages 50 1000

One page of the shared corpus (``p01_book.png``, a 300 dpi book page; a synthetic page when the
corpus is missing) is OCR'd by the real pipeline; its page PDF is joined ``--pages`` times by
the real assembly (``assemble_pdf``). Then it times, per size: the check every re-stamp and
every assembly start with (``stamp_in``: open the PDF, read Info and XMP), and a re-stamp
(``restamp_pdf``: new Info and XMP, the pages copied as they are). It prints seconds and MB/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mura.workers.pipeline.page import PageOptions, process_page  # noqa: E402
from mura.workers.pipeline.pdf import (  # noqa: E402
    DocumentMeta,
    assemble_pdf,
    restamp_pdf,
    stamp_in,
    stamp_of,
)
from tests.synthetic import render_pages  # noqa: E402

CORPUS_PAGE = (
    Path(os.environ.get("MURA_SHARED", ROOT.parent / "shared"))
    / "corpus"
    / "pages"
    / "p01_book.png"
)

META = DocumentMeta(
    title="Қарағанды тарихы. Т. 2",
    authors=["Бөкейханов, Әлихан"],
    languages=["kaz", "rus"],
    subject="Алматы, Қазақстан, 1995",
    identifier="mura:document:42",
    doc_type="book",
    keywords=["Тарих", "Өлкетану"],
    rights="http://creativecommons.org/publicdomain/mark/1.0/",
)


def _timed(call, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        scan = CORPUS_PAGE if CORPUS_PAGE.is_file() else render_pages(work / "scan", 1)[0]
        page = process_page(scan, 0, work / "page", PageOptions(langs="kaz+rus")).pdf
        print(f"page: {scan.name}, its PDF {page.stat().st_size / 1e3:.0f} KB")
        changed = DocumentMeta(**{**META.__dict__, "title": "Жаңа атау"})
        print(f"{'pages':>6} {'MB':>7} {'check s':>8} {'restamp s':>10} {'MB/s':>7}")
        for count in args.pages:
            document = assemble_pdf([page] * count, work / f"doc-{count}.pdf", META)
            size = document.stat().st_size / 1e6
            out = work / f"restamped-{count}.pdf"
            check = _timed(lambda d=document, m=changed: stamp_in(d) == stamp_of(m), args.repeat)
            stamp = _timed(lambda d=document, o=out, m=changed: restamp_pdf(d, o, m), args.repeat)
            assert stamp_in(out) == stamp_of(changed)
            print(f"{count:>6} {size:>7.1f} {check:>8.3f} {stamp:>10.3f} {size / stamp:>7.0f}")


if __name__ == "__main__":
    main()
