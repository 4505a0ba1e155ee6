"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import PG_ADMIN_URL, make_app


def _diff(app) -> list:
    from mura.app.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    return diff


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    assert _diff(make_app(tmp_path)) == []


@pytest.mark.production
def test_postgresql_schema_matches_models(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    name = f"mura_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        assert _diff(make_app(tmp_path, DATABASE_URL=url)) == []
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
