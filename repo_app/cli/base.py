"""The ``mura`` command group: serve, worker, ingest, jobs, search, reindex, demo, ``db`` (Alembic).

Heavy imports stay inside the commands so ``mura --help`` is quick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup

from mura.app import create_app


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """Mura: digitize, OCR, describe and publish local-lore collections."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mura")


def _echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


@contextmanager
def _cli_locale() -> Iterator[None]:
    from flask_babel import force_locale

    with force_locale(current_app.config.get("CLI_LOCALE", "en")):
        yield
