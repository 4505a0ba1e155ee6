"""Rate limits of the public site: search and downloads, per client address, staff exempt."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from flask import Flask

from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.synthetic import publish

LIMITS = {
    "DEFAULT_ACCESS": "public_domain",
    "SEARCH_RATE_LIMIT": "3 per minute",
    "DOWNLOAD_RATE_LIMIT": "2 per minute",
}


@pytest.fixture
def limited(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "home", **LIMITS)
    yield app
    from mura.app.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_search_is_limited_per_address_across_page_and_api(limited: Flask) -> None:
    client = limited.test_client()
    for _ in range(3):
        assert client.get("/search?q=mura").status_code == 200
    refused = client.get("/search?q=mura")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Content-Security-Policy"]  # the error page has the headers too
    # One bucket for the page and the API: switching does not double the share.
    assert client.get("/api/search?q=mura").status_code == 429
    # Another reader is not punished for this one.
    other = limited.test_client()
    assert other.get("/search?q=mura", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_browsing_is_not_limited(limited: Flask) -> None:
    client = limited.test_client()
    for _ in range(10):
        assert client.get("/").status_code == 200


def test_downloads_are_limited(limited: Flask, tmp_path: Path) -> None:
    document_id = publish(limited, tmp_path / "pages", "Limited")
    client = limited.test_client()
    for _ in range(2):
        with client.get(f"/documents/{document_id}/pdf") as response:  # closes the file
            assert response.status_code == 200 and response.data.startswith(b"%PDF")
    with client.get(f"/documents/{document_id}/pdf") as response:
        assert response.status_code == 429


def test_staff_are_not_limited(limited: Flask) -> None:
    with limited.app_context():
        make_user("limitless")
    client = logged_in(limited, "limitless")
    for _ in range(6):
        assert client.get("/search?q=mura").status_code == 200


def test_limits_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MURA_SEARCH_RATE_LIMIT", "1 per hour")
    from mura.app import create_app

    app = create_app({"HOME": str(tmp_path / "home"), "TESTING": True, "SECRET_KEY": "t"})
    assert app.config["SEARCH_RATE_LIMIT"] == "1 per hour"


@pytest.mark.production
def test_web_processes_share_counters_in_redis(tmp_path: Path) -> None:
    """Two web processes (two apps) on one Redis count together (MURA_RATELIMIT_STORAGE_URI)."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        pytest.fail(f"needs Redis at {url}: {exc}")
    prefix = f"mura-test-{uuid.uuid4().hex[:8]}"
    config = {**LIMITS, "RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    first = make_app(tmp_path / "a", **config)
    clients = [first.test_client()]
    for _ in range(3):
        assert clients[0].get("/search?q=x").status_code == 200
    second = make_app(tmp_path / "b", **config)
    assert second.test_client().get("/search?q=x").status_code == 429
    redis.Redis.from_url(url).flushdb()
