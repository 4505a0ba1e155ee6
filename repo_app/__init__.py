"""Mura: the Flask application factory.

Settings come from ``config.py`` defaults, then ``MURA_HOME/mura.cfg`` if present, then
``MURA_*`` environment variables, then ``test_config``. Extensions are created unbound in
``extensions.py`` and bound here in a fixed order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from repo_app import config as default_config


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Mura web application."""
    app = Flask(
        __name__,
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
        instance_relative_config=False,
    )
    app.config.from_object(default_config)
    app.config.from_prefixed_env(prefix="MURA")
    if test_config:
        app.config.update(test_config)
    default_config.finalize(app.config)
    cfg_file = Path(app.config["HOME"]) / "mura.cfg"
    if cfg_file.is_file() and not test_config:
        app.config.from_pyfile(str(cfg_file))
        app.config.from_prefixed_env(prefix="MURA")  # the environment always wins
        default_config.finalize(app.config)

    from repo_app import extensions

    # The database first: everything after it may read settings or rows.
    extensions.init_app(app)

    from repo_app import blueprints, services

    services.init_app(app)
    blueprints.init_app(app)
    return app
