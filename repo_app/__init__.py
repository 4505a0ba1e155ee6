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

from mura.app import config as default_config
from mura.app import paths


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Mura web application."""
    app = Flask(
        __name__,
        template_folder=str(paths.TEMPLATES),
        # Mura keeps its state in MURA_HOME, not in Flask's instance folder; naming one here
        # also spares Flask's search for it, which fails for a package inside a namespace
        # (``mura.app``) installed in editable mode.
        instance_path=str(paths.PACKAGE),
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

    from mura.app import extensions

    # The database first: everything after it may read settings or rows.
    extensions.init_app(app)

    from mura.app import modules, web

    modules.init_app(app)  # the services' own hooks: a worker gets them without any view
    web.init_app(app)
    return app
