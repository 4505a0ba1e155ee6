"""The domain, grouped by feature (as Indico's ``modules/<feature>/``): services, views, forms.

Each feature package holds its services (plain functions that hold the rules; views, tasks and
the CLI call them) and a ``views`` package (blueprints and forms) that only ``mura.app.web``
registers. This module wires what the services need, in one place, so a worker process that
loads no view still has every rule: docs/architecture.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Set up what the services need: Celery, the after-commit queue, the session hooks."""
    from mura.app.core import queue
    from mura.app.modules.catalogue import pdf_stamp, records
    from mura.app.modules.rights import rights
    from mura.workers.celery_app import celery_init_app

    celery_init_app(app)
    queue.init_app(app)
    rights.init_app(app)  # new documents get their computed access on insert
    records.init_app(app)  # deleted public documents leave an OAI tombstone
    pdf_stamp.init_app(app)  # a changed description re-stamps the PDF's metadata
