"""Two worker hosts in their own network namespaces share one job; the servers are on a third.

Each host reaches PostgreSQL and Redis only over its veth (tests/netns_helpers.py), as separate
machines would; the store is a folder both see (an NFS mount in a real deployment). Pages record
``worker = host:pid``, with the host name given by ``mura worker --name``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from tests import netns_helpers
from tests.synthetic import render_pages

pytestmark = [pytest.mark.production, pytest.mark.timeout(300)]


def test_a_job_spreads_over_two_worker_hosts(tmp_path: Path) -> None:
    reason = netns_helpers.available()
    if reason:
        pytest.skip(reason)
    pages = render_pages(tmp_path / "pages", 24)
    with netns_helpers.cluster(tmp_path / "cluster") as cluster:
        cluster.mura("db", "upgrade")
        # One index writer: only host-a takes the `index` queue (and runs the sweeper).
        cluster.start_worker("host-a", "ocr,pdf,index,mura", beat=True)
        cluster.start_worker("host-b", "ocr")
        started = time.monotonic()
        out = cluster.mura(
            "ingest", *map(str, pages), "--title", "Scale-out", "--type", "book",
            "--lang", "eng", "--wait", "--json",
        )  # fmt: skip
        job = json.loads(out)
        elapsed = time.monotonic() - started
        assert job["status"] == "done" and job["pages_done"] == 24, job
        hosts = Counter(w.split(":")[0] for w in _workers(cluster, job["job_id"]))
        print(f"\n24 pages in {elapsed:.1f} s over {dict(hosts)}")
        assert set(hosts) == {"host-a", "host-b"}
        assert min(hosts.values()) >= 4  # both really worked, not one page by chance
        hits = [json.loads(line) for line in cluster.mura("search", "mura", "--json").splitlines()]
        assert [h["document_id"] for h in hits] == [job["document_id"]]


def _workers(cluster: netns_helpers.Cluster, job_id: int) -> list[str]:
    from mura.app import create_app
    from mura.app.extensions import db
    from mura.app.models import Page

    app = create_app(
        {"HOME": str(cluster.root / "web"), "DATABASE_URL": cluster.database_url,
         "BROKER_URL": cluster.broker_url, "TESTING": True, "SECRET_KEY": "x"}
    )  # fmt: skip
    with app.app_context():
        rows = db.session.scalars(db.select(Page.worker).where(Page.job_id == job_id)).all()
        db.session.remove()
        db.engine.dispose()
    return list(rows)
