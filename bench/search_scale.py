"""Search at scale: build Whoosh and tantivy indexes of realistic OCR pages and time queries.

Usage (from the repository root)::

    ./run bench search_scale                                    # 10k, 40k and 100k pages
    ./run bench search_scale --sizes 1000000 --engines tantivy --no-stemming

For each size the page texts are generated once into a SQLite page-text store (as Mura's
database holds them), then each engine's index is built in its own process by the same bulk
write ``mura reindex`` uses (so peak memory is that engine's), and finally one process opens
every engine and times the same queries on them in turn, interleaved, so that other work on the
machine slows all engines alike and the ratios hold. Besides wall time, each query's CPU time
is recorded (what the wall time would be on an idle core; this machine is shared) and each build's
CPU seconds. A build stops adding pages after ``--max-build-minutes`` (30: the issue's limit for
Whoosh) and is measured as far as it got. Results go to ``bench/out/search/`` (``--summary
FILE...`` prints the tables of earlier runs; ``--reuse`` queries the indexes built before).

Query kinds (``--queries`` of each): a common word, a rare word, two words (AND), a two-word
phrase, a prefix (``кітап*``), a fuzzy word (``кітапхана~1``), and a common word filtered by a
collection; each timed with snippets (texts read from the page-text store) and without.

``--no-stemming`` indexes and searches folded words without stems (``Analyzer(stemming=False)``):
Mura's stemming analyses about 500 pages/s on one core, so a million pages would take over half
an hour before any engine sees them; the engines' query times do not depend on how the terms
were made, and unstemmed terms make a larger vocabulary, not a smaller one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _ocr_text import DocSpec, Lexicon, PageText, collection_names, layout  # noqa: E402

from mura.app.search import DocumentEntry, PageEntry  # noqa: E402
from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER, Analyzer  # noqa: E402
from mura.app.search.engine import open_index  # noqa: E402
from mura.app.search.rebuild import prepare_folder, sample_pages  # noqa: E402

OUT = ROOT / "bench" / "out" / "search"
KINDS = ("common", "rare", "and", "phrase", "prefix", "fuzzy", "filtered")
_SAMPLE_PAGES = 2_000
_WARMUP = 20
# A build stops adding pages after this long (the issue: Whoosh "as far as it finishes within
# 30 minutes"); the index is measured as far as it got.
_BUILD_MINUTES = 30.0


# --- the page-text store ------------------------------------------------------------------------


def ensure_texts(db_path: Path, pages: int, lexicon: Lexicon) -> None:
    """Generate page texts 1..``pages`` into the SQLite store (extending an earlier run)."""
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS pages (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    have = db.execute("SELECT COALESCE(MAX(id), 0) FROM pages").fetchone()[0]
    if have >= pages:
        return
    make = PageText(lexicon)
    started = time.monotonic()
    batch = 5_000
    for first in range(have + 1, pages + 1, batch):
        rows = [(n, make(n)) for n in range(first, min(first + batch, pages + 1))]
        db.executemany("INSERT INTO pages VALUES (?, ?)", rows)
        db.commit()
        _progress(f"texts {rows[-1][0]:,}/{pages:,}", started, rows[-1][0] - have, pages - have)
    db.close()


class TextStore:
    """The page-text store as the engines' ``TextLoader``: page texts by page id."""

    def __init__(self, db_path: Path) -> None:
        self._db = sqlite3.connect(db_path, check_same_thread=False)

    def __call__(self, page_ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(page_ids))
        rows = self._db.execute(f"SELECT id, text FROM pages WHERE id IN ({marks})", page_ids)
        return dict(rows)

    def range(self, first: int, last: int) -> list[str]:
        rows = self._db.execute("SELECT text FROM pages WHERE id BETWEEN ? AND ?", (first, last))
        return [text for (text,) in rows]


def no_texts(page_ids: Sequence[int]) -> dict[int, str]:
    """A loader without texts: the engine makes no snippets."""
    return {}


# --- building ------------------------------------------------------------------------------------


def entry(spec: DocSpec) -> DocumentEntry:
    return DocumentEntry(
        document_id=spec.document_id,
        title=spec.title,
        authors=list(spec.authors),
        doc_type=spec.doc_type,
        languages=list(spec.languages),
        collection=spec.collection,
        year=spec.year,
    )


def _document(spec: DocSpec, store: TextStore) -> tuple[DocumentEntry, list[PageEntry]]:
    texts = store.range(spec.first_page, spec.first_page + spec.page_count - 1)
    pages = [
        PageEntry(page_id=n, seq=seq, text=text)
        for seq, (n, text) in enumerate(zip(spec.page_numbers(), texts, strict=True), 1)
    ]
    return entry(spec), pages


def analyzer_for(stemming: bool) -> Analyzer:
    return DEFAULT_ANALYZER if stemming else Analyzer(stemming=False)


def build(
    kind: str, size: int, out: Path, max_minutes: float | None, stemming: bool = True
) -> dict:
    """Build one index (run in a child process); return its figures.

    The build stops adding documents after ``max_minutes`` and commits what it has: the index
    then holds fewer pages than asked, and the figures say how many.
    """
    lexicon = Lexicon()
    docs = layout(size, lexicon)
    store = TextStore(out.parent / "pages.sqlite")
    folder = out / f"index-{kind}-{size}"
    if folder.exists():
        _rmtree(folder)
    # As `mura reindex` does: the collection's common terms (grams) from a sample of its pages.
    by_id = {spec.document_id: spec for spec in docs}
    prepare_folder(
        folder,
        kind,
        sample_pages(list(by_id), lambda doc_id: _document(by_id[doc_id], store)),
        analyzer_for(stemming),
    )
    engine = open_index(kind, folder, store, analyzer=analyzer_for(stemming))
    started = time.monotonic()
    cpu_started = _cpu_seconds()
    done = [0, 0]  # pages, documents
    stopped: dict = {}

    def items() -> Iterator[tuple[DocumentEntry, list[PageEntry]]]:
        for spec in docs:
            yield _document(spec, store)
            done[0] += spec.page_count
            done[1] += 1
            elapsed = time.monotonic() - started
            if max_minutes and elapsed > max_minutes * 60 and done[0] < size:
                stopped.update(pages=done[0], minutes=elapsed / 60)
                return
            if done[0] % 20_000 < spec.page_count:
                _progress(f"{kind} {done[0]:,}/{size:,} pages", started, done[0], size)

    engine.index_documents(items())
    seconds = time.monotonic() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    engine.close()
    result = {
        "engine": kind,
        "pages": done[0],
        "documents": done[1],
        "seconds": seconds,
        "pages_per_s": done[0] / seconds,
        # CPU time of all the process's threads: pages per second on one idle core.
        "cpu_seconds": cpu_seconds,
        "pages_per_cpu_s": done[0] / cpu_seconds,
        "size_mb": _size_mb(folder),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if stopped:
        result["stopped"] = stopped
    return result


# --- queries -------------------------------------------------------------------------------------


def make_queries(store: TextStore, size: int, count: int, seed: int = 3) -> dict[str, list]:
    """Draw ``count`` queries of each kind from the pages of a collection of ``size`` pages."""
    rng = random.Random(seed)
    sample = [rng.randint(1, size) for _ in range(_SAMPLE_PAGES)]
    df: Counter[str] = Counter()
    for text in store(sample).values():
        df.update(set(DEFAULT_ANALYZER.terms(text)))
    common = [term for term, _ in df.most_common(100)]
    frequent = {term for term, n in df.items() if n >= _SAMPLE_PAGES // 100}
    long_common = [t for t, _ in df.most_common(500) if len(t) >= 7 and t.isalpha()]
    collections = collection_names()
    queries: dict[str, list] = {kind: [] for kind in KINDS}
    while min(len(q) for q in queries.values()) < count:
        text = store([rng.randint(1, size)]).popitem()[1]
        tokens = [token.text for token in DEFAULT_ANALYZER.tokens(text)]
        rare = [t for t in tokens if df[t] == 0 and t.isalpha()]
        mid = sorted({t for t in tokens if t in frequent})
        at = rng.randrange(len(tokens) - 1)
        candidates = {
            "common": rng.choice(common),
            "rare": rng.choice(rare) if rare else None,
            "and": " ".join(rng.sample(mid, 2)) if len(mid) >= 2 else None,
            "phrase": f'"{tokens[at]} {tokens[at + 1]}"',
            "prefix": rng.choice(long_common)[:5] + "*",
            "fuzzy": rng.choice(long_common) + "~1",
            "filtered": [rng.choice(common), _zipf_choice(rng, collections)],
        }
        for kind, query in candidates.items():
            if query is not None and len(queries[kind]) < count:
                queries[kind].append(query)
    return queries


def _zipf_choice(rng: random.Random, values: list[str]) -> str:
    return rng.choices(values, weights=[1 / (rank + 1) ** 1.1 for rank in range(len(values))])[0]


def time_queries(
    engines: list[str],
    size: int,
    out: Path,
    queries: dict[str, list],
    variants: Sequence[str] = ("snippets", "plain"),
    stemming: bool = True,
) -> dict:
    """Time every query on every engine, with and without snippets, interleaved."""
    store = TextStore(out.parent / "pages.sqlite")
    analyzer = analyzer_for(stemming)
    opened = {
        (kind, variant == "snippets"): open_index(
            kind,
            out / f"index-{kind}-{size}",
            store if variant == "snippets" else no_texts,
            analyzer=analyzer,
        )
        for kind in engines
        for variant in variants
    }
    rng = random.Random(5)
    load_before = os.getloadavg()
    timings: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    hits: dict[str, Counter[str]] = {}
    for kind, items in queries.items():
        for query in items[:_WARMUP]:
            for engine in opened.values():
                _run(engine, kind, query)
        for query in items:
            order = list(opened.items())
            rng.shuffle(order)
            for (engine_kind, snippets), engine in order:
                seconds, cpu_seconds, total = _timed(
                    lambda e=engine, q=query, k=kind: _run(e, k, q)
                )
                key = f"{engine_kind}/{'snippets' if snippets else 'plain'}"
                timings.setdefault(key, {}).setdefault(kind, []).append(seconds)
                cpu.setdefault(key, {}).setdefault(kind, []).append(cpu_seconds)
                hits.setdefault(key, Counter())[kind] += total
    for engine in opened.values():
        engine.close()
    return {
        "latency_ms": {
            key: {kind: _percentiles(values) for kind, values in per_kind.items()}
            for key, per_kind in timings.items()
        },
        # CPU time of this process per query: what the wall time would be on an idle core
        # (the machine is shared; its load average is recorded beside).
        "cpu_ms": {
            key: {kind: _percentiles(values) for kind, values in per_kind.items()}
            for key, per_kind in cpu.items()
        },
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "mean_documents": {
            key: {kind: total / len(queries[kind]) for kind, total in counter.items()}
            for key, counter in hits.items()
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run(engine: object, kind: str, query: str | list) -> int:
    if kind == "filtered":
        word, collection = query
        return engine.search(word, filters={"collection": [collection]}).total  # type: ignore[attr-defined]
    return engine.search(query).total  # type: ignore[attr-defined]


def _timed(call: Callable[[], int]) -> tuple[float, float, int]:
    """Return the wall time and CPU time of ``call`` (all threads of this process), its result."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - started, time.process_time() - cpu_started, result


def _percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "max": max(values) * 1000}


# --- the run -------------------------------------------------------------------------------------


def analysis_rate(store: TextStore, size: int, stemming: bool) -> float:
    """Pages per second of Mura's analysis alone (the share of indexing no engine can speed up)."""
    texts = store.range(1, min(size, 2_000))
    analyzer = analyzer_for(stemming)
    started = time.monotonic()
    for text in texts:
        analyzer.index_terms(text, ["kaz"])
    return len(texts) / (time.monotonic() - started)


def run_size(
    size: int,
    engines: list[str],
    count: int,
    out: Path,
    build_minutes: float,
    variants: list[str],
    stemming: bool,
    reuse: bool = False,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    ensure_texts(out.parent / "pages.sqlite", size, Lexicon())  # shared by every size
    store = TextStore(out.parent / "pages.sqlite")
    queries_path = out / f"queries-{size}-{count}.json"
    if queries_path.exists():
        queries = json.loads(queries_path.read_text(encoding="utf-8"))
    else:
        queries = make_queries(store, size, count)
        queries_path.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    result: dict = {
        "pages": size,
        "analysis_version": ANALYSIS_VERSION,
        "stemming": stemming,
        "analysis_pages_per_s": analysis_rate(store, size, stemming),
        "builds": {},
    }
    flag = "stem" if stemming else "nostem"
    for kind in engines:
        built = out / f"build-{kind}.json"
        if reuse and built.exists() and json.loads(built.read_text())["stemming"] == stemming:
            result["builds"][kind] = json.loads(built.read_text(encoding="utf-8"))
            continue
        args = ["build", kind, str(size), str(out), flag, str(build_minutes)]
        result["builds"][kind] = _child(args)
    args = ["query", ",".join(engines), str(size), str(out), flag, ",".join(variants)]
    result["queries"] = _child(args)
    return result


def _child(args: list[str]) -> dict:
    """Run one step in a fresh process (its own peak memory); return its JSON result."""
    command = [sys.executable, __file__, "--child", *args]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(args: list[str]) -> None:
    step, kinds, size, out, flag, last = args
    stemming = flag == "stem"
    if step == "build":
        figures = build(kinds, int(size), Path(out), float(last) or None, stemming)
        figures["stemming"] = stemming
        (Path(out) / f"build-{kinds}.json").write_text(json.dumps(figures), encoding="utf-8")
        print(json.dumps(figures))
        return
    queries = json.loads(next(Path(out).glob(f"queries-{size}-*.json")).read_text("utf-8"))
    timings = time_queries(
        kinds.split(","), int(size), Path(out), queries, last.split(","), stemming
    )
    print(json.dumps(timings))


def print_table(results: list[dict]) -> None:
    """Print the figures as Markdown tables (latencies p50 / p95 / max in ms)."""
    for result in results:
        stems = "stemmed" if result["stemming"] else "not stemmed"
        print(
            f"\n### {result['pages']:,} pages (analysis v{result['analysis_version']}, {stems}: "
            f"{result['analysis_pages_per_s']:.0f} pages/s alone)\n"
        )
        print("| engine | pages | pages/s | pages/CPU-s | index MB | peak RSS MB | build s |")
        print("|---|---|---|---|---|---|---|")
        for kind, b in result["builds"].items():
            stopped = " (stopped)" if "stopped" in b else ""
            per_cpu = f"{b['pages_per_cpu_s']:.0f}" if "pages_per_cpu_s" in b else "?"
            print(
                f"| {kind} | {b['pages']:,}{stopped} | {b['pages_per_s']:.0f} | {per_cpu} | "
                f"{b['size_mb']:.0f} | {b['peak_rss_mb']:.0f} | {b['seconds']:.0f} |"
            )
        if "queries" not in result:
            continue
        queries = result["queries"]
        for title, name in (("wall time", "latency_ms"), ("CPU time", "cpu_ms")):
            figures = queries.get(name)
            if not figures:
                continue
            keys = sorted(figures)
            print(f"\n{title}, ms (p50 / p95 / max)\n")
            print("| query kind | " + " | ".join(keys) + " |")
            print("|---|" + "---|" * len(keys))
            for kind in KINDS:
                cells = [_cell(figures[key][kind]) for key in keys]
                print(f"| {kind} | " + " | ".join(cells) + " |")
        load = queries.get("load_average", {}).get("before", ["?"])[0]
        print(f"\nquery process peak RSS: {queries['peak_rss_mb']:.0f} MB; load average {load}")


def _cell(figures: dict[str, float]) -> str:
    return f"{figures['p50']:.1f} / {figures['p95']:.1f} / {figures['max']:.0f}"


def summary(paths: Sequence[Path]) -> None:
    """Print the tables of earlier runs' result files."""
    print_table([json.loads(path.read_text(encoding="utf-8")) for path in paths])


def _progress(label: str, started: float, done: int, total: int) -> None:
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed else 0
    print(f"  {label}  {rate:,.0f}/s  {elapsed:,.0f} s", file=sys.stderr, flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _rmtree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--summary":  # --summary RESULTS.json...
        summary([Path(arg) for arg in sys.argv[2:]])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,40000,100000", help="pages, comma-separated")
    parser.add_argument("--engines", default="whoosh,tantivy")
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind")
    parser.add_argument(
        "--max-build-minutes",
        type=float,
        default=_BUILD_MINUTES,
        help="stop adding pages after this long and measure the index as far as it got",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--variants", default="snippets,plain", help="with snippets, without, or both"
    )
    parser.add_argument(
        "--no-stemming", action="store_true", help="index folded words (see the module docs)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="query the indexes an earlier run built"
    )
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{size:,} pages", file=sys.stderr, flush=True)
        result = run_size(
            size,
            args.engines.split(","),
            args.queries,
            args.out / str(size),
            args.max_build_minutes,
            args.variants.split(","),
            not args.no_stemming,
            args.reuse,
        )
        results.append(result)
        (args.out / f"results-{size}.json").write_text(json.dumps(result, indent=1))
    print_table(results)


if __name__ == "__main__":
    main()
