"""One reader at a time: the public search page against the engine alone, per query kind.

Usage (from the repository root)::

    ./run bench public_page                          # 10,000 pages, both engines
    ./run bench public_page --pages 100000 --engines tantivy --queries 100

Uses the installation of ``bench/load_public.py`` (built once under ``bench/out/load/home``,
reused, indexed by ``mura reindex``). In one process, for the query kinds of ``bench
search_scale`` (a common word, a rare word, two words, a phrase, a prefix, a fuzzy word, a
common word with a filter), each query is asked twice in turn, in random order:

- **page**: ``GET /search?q=…`` through the whole Flask application (parsing, the engine, facets,
  database reads of the shown documents, the template), as a reader gets it;
- **engine**: ``engine.search(q)`` alone (the top ten with counts, facets and snippets).

It prints p50/p95 wall and CPU milliseconds of both, the ratio page/engine (the overhead of
everything around the engine), and a profile of the page requests of one kind (``--profile
KIND``, the functions with the most own time), so one can see where the rest goes. Results go
to ``bench/out/load/public_page-ENGINE.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_public  # noqa: E402

KINDS = ("common", "rare", "and", "phrase", "prefix", "fuzzy", "filtered")
_SAMPLE = 1_000


def page_texts(home: Path):
    """The page texts of the installation's database, by page id (as search_scale's store)."""
    conn = sqlite3.connect(home / "mura.sqlite3")

    def store(ids: list[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT id, text FROM pages WHERE id IN ({marks})", ids)
        return {row[0]: row[1] or "" for row in rows}

    return store


def make_queries(home: Path, pages: int, count: int, seed: int = 3) -> dict[str, list[dict]]:
    """``count`` queries of each kind, drawn from the installation's own pages."""
    from mura.app.search.analysis import DEFAULT_ANALYZER

    rng = random.Random(seed)
    store = page_texts(home)
    df: Counter[str] = Counter()
    for text in store([rng.randint(1, pages) for _ in range(_SAMPLE)]).values():
        df.update(set(DEFAULT_ANALYZER.terms(text)))
    common = [term for term, _ in df.most_common(100)]
    frequent = {term for term, n in df.items() if n >= _SAMPLE // 100}
    long_common = [t for t, _ in df.most_common(500) if len(t) >= 7 and t.isalpha()]
    queries: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    while min(len(q) for q in queries.values()) < count:
        texts = store([rng.randint(1, pages)])
        if not texts:
            continue
        words = texts.popitem()[1].split()
        if len(words) < 2:
            continue
        rare = [w for w in words if w.isalpha() and df[w.lower()] == 0]
        mid = sorted({w for w in words if w.lower() in frequent})
        at = rng.randrange(len(words) - 1)
        candidates = {
            "common": {"q": rng.choice(common)},
            "rare": {"q": rng.choice(rare)} if rare else None,
            "and": {"q": " ".join(rng.sample(mid, 2))} if len(mid) >= 2 else None,
            "phrase": {"q": f'"{words[at]} {words[at + 1]}"'},
            "prefix": {"q": rng.choice(long_common)[:5] + "*"},
            "fuzzy": {"q": rng.choice(long_common) + "~1"},
            "filtered": {"q": rng.choice(common), "doc_type": "book"},
        }
        for kind, query in candidates.items():
            if query is not None and len(queries[kind]) < count:
                queries[kind].append(query)
    return queries


def _timed(call) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - started, time.process_time() - cpu


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def run_engine(home: Path, engine_name: str, queries: dict[str, list[dict]], profile: str) -> dict:
    os.environ.update(load_public.env_for(home, engine_name))
    from mura.app import create_app
    from mura.app.modules.discovery import search as search_index

    app = create_app()
    client = app.test_client()
    with app.app_context():
        engine = search_index.get_engine()

        from mura.app.modules.discovery import discovery

        forget = getattr(
            discovery, "clear_cache", lambda: None
        )  # the answer cache, where it exists

        def page(query: dict) -> None:
            forget()  # every query's own work, not a cached answer
            response = client.get("/search?" + urlencode(query))
            assert response.status_code == 200, response.status_code

        def alone(query: dict) -> None:
            filters = {"doc_type": [query["doc_type"]]} if "doc_type" in query else None
            engine.search(query["q"], filters=filters)

        for query in queries["common"][:10]:  # open the searcher, fill the caches
            page(query)
            alone(query)
        figures: dict[str, dict] = {}
        for kind, items in queries.items():
            times: dict[str, list[tuple[float, float]]] = {"page": [], "engine": []}
            order = [(q, how) for q in items for how in ("page", "engine")]
            random.Random(5).shuffle(order)
            for query, how in order:
                times[how].append(
                    _timed(lambda q=query, h=how: (page if h == "page" else alone)(q))
                )
            figures[kind] = {
                how: {
                    "wall_p50": _p([w for w, _ in values], 50),
                    "wall_p95": _p([w for w, _ in values], 95),
                    "cpu_p50": _p([c for _, c in values], 50),
                    "cpu_p95": _p([c for _, c in values], 95),
                }
                for how, values in times.items()
            }
        profiler = cProfile.Profile()
        profiler.enable()
        for query in queries[profile]:
            page(query)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    return {
        "engine": engine_name,
        "kinds": figures,
        "profile_kind": profile,
        "profile": out.getvalue(),
        "memory_mb": _memory(),
    }


def _memory() -> dict[str, float]:
    """RSS and PSS of this process (a serving process's, after the queries), in MB."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            fields[name.lower()] = round(int(rest.split()[0]) / 1024, 1)
    return fields


def print_result(result: dict, pages: int) -> None:
    print(f"\n{result['engine']}, {pages:,} pages: p50 / p95 ms, wall (CPU)")
    print("| kind | page p50 | page p95 | engine p50 | engine p95 | page/engine p95 |")
    print("|---|---|---|---|---|---|")
    for kind, f in result["kinds"].items():
        page, eng = f["page"], f["engine"]
        ratio = page["wall_p95"] / eng["wall_p95"] if eng["wall_p95"] else float("nan")
        print(
            f"| {kind} | {page['wall_p50']:.1f} ({page['cpu_p50']:.1f}) | "
            f"{page['wall_p95']:.1f} ({page['cpu_p95']:.1f}) | "
            f"{eng['wall_p50']:.1f} ({eng['cpu_p50']:.1f}) | "
            f"{eng['wall_p95']:.1f} ({eng['cpu_p95']:.1f}) | {ratio:.1f}× |"
        )
    print(f"memory of the process: {result['memory_mb']}")
    print(f"\nprofile of the page, kind {result['profile_kind']!r} (own time):")
    print("\n".join(result["profile"].splitlines()[:40]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--engines", default="whoosh,tantivy")
    parser.add_argument("--queries", type=int, default=100, help="queries of each kind")
    parser.add_argument("--profile", choices=KINDS, default="common")
    parser.add_argument("--home", type=Path, default=None, help="installation (load_public's)")
    args = parser.parse_args()
    load_public.OUT.mkdir(parents=True, exist_ok=True)
    home = args.home or load_public.OUT / "home"
    for engine in args.engines.split(","):
        load_public.build(home, args.pages, engine)
    queries = make_queries(home, args.pages, args.queries)
    for engine in args.engines.split(","):
        result = run_engine(home, engine, queries, args.profile)
        result.update(pages=args.pages, load_average=os.getloadavg()[0])
        (load_public.OUT / f"public_page-{engine}-{args.pages}.json").write_text(
            json.dumps(result, indent=1)
        )
        print_result(result, args.pages)


if __name__ == "__main__":
    main()
