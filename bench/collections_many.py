"""Collection facets when documents are in several collections: what the sets cost Whoosh.

Usage (from the repository root)::

    ./run bench collections_many                       # 20,000 documents, 300 collections
    ./run bench collections_many --documents 100000

Builds two Whoosh indexes of the same one-page documents: in one every document is in one
collection, in the other a third of them are in two and a tenth in three (as thematic folders
overlap). Then times, on each: the first search after opening (which reads every entry's
collections into the vectorised facet columns), a common word with facet counts, and the same
word filtered by a collection. Prints a table; the ratio is what many-to-many costs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mura.app.search import DocumentEntry, PageEntry, open_engine

WORDS = ["кітапхана", "есеп", "оқырман", "қор", "жинақ", "тарих", "өлке", "шахта", "көмір", "қала"]


def _slugs(rng: random.Random, collections: int, overlap: bool) -> tuple[str, ...]:
    chosen = {f"c{rng.randrange(collections):04d}"}
    if overlap and rng.random() < 1 / 3:
        chosen.add(f"c{rng.randrange(collections):04d}")
    if overlap and rng.random() < 0.1:
        chosen.add(f"c{rng.randrange(collections):04d}")
    return tuple(sorted(chosen))


def _build(folder: Path, documents: int, collections: int, overlap: bool) -> float:
    rng = random.Random(7)
    items = []
    for doc_id in range(1, documents + 1):
        text = " ".join(rng.choices(WORDS, k=30))
        entry = DocumentEntry(
            doc_id, f"Құжат {doc_id}", [], "book", ["kaz"], _slugs(rng, collections, overlap), 2000
        )
        items.append((entry, [PageEntry(doc_id, 1, text)]))
    started = time.perf_counter()
    with open_engine("whoosh", folder, lambda ids: {}) as engine:
        engine.index_documents(items)
    return time.perf_counter() - started


def _time(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, overlap in (("one collection each", False), ("overlapping", True)):
            folder = Path(tmp) / label.replace(" ", "-")
            build = _build(folder, args.documents, args.collections, overlap)
            with open_engine("whoosh", folder, lambda ids: {}) as engine:
                started = time.perf_counter()
                first = engine.search("кітапхана", per_page=10)
                cold = (time.perf_counter() - started) * 1000
                facet = _time(lambda e=engine: e.search("кітапхана", per_page=10), args.repeat)
                filtered = _time(
                    lambda e=engine: e.search("кітапхана", filters={"collection": ["c0042"]}),
                    args.repeat,
                )
                values = len(first.facets["collection"])
            rows.append((label, build, cold, facet, filtered, first.total, values))
    print(f"{args.documents:,} documents, {args.collections} collections (Whoosh, vectorised)")
    print(
        "| index | build s | first search ms | search + facets ms | filtered ms | found | values |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, build, cold, facet, filtered, total, values in rows:
        print(
            f"| {label} | {build:.1f} | {cold:.0f} | {facet:.0f} | {filtered:.0f} "
            f"| {total:,} | {values} |"
        )


if __name__ == "__main__":
    main()
