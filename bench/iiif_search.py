"""IIIF Content Search on a 600-page document: what one request costs.

Usage (from the repository root)::

    ./run bench iiif_search                   # 600 pages, 5 runs of each query
    ./run bench iiif_search --pages 200 --runs 3

An installation is built once under ``bench/out/iiif/home`` (reused by later runs): one
published book of 600 pages of generated Kazakh OCR text (``bench/_ocr_text.py``), each page
with an hOCR file whose words are that text laid out in lines (about 300 words a page, as a
Tesseract page), indexed with Whoosh. Then the Flask test client asks the document's search
services as a viewer does (rate limits off), each query ``--runs`` times, and the wall time of
each request is printed (median and maximum, ms) with the number of matches and pages in the
answer. The queries: a common word (on nearly every page), a rarer word, two words, a word that
is nowhere (near misses are looked up), eight made-up 40-letter words (the most words a query
may have: each is expanded into near misses) and the pentest's twelve (refused, 400); each
through Content Search 2.0 (``/search``), 1.0 (``/search1``) and, for the first, the 2.0
answer's last page; then autocomplete (1.0) for three prefixes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

OUT = ROOT / "bench" / "out" / "iiif"


def _hocr(text: str) -> bytes:
    """An hOCR page of ``text``: one ``ocr_line`` per text line, word boxes 40 px high."""
    lines = []
    for y, line in enumerate(text.splitlines()):
        x = 100
        words = []
        for word in line.split():
            w = 22 * len(word)
            top = 120 + 48 * y
            words.append(
                f'<span class="ocrx_word" title="bbox {x} {top} {x + w} {top + 40}">'
                f"{escape(word)}</span>"
            )
            x += w + 18
        top = 120 + 48 * y
        lines.append(
            f'<span class="ocr_line" title="bbox 100 {top} 2400 0">{"".join(words)}</span>'
        )
    body = "\n".join(lines)
    return (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        f'<div class="ocr_page" title="bbox 0 0 2480 3508">{body}</div></body></html>'
    ).encode()


def build(home: Path, pages: int) -> int:
    """Create and index the installation once; return the document id."""
    marker = home / f".built-{pages}"
    if marker.exists():
        return int(marker.read_text())
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    from _ocr_text import Lexicon, PageText

    from mura.app import create_app
    from mura.app.cli import upgrade_database
    from mura.app.core import files
    from mura.app.extensions import db
    from mura.app.models import Document, Page, ScanJob
    from mura.app.modules.discovery import search as search_service

    app = create_app()
    started = time.monotonic()
    with app.app_context():
        upgrade_database()
        pdf = files.keep_file(_tiny_pdf(home), "document_pdf", mime="application/pdf")
        db.session.commit()
        texts = PageText(Lexicon())
        document = Document(
            title="Өлкетану жинағы", authors=["Сынақ Авторы"], doc_type="book",
            langs="kaz", year=1960, access="online", access_reason="bench",
            pdf_file_id=pdf.id, page_count=pages, status="published",
        )  # fmt: skip
        job = ScanJob(document=document, langs="kaz", options={}, status="done")
        db.session.add_all([document, job])
        db.session.flush()
        work = home / "hocr"
        work.mkdir()
        for seq in range(1, pages + 1):
            text = texts(seq)
            path = work / f"{seq:04d}.hocr"
            path.write_bytes(_hocr(text))
            hocr = files.keep_file(path, "hocr", mime="text/html")
            db.session.flush()
            db.session.add(
                Page(
                    job=job,
                    document_id=document.id,
                    seq=seq,
                    source_file_id=pdf.id,
                    frame=0,
                    state="done",
                    text=text,
                    hocr_file_id=hocr.id,
                    pdf_file_id=pdf.id,
                    width_pt=595.0,
                    height_pt=842.0,
                    dpi=300.0,
                )  # fmt: skip
            )
        db.session.commit()
        search_service.index_document(document.id)
        document_id = document.id
        print(f"built {pages} pages in {time.monotonic() - started:.0f} s", file=sys.stderr)
        db.engine.dispose()
    marker.write_text(str(document_id))
    return document_id


def _tiny_pdf(home: Path) -> Path:
    import pikepdf

    path = home / "tiny.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.save(path)
    return path


def queries(pages: int) -> dict[str, str]:
    """The queries asked: words chosen from the generated pages by frequency."""
    from collections import Counter

    from _ocr_text import Lexicon, PageText

    texts = PageText(Lexicon())
    on_pages: Counter[str] = Counter()
    for seq in range(1, pages + 1):
        on_pages.update(sorted({w.strip(".,").lower() for w in texts(seq).split() if len(w) > 4}))
    ranked = [w for w, _ in on_pages.most_common() if w.isalpha()]
    common = ranked[0]
    rarer = next(w for w, n in on_pages.most_common() if n < pages // 20 and w.isalpha())
    rng = random.Random(5)
    letters = "абвгдежзиклмнопрстуфхцчшыэюяқңғүұөһі"
    made_up = ["".join(rng.choice(letters) for _ in range(40)) for _ in range(12)]
    return {
        "common word": common,
        "rarer word": rarer,
        "two words": f"{common} {ranked[1]}",
        "a word nowhere": "қарағандықтандырылмағандар",
        "8 made-up 40-letter words": " ".join(made_up[:8]),
        "12 made-up 40-letter words": " ".join(made_up),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = OUT / "home"
    os.environ.update(
        MURA_HOME=str(home), MURA_SECRET_KEY="bench", MURA_RATELIMIT_ENABLED="false",
        MURA_EMBEDDED_WORKER="false", MURA_SEARCH_ENGINE="whoosh",
        MURA_DEFAULT_ACCESS="public_domain",
    )  # fmt: skip
    document_id = build(home, args.pages)
    from mura.app import create_app

    app = create_app()
    results = []
    with app.app_context():
        client = app.test_client()
        client.get(f"/iiif/{document_id}/manifest")  # warm up: imports, index, database
        for label, query in queries(args.pages).items():
            paths = [("2.0", "search", {}), ("1.0", "search1", {})]
            for version, route, extra in paths:
                times, matches, status = [], 0, 0
                for _ in range(args.runs):
                    started = time.perf_counter()
                    response = client.get(
                        f"/iiif/{document_id}/{route}", query_string={"q": query, **extra}
                    )
                    times.append(time.perf_counter() - started)
                    status = response.status_code
                    body = response.get_json(silent=True) or {}
                    matches = len(body.get("items", body.get("resources", [])))
                    last = (body.get("partOf") or body.get("within") or {}).get("last")
                row = {
                    "query": label,
                    "api": version,
                    "status": status,
                    "matches": matches,
                    "median_ms": round(statistics.median(times) * 1000, 1),
                    "max_ms": round(max(times) * 1000, 1),
                }
                results.append(row)
                print(
                    f"{label:28} {version}  {status}  {matches:4d} matches  "
                    f"median {row['median_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms",
                    flush=True,
                )
                if label == "common word" and version == "2.0" and last:
                    started = time.perf_counter()
                    client.get(last.split("localhost", 1)[1])
                    print(f"{'  its last answer page':28} 2.0  "
                          f"{(time.perf_counter() - started) * 1000:.1f} ms")  # fmt: skip
        for prefix in ("кі", "кітап", "жүйе"):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                body = client.get(
                    f"/iiif/{document_id}/autocomplete1", query_string={"q": prefix}
                ).get_json()
                times.append(time.perf_counter() - started)
            row = {
                "query": f"autocomplete {prefix}",
                "api": "1.0",
                "status": 200,
                "matches": len(body["terms"]),
                "median_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
            results.append(row)
            print(
                f"{row['query']:28} 1.0  200  {row['matches']:4d} terms    "
                f"median {row['median_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms",
                flush=True,
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "result.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
