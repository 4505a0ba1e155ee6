"""Fixtures: apps on a fresh MURA_HOME, and whole stacks with a real worker on a real broker.

Two stacks run the same end-to-end tests:
- ``embedded``: SQLite + kombu's filesystem broker (nothing to install), as ``mura demo`` runs;
- ``production``: PostgreSQL + Redis (this machine's servers), as a library deploys it.
A stack's worker is a separate ``mura worker`` process, so nothing of Celery is faked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MURA_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "pages"
PG_ADMIN_URL = os.environ.get("MURA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MURA_TEST_REDIS", "redis://127.0.0.1:6379/15")


#: The shared test material the suite needs (``../shared`` beside the checkout).
SHARED_NEEDED = (
    "corpus/pages/manifest.json", "bench/ocr_score.py", "marc", "search", "schemas/oai",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without the shared material rather than skip a third of the suite.

    A checkout cloned elsewhere (``git clone . /tmp/x``) has no ``../shared``; its tests used to
    skip the OCR, search and MARC tests one by one and still end green.
    """
    missing = [name for name in SHARED_NEEDED if not (SHARED / name).exists()]
    if missing:
        raise pytest.UsageError(
            f"shared test material missing under {SHARED}: {', '.join(missing)}. Place the "
            "checkout beside ../shared or set MURA_SHARED to its folder."
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared scanned-looking pages with exact ground truth."""
    return CORPUS


def _base_config(home: Path) -> dict:
    return {
        "HOME": str(home),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test",
        # Tests of OCR and search publish what they ingest; the rights tests set "none".
        "DEFAULT_ACCESS": "library_owned",
        # ... as soon as the OCR is done: tests/test_workflow.py turns the review on.
        "REVIEW_REQUIRED": False,
        # Assertions quote the English text; the i18n tests ask for kk and ru explicitly.
        "BABEL_DEFAULT_LOCALE": "en",
    }


_SQLITE_TEMPLATE: dict[str, Path] = {}


def _sqlite_template() -> Path:
    """A SQLite database migrated to head once per test session, copied for each new app.

    Running every migration for each test costs ~1.5 s; copying the file costs milliseconds.
    The migrations still run for real: once here, and on PostgreSQL in the stacks.
    """
    if "path" not in _SQLITE_TEMPLATE:
        import tempfile

        from mura.app import create_app
        from mura.app.extensions import db, upgrade_database

        home = Path(tempfile.mkdtemp(prefix="mura-template-"))
        app = create_app(_base_config(home))
        with app.app_context():
            upgrade_database()
            db.engine.dispose()
        _SQLITE_TEMPLATE["path"] = home / "mura.sqlite3"
    return _SQLITE_TEMPLATE["path"]


def make_app(home: Path, **overrides: object) -> Flask:
    """An app on ``home`` with the schema migrated to head."""
    from mura.app import create_app
    from mura.app.extensions import upgrade_database

    if "DATABASE_URL" not in overrides and not (home / "mura.sqlite3").exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), home / "mura.sqlite3")
    app = create_app({**_base_config(home), **overrides})
    with app.app_context():
        upgrade_database()  # at head already: a version check
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A fresh app on SQLite in tmp_path, with its embedded broker folder (no worker)."""
    application = make_app(tmp_path / "home")
    with application.app_context():
        yield application
        from mura.app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


# --- stacks with a real worker -------------------------------------------------------------------


@dataclass
class Stack:
    """A running installation: MURA_HOME, its settings as environment, and a worker process."""

    name: str
    home: Path
    env: dict[str, str]
    config: dict = field(default_factory=dict)
    worker: subprocess.Popen | None = None
    _app: Flask | None = None

    def mura(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run the ``mura`` command against this stack."""
        proc = subprocess.run(
            [sys.executable, "-m", "mura.app.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"mura {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def mura_json(self, *args: str, **kwargs: object) -> list[dict]:
        """Run ``mura ... --json`` and parse its JSON lines."""
        out = self.mura(*args, "--json", **kwargs).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    @property
    def app(self) -> Flask:
        """An in-process app on the same database and store (for assertions)."""
        if self._app is None:
            from mura.app import create_app

            self._app = create_app({**_base_config(self.home), **self.config})
        return self._app

    def start_worker(self, concurrency: int = 2) -> None:
        """Start ``mura worker`` and wait until it is ready."""
        self.worker_log = self.home / f"worker-{time.time_ns()}.log"
        with open(self.worker_log, "w") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "mura.app.cli", "worker", "-c", str(concurrency)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while "ready" not in self.worker_log.read_text():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.worker_log.read_text()}")
            time.sleep(0.2)

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        """Stop the worker (its whole process group: the pool children too)."""
        if self.worker is None or self.worker.poll() is not None:
            return
        os.killpg(self.worker.pid, sig)
        try:
            self.worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()


def _stack_env(home: Path, config: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env["MURA_HOME"] = str(home)
    env["MURA_SECRET_KEY"] = "test"
    env["OMP_THREAD_LIMIT"] = "1"
    env["MURA_DEFAULT_ACCESS"] = "library_owned"  # as in _base_config: these stacks test OCR
    env["MURA_REVIEW_REQUIRED"] = "false"  # and search, published without review
    for key, value in config.items():
        env[f"MURA_{key}"] = str(value)
    return env


def _embedded(home: Path) -> dict:
    return {}


def _production(home: Path) -> dict:
    psycopg = pytest.importorskip("psycopg")
    pytest.importorskip("redis")
    name = f"mura_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        broker = claim_redis_db()
    except Exception as exc:
        pytest.fail(
            f"production stack needs PostgreSQL and Redis ({PG_ADMIN_URL}, {REDIS_URL}): {exc}"
        )
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return {"DATABASE_URL": f"{base}/{name}", "BROKER_URL": broker, "_PG_DB": name}


_REDIS_CLAIM = "mura-test-claimed"


def claim_redis_db() -> str:
    """An empty database of the test Redis server, marked as this stack's (for an hour).

    Every production stack needs its own: stacks on one database share the queue names, so one
    stack's worker would take another's tasks and claim rows of the wrong database (several
    test runs, and the fault tests' own stacks, share this machine's Redis). With
    MURA_TEST_REDIS set, that database is used as it is.
    """
    import random

    import redis

    if "MURA_TEST_REDIS" in os.environ:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).flushdb()
        return REDIS_URL
    server = REDIS_URL.rsplit("/", 1)[0]
    numbers = [n for n in range(1, 16) if n != 14]  # 14: tests/test_rate_limits.py
    random.shuffle(numbers)
    for number in numbers:
        client = redis.Redis.from_url(f"{server}/{number}", socket_connect_timeout=5)
        try:
            if client.dbsize() == 0 and client.set(_REDIS_CLAIM, os.getpid(), nx=True, ex=3600):
                return f"{server}/{number}"
        finally:
            client.close()
    raise RuntimeError(f"no empty Redis database left on {server} for a test stack")


def release_redis_db(url: str) -> None:
    """Empty a database taken by :func:`claim_redis_db` (if Redis is up)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError:
        pass
    finally:
        client.close()


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["embedded", "production"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A whole installation with a running worker, once per kind for the session."""
    home = tmp_path_factory.mktemp(f"stack-{request.param}")
    config = {"embedded": _embedded, "production": _production}[request.param](home)
    pg_db = config.pop("_PG_DB", None)
    with running_stack(request.param, home, config, pg_db) as running:
        yield running


@contextlib.contextmanager
def running_stack(
    kind: str, home: Path, config: dict, pg_db: str | None, concurrency: int = 2
) -> Iterator[Stack]:
    """A migrated installation with its worker running; afterwards its database and Redis
    database are given back (the stacks of conftest and of the tests that need their own)."""
    running = Stack(kind, home, _stack_env(home, config), config)
    running.mura("db", "upgrade")
    running.start_worker(concurrency=concurrency)
    try:
        yield running
    finally:
        running.stop_worker()
        if running._app is not None:
            from mura.app.extensions import db

            with running._app.app_context():
                db.engine.dispose()
        if pg_db:
            _drop_database(pg_db)
        if kind == "production":
            release_redis_db(config["BROKER_URL"])


@pytest.fixture
def pages_dir(tmp_path: Path, corpus: Path) -> Path:
    """A folder to assemble upload files in (copies of corpus pages and broken files)."""
    folder = tmp_path / "upload"
    folder.mkdir()
    return folder


def copy_page(corpus: Path, name: str, dest: Path) -> Path:
    """Copy a corpus page into ``dest``."""
    target = dest / name
    shutil.copy(corpus / name, target)
    return target


# --- accounts: logged-in clients for the staff screens (tests/auth_helpers.py) ------------------

from tests.auth_helpers import logged_in_client, staff_user  # noqa: E402, F401

# --- discovery: a published library for the reader, IIIF and search tests (discovery_helpers) --
from tests.discovery_helpers import library  # noqa: E402, F401
