"""The reader asked twelve made-up long words: the request that stalled the site (issue 18).

Usage (from the repository root)::

    ./run bench reader_bounds                        # 5,000 pages, both engines
    ./run bench reader_bounds --pages 2000 --engines tantivy --repeats 10
    PYTHONPATH=/tmp/old-tree python bench/reader_bounds.py --reuse   # the same on older code

One installation per engine under ``bench/out/reader_bounds/ENGINE``, built once (``--reuse``
queries it again): a real scanned page (``p01_book.png`` of the shared corpus) uploaded, OCR'd,
assembled and indexed by the real tasks, so the reader has its hOCR, beside a realistic small
collection of generated Kazakh OCR text (``bench/_ocr_text.py``: documents of 1-320 pages,
``--pages`` pages in all) indexed with the same engine, so the term dictionary the near misses
are looked up in has the vocabulary of a branch library.

Then, in this process (Flask's test client: the app's whole request, no HTTP server), each query
kind is asked ``--repeats`` times with new words each time: the reader page
``/read/<id>/1?q=...`` and the search page ``/search?q=...`` with 12 made-up words of 40 letters
(the penetration test's request) and of 18 letters (as long as real stems get), and a real word
with an OCR error for comparison. Printed: the engine's term lookups per request
(``doc_frequency`` calls, counted at the engines' own lookup functions), wall and CPU
milliseconds per request (median and max). Target: the 40-letter reader request under 0.3 s.

With ``--concurrent N`` (the penetration test used 16) the installation is then served by
``mura serve --no-worker`` (waitress, 16 threads, rate limits off) and N such reader requests
are sent at once while one other client loads ``/collections`` again and again: printed are the
slowest and median of the N, and the slowest ``/collections`` meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(ROOT))  # after PYTHONPATH: another tree may be measured

import _ocr_text  # noqa: E402
from _ocr_text import Lexicon, PageText, layout  # noqa: E402

#: The shared test material (MURA_SHARED, as for the tests; default: beside the repository).
if os.environ.get("MURA_SHARED"):
    _ocr_text.CORPUS = Path(os.environ["MURA_SHARED"]) / "corpus"
CORPUS = _ocr_text.CORPUS

OUT = ROOT / "bench" / "out" / "reader_bounds"
PAGE = "p01_book.png"
LETTERS = "абвгғдежзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
#: Ids of the generated documents and pages start here (the real one comes from the database).
OFFSET = 1_000_000

LOOKUPS: list[str] = []


def count_lookups() -> None:
    """Count every term the engines look up (near misses, suggestions), whoever asks."""
    from mura.app.search import tantivy_engine, whoosh_engine

    def counted(frequency: Callable[[str], int]) -> Callable[[str], int]:
        def lookup(term: str) -> int:
            LOOKUPS.append(term)
            return frequency(term)

        return lookup

    body = whoosh_engine._body_frequency
    whoosh_engine._body_frequency = lambda snapshot: counted(body(snapshot))
    tantivy_body = tantivy_engine.TantivyEngine._body_frequency
    tantivy_engine.TantivyEngine._body_frequency = staticmethod(
        lambda searcher: counted(tantivy_body(searcher))
    )
    for engine_class in (whoosh_engine.WhooshEngine, tantivy_engine.TantivyEngine):
        method = engine_class.doc_frequency
        engine_class.doc_frequency = lambda self, term, method=method: counted(  # type: ignore[method-assign]
            lambda t: method(self, t)
        )(term)


def make_app(home: Path, engine: str):
    from mura.app import create_app
    from mura.app.cli import upgrade_database

    home.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "HOME": str(home),
            "SECRET_KEY": "bench",
            "SEARCH_ENGINE": engine,
            "DEFAULT_ACCESS": "public_domain",
            "REVIEW_REQUIRED": False,
            "RATELIMIT_ENABLED": False,
            "EMBEDDED_WORKER": False,
        }
    )
    with app.app_context():
        upgrade_database()
    return app


def build(app, home: Path, pages: int) -> int:
    """Publish the real page and index the generated collection; return the real document."""
    marker = home / f".built-{pages}.json"
    if marker.exists():
        return json.loads(marker.read_text())["document_id"]
    from mura.app.extensions import db
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
    from mura.app.modules.discovery import search as search_service
    from mura.app.search import DocumentEntry, PageEntry
    from mura.workers import tasks

    started = time.monotonic()
    with app.app_context(), open(CORPUS / "pages" / PAGE, "rb") as scan:
        job = ingest(
            [Upload(PAGE, scan)],
            DocumentFields("Қарағанды кітапханалары", "book", ["Әлімжанов С."], "kaz"),
        )
        document_id, job_id, page_ids = job.document_id, job.id, [p.id for p in job.pages]
        for page_id in page_ids:
            assert tasks.ocr_page.run(page_id) == "processed"
        assert tasks.assemble_pdf.run(job_id) == "assembled"
        assert tasks.index_job.run(job_id) == "indexed"
        print(f"  real page OCR'd and indexed in {time.monotonic() - started:.0f} s", flush=True)
        lexicon = Lexicon()
        text = PageText(lexicon)

        def items():
            for spec in layout(pages, lexicon):
                entry = DocumentEntry(
                    OFFSET + spec.document_id,
                    spec.title,
                    list(spec.authors),
                    spec.doc_type,
                    list(spec.languages),
                    spec.collection,
                    spec.year,
                )
                page_entries = [
                    PageEntry(OFFSET + n, seq, text(n))
                    for seq, n in enumerate(spec.page_numbers(), 1)
                ]
                yield entry, page_entries

        search_service.get_engine().index_documents(items())
        db.session.remove()
    print(f"  {pages:,} generated pages indexed in {time.monotonic() - started:.0f} s", flush=True)
    marker.write_text(json.dumps({"document_id": document_id}))
    return document_id


def made_up(count: int, length: int, rng: random.Random) -> str:
    return " ".join("".join(rng.choice(LETTERS) for _ in range(length)) for _ in range(count))


def measure(app, document_id: int, repeats: int) -> list[dict]:
    client = app.test_client()
    kinds: list[tuple[str, str, Callable[[random.Random], str]]] = [
        ("reader", "12 words x 40 letters", lambda rng: made_up(12, 40, rng)),
        ("reader", "12 words x 18 letters", lambda rng: made_up(12, 18, rng)),
        ("reader", "1 real word, 1 OCR error", lambda rng: "кітапхаиа"),
        ("search", "12 words x 40 letters", lambda rng: made_up(12, 40, rng)),
        ("search", "12 words x 18 letters", lambda rng: made_up(12, 18, rng)),
    ]
    client.get(f"/read/{document_id}/1?q=кітапхана")  # warm: templates, searcher, hOCR
    client.get("/search?q=кітапхана")
    rows = []
    for view, kind, make in kinds:
        rng = random.Random(18)
        walls, cpus, lookups = [], [], []
        for _ in range(repeats):
            query = make(rng)
            url = f"/read/{document_id}/1" if view == "reader" else "/search"
            LOOKUPS.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, query_string={"q": query})
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert response.status_code == 200, response.status_code
            lookups.append(len(LOOKUPS))
        rows.append(
            {
                "view": view,
                "query": kind,
                "lookups": max(lookups),
                "wall_ms_median": round(statistics.median(walls) * 1000, 1),
                "wall_ms_max": round(max(walls) * 1000, 1),
                "cpu_ms_median": round(statistics.median(cpus) * 1000, 1),
            }
        )
    return rows


def concurrent(home: Path, engine: str, document_id: int, count: int, port: int = 5098) -> dict:
    """``count`` 12-long-words reader requests at once, served; ``/collections`` meanwhile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(
        MURA_HOME=str(home),
        MURA_SEARCH_ENGINE=engine,
        MURA_SECRET_KEY="bench",
        MURA_DEFAULT_ACCESS="public_domain",
        MURA_REVIEW_REQUIRED="false",
        MURA_RATELIMIT_ENABLED="false",
        MURA_EMBEDDED_WORKER="false",
    )
    import mura.app  # the server runs the code measured in this process, not the checkout's

    code = str(Path(mura.app.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "mura.app.cli", "serve", "--no-worker"]
    command += ["--port", str(port), "--threads", "16"]
    log = (OUT / f"server-{engine}.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=home)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/collections", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        rng = random.Random(16)
        urls = [
            f"{base}/read/{document_id}/1?" + urllib.parse.urlencode({"q": made_up(12, 40, rng)})
            for _ in range(count)
        ]

        errors: list[str] = []

        def timed(url: str) -> float:
            started = time.perf_counter()
            try:
                urllib.request.urlopen(url, timeout=300).read()
            except OSError as exc:  # HTTPError (a 500 when the database pool ran dry), timeouts
                errors.append(str(exc))
            return time.perf_counter() - started

        with ThreadPoolExecutor(count) as pool:  # warm every server thread (templates, hOCR)
            warm = f"{base}/read/{document_id}/1?" + urllib.parse.urlencode({"q": "кітапхана"})
            list(pool.map(timed, [warm] * count))

        stop = threading.Event()
        browsing: list[float] = []

        def browse() -> None:
            while not stop.is_set():
                browsing.append(timed(f"{base}/collections"))

        browser = threading.Thread(target=browse)
        browser.start()
        errors.clear()
        with ThreadPoolExecutor(count) as pool:
            times = list(pool.map(timed, urls))
        stop.set()
        browser.join()
    finally:
        server.terminate()
        server.wait(30)
    return {
        "requests": count,
        "reader_ms_median": round(statistics.median(times) * 1000),
        "reader_ms_max": round(max(times) * 1000),
        "collections_ms_max": round(max(browsing) * 1000),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--engines", default="whoosh,tantivy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="query the installations built before")
    parser.add_argument("--label", default="", help="a name for this run in the JSON file")
    parser.add_argument("--concurrent", type=int, default=0, help="N reader requests at once")
    args = parser.parse_args()
    import mura.app

    print(f"code: {Path(mura.app.__file__).parent}", flush=True)
    count_lookups()
    results = {}
    for engine in args.engines.split(","):
        home = OUT / engine
        if not args.reuse and home.exists():
            import shutil

            shutil.rmtree(home)
        print(f"{engine}: {args.pages:,} pages in {home}", flush=True)
        app = make_app(home, engine)
        document_id = build(app, home, args.pages)
        rows = measure(app, document_id, args.repeats)
        results[engine] = rows
        print(f"{'view':7} {'query':26} {'lookups':>8} {'wall ms':>9} {'max':>8} {'cpu ms':>8}")
        for row in rows:
            print(
                f"{row['view']:7} {row['query']:26} {row['lookups']:>8,} "
                f"{row['wall_ms_median']:>9.1f} {row['wall_ms_max']:>8.1f} "
                f"{row['cpu_ms_median']:>8.1f}",
                flush=True,
            )
        if args.concurrent:
            burst = concurrent(home, engine, document_id, args.concurrent)
            results[f"{engine}-concurrent"] = burst
            print(
                f"{burst['requests']} reader requests at once: median {burst['reader_ms_median']:,}"
                f" ms, slowest {burst['reader_ms_max']:,} ms; /collections meanwhile at most "
                f"{burst['collections_ms_max']:,} ms; {burst['errors']} errors",
                flush=True,
            )
    label = args.label or "run"
    (OUT / f"result-{label}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
