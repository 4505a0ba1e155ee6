"""Fixity and preservation: stored files re-hashed, documents exported as BagIt bags and restored.

The fixity tests run in-process on SQLite (ingest keeps the scans; no worker is needed). The bag
round trip runs on both stacks: a real worker OCRs a small document, ``mura export`` writes the
bag, and ``mura import-bag`` restores it into an empty installation.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pikepdf
import pytest
from flask import Flask
from lxml import etree

from mura.app.core.files import get_store
from mura.app.extensions import db
from mura.app.models import Page, StoredFile
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
from mura.app.modules.preservation import fixity
from tests.conftest import ROOT, Stack, _stack_env
from tests.synthetic import render_pages, words_of

pytestmark = pytest.mark.timeout(600)


def _ingest_synthetic(tmp_path: Path, n: int = 3) -> list[StoredFile]:
    uploads = [Upload(p.name, io.BytesIO(p.read_bytes())) for p in render_pages(tmp_path, n)]
    job = ingest(uploads, DocumentFields("Fixity", "book", [], "eng"))
    return [page.source_file for page in job.pages]


def _tamper(app: Flask, row: StoredFile, data: bytes | None) -> None:
    path = get_store().local_path(row.sha256)
    path.chmod(0o644)
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


# --- fixity --------------------------------------------------------------------------------------


def test_fixity_finds_changed_and_missing_files(app: Flask, tmp_path: Path) -> None:
    first, second, third = _ingest_synthetic(tmp_path / "pages")
    report = fixity.check()
    assert (report.objects, report.ok, report.changed, report.missing) == (3, 3, 0, 0)
    assert report.bytes == sum(r.size for r in (first, second, third))
    assert all(r.check_result == "ok" and r.checked_at for r in (first, second, third))

    _tamper(app, first, b"one bit of rot")
    _tamper(app, second, None)
    report = fixity.check()
    assert (report.ok, report.changed, report.missing) == (1, 1, 1)
    found = {p.file_id: p for p in report.problems}
    assert found[first.id].result == "changed" and found[second.id].result == "missing"
    assert found[first.id].used_by == [f"document {first_doc(first)} page 1 (scan)"]


def first_doc(row: StoredFile) -> int:
    return db.session.scalar(db.select(Page.document_id).where(Page.source_file_id == row.id))


def test_fixity_due_checks_the_oldest_first_and_skips_recent(app: Flask, tmp_path: Path) -> None:
    rows = _ingest_synthetic(tmp_path / "pages")
    assert fixity.check(due_only=True, limit=2).objects == 2
    assert fixity.check(due_only=True).objects == 1  # only the one never checked
    assert fixity.check(due_only=True).objects == 0
    app.config["FIXITY_CYCLE_DAYS"] = 0
    assert fixity.check(due_only=True).objects == len(rows)


def test_two_fixity_runs_never_overlap(app: Flask, tmp_path: Path) -> None:
    _ingest_synthetic(tmp_path / "pages", 1)
    with fixity._run_lock(), pytest.raises(fixity.FixityRunning):
        fixity.check()


def test_the_dashboard_shows_fixity_problems(
    app: Flask,
    logged_in_client,
    tmp_path: Path,
) -> None:
    first, *_ = _ingest_synthetic(tmp_path / "pages")
    fixity.check()
    page = logged_in_client.get("/staff/").get_data(as_text=True)
    assert 'class="fixity fixity-ok' in page
    _tamper(app, first, b"rot")
    fixity.check()
    page = logged_in_client.get("/staff/").get_data(as_text=True)
    assert 'id="fixity" role="alert"' in page and first.sha256[:16] in page


def test_the_fixity_task_runs_and_is_scheduled(app: Flask, tmp_path: Path) -> None:
    from mura.workers.tasks import fixity_check

    _ingest_synthetic(tmp_path / "pages", 2)
    assert fixity_check.run()["objects"] == 2
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["fixity"]["task"] == "mura.workers.tasks.fixity_check"


def test_mura_fixity_json_and_exit_code(tmp_path: Path) -> None:
    from tests.conftest import make_app

    home = tmp_path / "home"
    application = make_app(home)
    with application.app_context():
        [row] = _ingest_synthetic(tmp_path / "pages", 1)
        db.engine.dispose()
    env = _stack_env(home, {})
    ok = _mura(env, "fixity", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] == 1
    path = home / "store" / "objects" / row.sha256[:2] / row.sha256[2:4] / row.sha256
    path.chmod(0o644)
    path.write_bytes(b"changed")
    bad = _mura(env, "fixity", "--json")
    assert bad.returncode == 1
    [problem] = json.loads(bad.stdout)["problems"]
    assert (problem["result"], problem["sha256"]) == ("changed", row.sha256)
    text = _mura(env, "fixity")
    assert "CHANGED" in text.stdout and "1 changed" in text.stdout


def _mura(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip


# --- BagIt export and import ---------------------------------------------------------------------


def test_bag_round_trip_into_an_empty_installation(stack: Stack, tmp_path: Path) -> None:
    pages = render_pages(tmp_path / "pages", 3)
    [job] = stack.mura_json(
        "ingest", *map(str, pages), "--title", "Бума <script>alert(1)</script>",
        "--type", "book", "--lang", "eng", "--wait",
    )  # fmt: skip
    assert job["status"] == "done", job
    doc_id = job["document_id"]
    bag_dir = tmp_path / "bag"
    [report] = stack.mura_json("export", str(doc_id), str(bag_dir))
    assert report["documents"] == [doc_id] and report["files"] == 3 * 5 + 1  # with ALTO

    # A valid bag with SHA-256 manifests, the files under data/, and its metadata.
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert "sha256" in bag.algorithms
    folder = bag_dir / "data" / "documents" / str(doc_id)
    for name in ("document.pdf", "scans/0001.png", "pages/0003.hocr", "pages/0002.txt"):
        assert (folder / name).is_file(), name
    assert (folder / "scans" / "0002.png").read_bytes() == pages[1].read_bytes()
    dc = etree.parse(str(folder / "metadata" / "dc.xml"))
    titles = dc.findall(".//{http://purl.org/dc/elements/1.1/}title")
    assert [t.text for t in titles] == ["Бума <script>alert(1)</script>"]
    mets = etree.parse(str(folder / "metadata" / "mets.xml"))
    ns = {"m": "http://www.loc.gov/METS/"}
    assert len(mets.findall(".//m:structMap/m:div/m:div[@TYPE='page']", ns)) == 3
    checksums = {f.get("CHECKSUM") for f in mets.findall(".//m:file", ns)}
    scan_sha = hashlib.sha256(pages[0].read_bytes()).hexdigest()
    assert scan_sha in checksums

    # Restored into an empty installation: same id, same bytes, fixity ok.
    home = tmp_path / "restored"
    env = _stack_env(home, {})
    restored = _mura(env, "import-bag", str(bag_dir), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["documents"] == {str(doc_id): doc_id}
    assert json.loads(_mura(env, "fixity", "--json").stdout)["ok"] == 3 * 4 + 1
    from tests.conftest import make_app

    app = make_app(home)
    with app.app_context():
        from mura.app.core.files import local_path
        from mura.app.models import Document

        doc = db.session.get(Document, doc_id)
        assert doc.title == "Бума <script>alert(1)</script>" and doc.page_count == 3
        pages_rows = sorted(doc_pages(doc_id), key=lambda p: p.seq)
        assert [words_of(p.seq) in (p.text or "") for p in pages_rows] == [True] * 3
        assert local_path(pages_rows[1].source_file).read_bytes() == pages[1].read_bytes()
        with pikepdf.open(local_path(doc.pdf_file)) as pdf:
            assert len(pdf.pages) == 3
        db.engine.dispose()


def doc_pages(document_id: int) -> list[Page]:
    return list(db.session.scalars(db.select(Page).where(Page.document_id == document_id)))


def test_a_tampered_bag_is_refused_and_nothing_is_restored(stack: Stack, tmp_path: Path) -> None:
    pages = render_pages(tmp_path / "pages", 1)
    [job] = stack.mura_json(
        "ingest", str(pages[0]), "--title", "Tamper", "--type", "book", "--lang", "eng", "--wait"
    )
    bag_dir = tmp_path / "bag"
    stack.mura("export", str(job["document_id"]), str(bag_dir))
    text = bag_dir / "data" / "documents" / str(job["document_id"]) / "pages" / "0001.txt"
    original = text.read_bytes()
    text.write_bytes(original.replace(b"Mura", b"Mvra"))  # same size: only the checksum tells
    assert text.read_bytes() != original
    home = tmp_path / "restored"
    env = _stack_env(home, {})
    refused = _mura(env, "import-bag", str(bag_dir))
    assert refused.returncode == 1
    assert "not a valid bag" in refused.stderr and "0001.txt" in refused.stderr
    from tests.conftest import make_app

    app = make_app(home)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StoredFile)) == 0
        db.engine.dispose()


def test_export_refuses_a_file_that_failed_fixity(app: Flask, tmp_path: Path) -> None:
    from mura.app.modules.preservation import preservation

    first, *_ = _ingest_synthetic(tmp_path / "pages", 1)
    _tamper(app, first, b"rot")
    target = tmp_path / "bag"
    with pytest.raises(preservation.PreservationError, match="failed its fixity check"):
        preservation.export_bag([first_doc(first)], target)
    assert not target.exists() and not list(tmp_path.glob(".bag*"))  # nothing half-written


def test_export_of_a_collection(app: Flask, tmp_path: Path) -> None:
    from mura.app.models import Collection
    from mura.app.modules.preservation import preservation

    db.session.add(Collection(slug="olketanu", title="Өлкетану"))
    db.session.commit()
    for i in range(2):
        uploads = [Upload(p.name, io.BytesIO(p.read_bytes()))
                   for p in render_pages(tmp_path / f"p{i}", 1)]  # fmt: skip
        ingest(uploads, DocumentFields(f"Doc {i}", "book", [], "eng", "olketanu"))
    report = preservation.export_bag(
        preservation.documents_of_collection("olketanu"), tmp_path / "bag", collection="olketanu"
    )
    assert len(report.documents) == 2
    info = json.loads((tmp_path / "bag" / "data" / "collection.json").read_text())
    assert info["title"] == "Өлкетану"
    bagit.Bag(str(tmp_path / "bag")).validate()
    assert os.access(tmp_path / "bag" / "bag-info.txt", os.R_OK)


# --- backup and restore (docs/backup.md) ---------------------------------------------------------


def _new_pg_database() -> str:
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL

    name = f"mura_bk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


@pytest.mark.parametrize(
    "kind", ["embedded", pytest.param("production", marks=pytest.mark.production)]
)
def test_backup_and_restore_as_documented(kind: str, tmp_path: Path) -> None:
    from tests.conftest import PG_ADMIN_URL, _drop_database, make_app
    from tests.synthetic import publish

    made: list[str] = []
    config: dict[str, str] = {"DEFAULT_ACCESS": "public_domain"}
    restored_config = dict(config)
    if kind == "production":
        made = [_new_pg_database(), _new_pg_database()]
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        config["DATABASE_URL"] = f"{base}/{made[0]}"
        restored_config["DATABASE_URL"] = f"{base}/{made[1]}"
    try:
        source = make_app(tmp_path / "live", **config)
        document_id = publish(source, tmp_path / "pages", "Backed up", count=2)
        with source.app_context():
            db.engine.dispose()
        (tmp_path / "live" / "secret_key").write_text("the instance's own secret")
        live_env = _stack_env(tmp_path / "live", config)
        first = _mura(live_env, "backup", str(tmp_path / "backups" / "1"), "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["objects"] == 2 * 4 + 1
        # The next night's backup links what did not change.
        second = _mura(live_env, "backup", str(tmp_path / "backups" / "2"), "--json",
                       "--previous", str(tmp_path / "backups" / "1"))  # fmt: skip
        assert json.loads(second.stdout)["linked"] == 2 * 4 + 1

        # The machine is lost: a new installation, the documented commands.
        new_env = _stack_env(tmp_path / "new", restored_config)
        restored = _mura(new_env, "restore", str(tmp_path / "backups" / "2"), "--json")
        assert restored.returncode == 0, restored.stderr
        hits = [
            json.loads(x)
            for x in _mura(new_env, "search", "mura", "--json").stdout.split("\n")
            if x
        ]
        assert [h["document_id"] for h in hits] == [document_id]
        check = _mura(new_env, "fixity", "--json")
        assert check.returncode == 0 and json.loads(check.stdout)["ok"] == 2 * 4 + 1
        assert (tmp_path / "new" / "secret_key").read_text() == (
            tmp_path / "live" / "secret_key"
        ).read_text()
        again = _mura(new_env, "restore", str(tmp_path / "backups" / "2"))
        assert again.returncode == 1 and "not empty" in again.stderr
    finally:
        for name in made:
            _drop_database(name)


def test_a_bag_keeps_the_review_state(app: Flask, tmp_path: Path) -> None:
    """A document returned by a reviewer must not come back published from its bag."""
    from mura.app.models import Document
    from mura.app.modules.preservation import preservation
    from tests.conftest import make_app

    uploads = [Upload(p.name, io.BytesIO(p.read_bytes())) for p in render_pages(tmp_path / "p", 1)]
    job = ingest(uploads, DocumentFields("Returned", "book", [], "eng"))
    doc = db.session.get(Document, job.document_id)
    doc.status, doc.review_comment = "returned", "Pages 3-4 are missing"
    db.session.commit()
    preservation.export_bag([doc.id], tmp_path / "bag")

    other = make_app(tmp_path / "other")
    with other.app_context():
        preservation.import_bag(tmp_path / "bag")
        restored = db.session.get(Document, job.document_id)
        assert (restored.status, restored.review_comment) == ("returned", "Pages 3-4 are missing")
        db.engine.dispose()
