"""Scale-out: the same job on one worker host, then on two, in network namespaces (root only).

Usage (from the repository root, as root)::

    ./run bench scale_out                  # 60 synthetic pages, 2 processes per host
    ./run bench scale_out --pages 200 -c 1

The cluster is the one of ``tests/test_scale_out.py`` (``tests/netns_helpers.py``): PostgreSQL
and Redis on a bridge address, each worker host in its own namespace reaching them over a veth,
the store a shared folder. Pages are the tiny synthetic ones of the fault tests (three printed
words), so the numbers show the queueing and the spread rather than Tesseract's speed. On this
2-core machine two "hosts" share the same two cores, so the wall time cannot halve: what the run
shows is that both hosts take pages and nothing is done twice. Results go to
``bench/out/scale_out.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import netns_helpers  # noqa: E402
from tests.synthetic import render_pages  # noqa: E402


def run(hosts: list[str], pages: list[Path], concurrency: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="mura-scale-") as folder,
        netns_helpers.cluster(Path(folder)) as cluster,
    ):
        cluster.mura("db", "upgrade")
        cluster.start_worker("host-a", "ocr,pdf,index,mura", concurrency, beat=True)
        if "host-b" in hosts:
            cluster.start_worker("host-b", "ocr", concurrency)
        started = time.monotonic()
        job = json.loads(
            cluster.mura(
                "ingest",
                *map(str, pages),
                "--title",
                "Scale-out",
                "--type",
                "book",
                "--lang",
                "eng",
                "--wait",
                "--json",
                timeout=1800,
            )  # fmt: skip
        )
        seconds = time.monotonic() - started
        spread = Counter(w.split(":")[0] for w in _workers(cluster, job["job_id"]))
    return {"hosts": hosts, "pages": len(pages), "seconds": round(seconds, 1),
            "pages_per_min": round(60 * len(pages) / seconds, 1), "spread": dict(spread),
            "status": job["status"]}  # fmt: skip


def _workers(cluster: netns_helpers.Cluster, job_id: int) -> list[str]:
    from mura.app import create_app
    from mura.app.extensions import db
    from mura.app.models import Page

    app = create_app(
        {"HOME": str(cluster.root / "web"), "DATABASE_URL": cluster.database_url,
         "BROKER_URL": cluster.broker_url, "SECRET_KEY": "x"}
    )  # fmt: skip
    with app.app_context():
        rows = list(db.session.scalars(db.select(Page.worker).where(Page.job_id == job_id)))
        db.session.remove()
        db.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("-c", "--concurrency", type=int, default=2)
    args = parser.parse_args()
    reason = netns_helpers.available()
    if reason:
        sys.exit(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory(prefix="mura-pages-") as folder:
        pages = render_pages(Path(folder), args.pages)
        results = [
            run(hosts, pages, args.concurrency) for hosts in (["host-a"], ["host-a", "host-b"])
        ]
    out = ROOT / "bench" / "out" / "scale_out.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    for r in results:
        print(f"{'+'.join(r['hosts']):<14} {r['pages']} pages in {r['seconds']:6.1f} s "
              f"({r['pages_per_min']} pages/min) spread {r['spread']} [{r['status']}]")  # fmt: skip


if __name__ == "__main__":
    main()
