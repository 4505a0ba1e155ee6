"""Domain services: plain functions that hold the rules. Views and the CLI call them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Set up what the services need: the Celery app, the after-commit task queue."""
    from repo_app.services import queue
    from workers.celery_app import celery_init_app

    celery_init_app(app)
    queue.init_app(app)
