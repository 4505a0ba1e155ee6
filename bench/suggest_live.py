"""What counting only live entries costs "did you mean", on both engines.

Since issue 18 the suggestion counts only the entries of documents still in the index (a
withdrawn document's words are in the engines' dictionaries until a merge). A segment without
deletions costs nothing more; in one with deletions, Whoosh walks a found term's postings (at most
1,000) and tantivy recounts it with a search. This builds each engine's index of ``--pages``
pages of realistic OCR text (``bench/_ocr_text.py``, 10 pages a document) in one batch, times
``suggest`` on ``--queries`` one-letter typos of words of the text, removes 5% of the documents
(deletions in the segment) and times the same queries again.

    python bench/suggest_live.py [--pages 5000] [--queries 200]

Prints, per engine and state, the median, 95th percentile and maximum time per suggestion (ms)
and how many queries got one.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _ocr_text  # noqa: E402
from _ocr_text import Lexicon, PageText  # noqa: E402

from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, open_engine  # noqa: E402

PAGES_PER_DOCUMENT = 10
_WORD_RE = re.compile(r"[а-яәіңғүұқөһ]{7,}")


def typos(texts: dict[int, str], count: int, seed: int = 3) -> list[str]:
    """One-letter deletions of long Cyrillic words of the text (what "did you mean" is for)."""
    rng = random.Random(seed)
    words = sorted({w for text in texts.values() for w in _WORD_RE.findall(text.lower())})
    chosen = rng.sample(words, min(count, len(words)))
    out = []
    for word in chosen:
        i = rng.randrange(1, len(word) - 1)
        out.append(word[:i] + word[i + 1 :])
    return out


def timed(engine: object, queries: list[str]) -> tuple[list[float], int]:
    """Milliseconds per ``suggest`` call, and how many returned a suggestion."""
    times, found = [], 0
    for query in queries:
        started = time.perf_counter()
        found += engine.suggest(query) is not None  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
    return times, found


def figures(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered):6.2f}  p95 {p95:6.2f}  max {ordered[-1]:7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if "MURA_SHARED" in os.environ:  # the shared material elsewhere than ../shared
        _ocr_text.CORPUS = Path(os.environ["MURA_SHARED"]) / "corpus"
    make = PageText(Lexicon())
    texts = {page_id: make(page_id) for page_id in range(1, args.pages + 1)}
    documents = args.pages // PAGES_PER_DOCUMENT
    queries = typos(texts, args.queries)
    loader = lambda ids: {i: texts[i] for i in ids if i in texts}  # noqa: E731
    print(f"{args.pages} pages, {documents} documents, {len(queries)} queries; ms per suggestion")
    for kind in ENGINE_KINDS:
        with (
            tempfile.TemporaryDirectory() as folder,
            open_engine(kind, Path(folder), loader) as engine,
        ):
            engine.index_documents(
                (
                    DocumentEntry(d, f"Құжат {d}", [], "book", ["kaz"], None, 2000),
                    [
                        PageEntry(p, p - (d - 1) * PAGES_PER_DOCUMENT, texts[p])
                        for p in range((d - 1) * PAGES_PER_DOCUMENT + 1, d * PAGES_PER_DOCUMENT + 1)
                    ],
                )
                for d in range(1, documents + 1)
            )
            timed(engine, queries[:20])  # warm up
            before, found_before = timed(engine, queries)
            for d in range(1, documents + 1, 20):  # 5% withdrawn
                engine.remove_document(d)
            after, found_after = timed(engine, queries)
            print(f"{kind:8} no deletions    {figures(before)}  suggested {found_before}")
            print(f"{kind:8} 5% withdrawn    {figures(after)}  suggested {found_after}")


if __name__ == "__main__":
    main()
