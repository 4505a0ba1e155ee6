"""Load on the public site: 50 concurrent connections for 60 s against `mura serve` (waitress).

Usage (from the repository root)::

    ./run bench load_public                       # 10,000 pages, 50 connections, 60 s
    ./run bench load_public --pages 2000 --duration 10 --connections 10

The installation is built once under ``bench/out/load/home`` (reused by later runs): documents
of 50 pages of generated Kazakh OCR text (``bench/_ocr_text.py``), published (``access
online``, one shared PDF), indexed with Whoosh through ``mura reindex``'s own rebuild. Then
``mura serve --no-worker`` runs on 127.0.0.1 and Debian's ``wrk`` sends a mix of requests: a
third searches (one word, two words, a phrase, a prefix), a third document pages, a third the
home page and the JSON search API. Rate limits are off for the run (one client address would be
throttled by design: that is what they are for). Results (requests, errors, p50/p95/p99 ms) are
printed and written to ``bench/out/load/result-ENGINE.json``; ``--engine tantivy``
serves the same installation from a tantivy index.

Two more figures (issue 19): ``page_vs_engine``, the search page's time over the engine's own
search for the same queries, measured in this process (the page uncached, then from its cache:
the page should cost the engine plus a constant, whatever the number of matches), and
``memory``, the serving processes' RSS and PSS (``/proc/PID/smaps_rollup``) after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

OUT = ROOT / "bench" / "out" / "load"
PAGES_PER_DOC = 50

#: wrk picks a request at random from PATHS (filled in by main) and reports the percentiles.
WRK_SCRIPT = r"""
math.randomseed(7)
local paths = {%s}
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, ' ..
    '"write_errors": %%d, "status_errors": %%d, "timeouts": %%d, "p50_ms": %%.1f, ' ..
    '"p95_ms": %%.1f, "p99_ms": %%.1f, "max_ms": %%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def env_for(home: Path, engine: str = "whoosh") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(
        MURA_SEARCH_ENGINE=engine,
        MURA_HOME=str(home),
        MURA_SECRET_KEY="bench",
        MURA_DEFAULT_ACCESS="public_domain",
        MURA_RATELIMIT_ENABLED="false",
        MURA_EMBEDDED_WORKER="false",
    )
    return env


def build(home: Path, pages: int, engine: str) -> list[int]:
    """Create and index the installation (once per engine); return the document ids."""
    marker = home / f".built-{pages}"
    if marker.exists():
        ids = json.loads(marker.read_text())
        if not (home / f".indexed-{engine}").exists():
            _index(home, engine)
        return ids
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ.update(env_for(home))
    from _ocr_text import Lexicon, PageText

    from mura.app import create_app
    from mura.app.core import files
    from mura.app.extensions import db, upgrade_database
    from mura.app.models import Document, Page, ScanJob

    app = create_app()
    started = time.monotonic()
    with app.app_context():
        upgrade_database()
        pdf = files.keep_file(_tiny_pdf(home), "document_pdf", mime="application/pdf")
        scan = files.keep_file(_tiny_pdf(home), "scan", mime="application/pdf")
        db.session.commit()
        texts = PageText(Lexicon())
        ids: list[int] = []
        page_no = 0
        for number in range(pages // PAGES_PER_DOC):
            document = Document(
                title=f"Өлкетану жинағы {number + 1}", authors=["Сынақ Авторы"], doc_type="book",
                langs="kaz+rus", year=1950 + number % 70, access="online",
                access_reason="bench", pdf_file_id=pdf.id, page_count=PAGES_PER_DOC,
            )  # fmt: skip
            job = ScanJob(document=document, langs="kaz+rus", options={}, status="done")
            db.session.add_all([document, job])
            db.session.flush()
            for seq in range(1, PAGES_PER_DOC + 1):
                page_no += 1
                db.session.add(
                    Page(
                        job=job,
                        document_id=document.id,
                        seq=seq,
                        source_file_id=scan.id,
                        frame=0,
                        state="done",
                        text=texts(page_no),
                    )  # fmt: skip
                )
            ids.append(document.id)
            if number % 20 == 19:
                db.session.commit()
                print(f"  {page_no:,} pages in the database", file=sys.stderr)
        db.session.commit()
        print(f"database: {time.monotonic() - started:.0f} s", file=sys.stderr)
        db.engine.dispose()
    marker.write_text(json.dumps(ids))
    _index(home, engine)
    return ids


def _index(home: Path, engine: str) -> None:
    """Build the engine's index with `mura reindex` (the same bulk rebuild staff run)."""
    print(f"indexing ({engine})…", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "mura.app.cli", "reindex", "--engine", engine],
        env=env_for(home, engine), check=True, cwd=ROOT,
    )  # fmt: skip
    (home / f".indexed-{engine}").touch()


def _tiny_pdf(home: Path) -> Path:
    import pikepdf

    path = home / "tiny.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.save(path)
    return path


def request_paths(ids: list[int], seed: int = 3) -> list[str]:
    """A fixed mix of what readers ask."""
    from urllib.parse import quote

    from _ocr_text import Lexicon

    rng = random.Random(seed)
    words = Lexicon().base[:400]
    paths: list[str] = []
    for _ in range(60):
        one, two = rng.choice(words), rng.choice(words)
        paths += [
            f"/search?q={quote(one)}",
            f"/search?q={quote(one + ' ' + two)}",
            f"/search?q={quote(chr(34) + one + ' ' + two + chr(34))}",
            f"/search?q={quote(one[:4] + '*')}",
        ]
        doc = rng.choice(ids)
        paths += [f"/documents/{doc}"] * 4
        paths += ["/", "/", f"/api/search?q={quote(one)}", f"/documents/{rng.choice(ids)}"]
    return paths


def serve(
    home: Path, port: int, threads: int | None, engine: str, workers: int = 1
) -> subprocess.Popen:
    """``mura serve`` on the installation: ``workers`` processes (gunicorn when more than one)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mura.app.cli", "serve", "--no-worker", "--port", str(port),
         "--workers", str(workers), *(["--threads", str(threads)] if threads else [])],
        env=env_for(home, engine), stdout=subprocess.DEVNULL,
        stderr=(OUT / "server.log").open("w"),
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the server did not start (bench/out/load/server.log)")


def run_wrk(port: int, paths: list[str], connections: int, duration: int) -> dict:
    script = OUT / "mix.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    proc = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["errors"] = sum(result[k] for k in result if k.endswith("_errors")) + result["timeouts"]
    result["requests_per_s"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["wrk"] = proc.stdout
    return result


def page_vs_engine(home: Path, engine: str, paths: list[str], limit: int = 40) -> dict:
    """Time the search page and the engine's search for the same queries (in this process).

    Returns the median and total of each, and the ratio of the totals: page / engine, the page
    uncached (its answer cache cleared before each request) and cached (asked again).
    """
    import statistics
    from urllib.parse import parse_qs, urlsplit

    os.environ.update(env_for(home, engine))
    from mura.app import create_app
    from mura.app.modules.discovery import discovery
    from mura.app.modules.discovery import search as search_service

    searches = list(dict.fromkeys(p for p in paths if p.startswith("/search?")))[:limit]
    app = create_app()
    timings: dict[str, list[float]] = {"engine": [], "page": [], "page_cached": []}
    with app.app_context():
        client = app.test_client()
        search = search_service.get_engine()
        for path in searches:  # warm the searcher, as the load's first seconds do
            client.get(path)
        for path in searches:
            query = parse_qs(urlsplit(path).query)["q"][0]
            started = time.perf_counter()
            search.search(query, per_page=10)
            timings["engine"].append(time.perf_counter() - started)
            discovery.clear_cache()
            for name in ("page", "page_cached"):
                started = time.perf_counter()
                assert client.get(path).status_code == 200
                timings[name].append(time.perf_counter() - started)
        search.close()
    result: dict[str, float | int] = {"queries": len(searches)}
    for name, values in timings.items():
        result[f"{name}_median_ms"] = round(statistics.median(values) * 1000, 2)
        result[f"{name}_total_ms"] = round(sum(values) * 1000, 1)
    engine_total = sum(timings["engine"]) or 1e-9
    result["ratio_page_to_engine"] = round(sum(timings["page"]) / engine_total, 2)
    result["ratio_cached_page_to_engine"] = round(sum(timings["page_cached"]) / engine_total, 2)
    return result


def memory(pid: int) -> dict[str, float]:
    """RSS and PSS (MB) of a process and its descendants (a pre-forking server's workers)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(child) for child in task.read_text().split()]
    totals = {"rss_mb": 0.0, "pss_mb": 0.0}
    for each in pids:
        try:
            rollup = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            name, _, rest = line.partition(":")
            if name in ("Rss", "Pss"):
                totals[f"{name.lower()}_mb"] += int(rest.split()[0]) / 1024
    return {"processes": len(pids), **{k: round(v, 1) for k, v in totals.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per process (default: mura serve's)"
    )
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--engine", choices=["whoosh", "tantivy"], default="whoosh")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="web server processes (default: one per core, as `mura serve`; 1: waitress)",
    )  # fmt: skip
    parser.add_argument(
        "--home", type=Path, default=None,
        help="installation folder (default bench/out/load/home; one per size to keep both)",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk (./run bench installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    home = args.home or OUT / "home"
    ids = build(home, args.pages, args.engine)
    paths = request_paths(ids)
    load_before = os.getloadavg()[0]  # "at rest" is a claim: the 1-minute load before the run
    server = serve(home, args.port, args.threads, args.engine, args.workers)
    try:
        run_wrk(args.port, paths[:40], 4, 3)  # warm the searcher and the caches
        result = run_wrk(args.port, paths, args.connections, args.duration)
        result["memory"] = memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result.update(
        pages=args.pages,
        connections=args.connections,
        seconds=args.duration,
        engine=args.engine,
        workers=args.workers,
        load_average_before=load_before,
    )
    result["page_vs_engine"] = page_vs_engine(home, args.engine, paths)
    (OUT / f"result-{args.engine}.json").write_text(json.dumps(result, indent=1))
    print(result.pop("wrk"))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
