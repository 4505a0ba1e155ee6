"""Rate limits of the public site: search (pages, API, IIIF) and downloads, per client address.

One shared bucket per kind, so a scraper cannot double its share by switching from ``/search``
to ``/api/search``. Staff (logged in) are not limited. The limits are settings
(``SEARCH_RATE_LIMIT``, ``DOWNLOAD_RATE_LIMIT``); the counters live where
``RATELIMIT_STORAGE_URI`` says: memory for one web process (the embedded default), Redis when
several web processes or machines must share them. The limiter is the app's one instance
(``mura.app.extensions.limiter``), also used by the login throttle.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from mura.app.extensions import limiter


def _is_staff() -> bool:
    return bool(current_user and current_user.is_authenticated)


#: Decorator for views that search the public documents.
search = limiter.shared_limit(
    lambda: current_app.config["SEARCH_RATE_LIMIT"], scope="public-search", exempt_when=_is_staff
)
#: Decorator for views that send a document's file (PDF, page images).
download = limiter.shared_limit(
    lambda: current_app.config["DOWNLOAD_RATE_LIMIT"], scope="download", exempt_when=_is_staff
)
