"""Absolute URLs of what Mura publishes (IIIF ids, OAI baseURL and identifiers, citations).

With ``PUBLIC_BASE_URL`` set (``MURA_PUBLIC_BASE_URL=https://e-lib.example.kz``, docs/
deployment.md) every absolute URL starts with it, whatever ``Host`` the request came with:
a forged ``Host`` used to end up in IIIF manifests that shared caches keep and in the OAI
``baseURL`` that harvesters store (issue 18). Without it, the request's own host is used
(a single machine, a demo), which ``TRUSTED_HOSTS`` can restrict.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint``: on the public base URL when one is configured."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    # url_for starts with the mount point (SCRIPT_NAME); the base URL already names it.
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return base + path
