"""Documented defaults. Every value can be overridden by a ``MURA_<NAME>`` environment variable.

The embedded default keeps everything under ``MURA_HOME`` (default ``./instance``): SQLite database,
file store, search index and the broker folder of the server-less Celery transport. Production sets
``MURA_DATABASE_URL=postgresql://...`` and ``MURA_BROKER_URL=redis://...`` and runs any number of
``mura worker`` processes on any number of machines that share ``MURA_STORE_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Where all state lives unless overridden below.
HOME = os.environ.get("MURA_HOME", "instance")
#: SQLAlchemy URL; empty means SQLite at MURA_HOME/mura.sqlite3.
DATABASE_URL = ""
#: Celery broker URL; empty means the embedded filesystem transport under MURA_HOME/broker.
BROKER_URL = ""
#: Content-addressed file store (scans, PDFs, OCR output). Must be shared by all workers.
STORE_DIR = ""
#: Search index directory and engine.
INDEX_DIR = ""
SEARCH_ENGINE = "whoosh"
#: Published pages past which the dashboard advises moving from Whoosh to tantivy: Whoosh keeps
#: p95 under 50 ms to 40,000 pages and under 90 ms at 100,000 ("Search at scale").
SEARCH_ADVICE_PAGES = 100_000
#: Scratch space for page work folders (local to each machine).
WORK_DIR = ""

#: File mode mask of every Mura process (web, worker, CLI), set when its app is made: what it
#: creates under MURA_HOME, the store, the index, the broker folder and backups is readable by
#: its own user only (files 0600, folders 0700; store objects 0400). They hold password
#: hashes, rights holders' identity and bank details, readers' e-mails. 0o027 lets a group
#: read (a backup user in Mura's group); in the environment MURA_UMASK=0o027.
UMASK = 0o077
#: Secret for sessions and CSRF; a random one is generated into MURA_HOME on first start.
SECRET_KEY = ""
#: OCR defaults.
DEFAULT_LANGS = "kaz+rus"
OCR_TIMEOUT_S = 300
#: A page whose lease expired is given back to the queue; after this many attempts it fails.
PAGE_LEASE_S = 600
PAGE_MAX_ATTEMPTS = 3
#: Sweeper period (seconds): re-sends lost page tasks, stalled assembly and indexing.
SWEEP_INTERVAL_S = 30
#: A page left `queued` for longer than this is sent again (lost message on embedded brokers).
QUEUED_RESEND_S = 120
#: Fixity (docs/backup.md): Celery beat re-hashes stored files every FIXITY_INTERVAL_S seconds,
#: at most FIXITY_BATCH_FILES per run, those not checked for FIXITY_CYCLE_DAYS days first.
FIXITY_INTERVAL_S = 3600
FIXITY_BATCH_FILES = 5000
FIXITY_CYCLE_DAYS = 30
#: Upload limits.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024 * 1024
MAX_PAGES_PER_JOB = 2000
#: Embedded worker started by `mura serve` on the embedded broker.
EMBEDDED_WORKER = True
#: Web processes of `mura serve` (gunicorn, pre-fork); 0: one per core when the rate limits
#: are shared (Redis), else one; 1: waitress alone.
WEB_WORKERS = 0
WORKER_CONCURRENCY = 2
#: Host name recorded on pages (``host:pid``); empty: the machine's. `mura worker --name`.
WORKER_NAME = ""
#: Address-space limit (MiB) of each worker pool process, and the tools it runs; 0: none.
#: A process still holding half of it after a page is replaced (workers/memory.py).
WORKER_MEMORY_LIMIT_MB = 2048
#: UI languages.
LANGUAGES = ["kk", "ru", "en"]
BABEL_DEFAULT_LOCALE = "kk"

SQLALCHEMY_DATABASE_URI = ""
SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
WTF_CSRF_TIME_LIMIT = None

# --- accounts and sessions (docs: administration) ---
#: The session cookie is sent over HTTPS only; None means "yes unless DEBUG or TESTING".
#: A site served over plain HTTP beyond this machine must set MURA_SESSION_COOKIE_SECURE=false.
SESSION_COOKIE_SECURE: bool | None = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
#: Staff sessions end after this many seconds without a request (a working day).
PERMANENT_SESSION_LIFETIME = 8 * 3600
#: Failed logins of an account from one address, then of the account from all addresses
#: together, before each further try waits (a growing delay, no lock-out); and of one client
#: address, whichever accounts, before it waits for the window's end
#: (repo_app/modules/administration/login_throttle.py).
LOGIN_LIMIT_PER_ACCOUNT_AND_IP = "5 per 15 minutes"
LOGIN_LIMIT_PER_ACCOUNT = "30 per 15 minutes"
LOGIN_LIMIT_PER_IP = "20 per 15 minutes"
#: Past the account's free failures: the first delay in seconds, doubled at each failure up to
#: the cap. No lock-out: the real user logs in after the delay, whoever typed the wrong passwords.
LOGIN_DELAY_SECONDS = 2
LOGIN_DELAY_MAX_SECONDS = 60
#: A temporary password set by an administrator stops working after this many hours.
TEMPORARY_PASSWORD_HOURS = 72
PASSWORD_MIN_LENGTH = 10
#: Reverse proxies in front of the app that set X-Forwarded-For (0: clients connect directly).
#: The login throttle and the audit log need the real client address.
PROXY_COUNT = 0
#: Where the login throttle counts: memory (one web process) or redis://... (several).
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_STRATEGY = "moving-window"
RATELIMIT_ENABLED = True
#: Public search (pages, API, IIIF search, the reader asked a query), page images and downloads
#: (PDF) per client address; staff are not limited (repo_app/web/limits.py).
#: Flask-Limiter syntax: "N per minute". A reader's page shows up to 40 thumbnails.
SEARCH_RATE_LIMIT = "60 per minute"
IMAGE_RATE_LIMIT = "600 per minute"
DOWNLOAD_RATE_LIMIT = "30 per minute"
#: IIIF tile requests that render (the first tile of a scale of a page makes that scale's tiles:
#: up to ~6 s of CPU for a 600 dpi newspaper page) per client address; cached tiles are free.
IIIF_RENDER_RATE_LIMIT = "20 per minute"
#: Tell clients their limit and when to come back (X-RateLimit-*, Retry-After).
RATELIMIT_HEADERS_ENABLED = True

# --- public addresses (docs/deployment.md) ---
#: The address the public reaches Mura at, e.g. https://e-lib.example.kz (with the path prefix
#: if Mura is served under one). Every absolute URL Mura publishes starts with it: IIIF ids, the
#: OAI baseURL and identifiers, permalinks and citations. Empty: the request's own host (one
#: machine, a demo), which a client can forge; set it on every server reached over a network.
PUBLIC_BASE_URL = ""
#: Host names the web app answers to; any other Host header gets 400 (Flask's TRUSTED_HOSTS).
#: A list, or in the environment a comma-separated string: MURA_TRUSTED_HOSTS=e-lib.example.kz,
#: localhost (".example.kz" also admits its subdomains). Empty with PUBLIC_BASE_URL set: its
#: host plus localhost and 127.0.0.1 (health checks on the machine itself); both empty: any.
TRUSTED_HOSTS: list[str] | str | None = None

# --- the library itself (docs/deployment.md) ---
#: The library's name in each interface language, its address, contact e-mail and phone: the
#: defaults of what administrators set at /admin/library or with `mura settings set` (stored in
#: the database, which wins). Shown in every page's header, title and footer, OAI-PMH Identify
#: (repositoryName, adminEmail), IIIF manifests and the annual report. No name: "Mura".
LIBRARY_NAME_KK = ""
LIBRARY_NAME_RU = ""
LIBRARY_NAME_EN = ""
LIBRARY_ADDRESS = ""
LIBRARY_EMAIL = ""
LIBRARY_PHONE = ""

# --- mail (docs/deployment.md) ---
#: The SMTP server Mura sends through; empty: no mail (readers are not offered it, staff are
#: told mail is not configured, "forgot password" is hidden). Port 0: 465 with SMTP_SSL, else
#: 587 with SMTP_STARTTLS, else 25. User and password only if the server wants a login.
SMTP_HOST = ""
SMTP_PORT = 0
SMTP_USER = ""
SMTP_PASSWORD = ""
#: STARTTLS after connecting (port 587), or TLS from the first byte (SMTP_SSL, port 465).
SMTP_STARTTLS = True
SMTP_SSL = False
SMTP_TIMEOUT_S = 30
#: The sender of every message, e.g. "Ulytau library <e-lib@library.kz>"; empty: the
#: library's e-mail (LIBRARY_EMAIL or the admin screen's).
MAIL_FROM = ""
#: A password-reset link works once, for this many minutes.
PASSWORD_RESET_MINUTES = 60
#: "Forgot password" requests per client address; and reset mails one address may receive
#: per hour (more requests are answered the same, and send nothing).
PASSWORD_RESET_LIMIT = "5 per hour"
PASSWORD_RESET_MAILS_PER_HOUR = 3

# --- the document workflow (repo_app/modules/digitization/workflow.py) ---
#: A document's OCR is checked by staff of its branch and approved by a reviewer before the
#: public sees it. False: a document is published as soon as its OCR is done (a one-person
#: library; MURA_REVIEW_REQUIRED=false). The worker applies it when a document's OCR is done:
#: give every machine the same value. Changing it moves no document that is already waiting.
REVIEW_REQUIRED = True

# --- rights and author contracts (docs/rights.md) ---
#: What a document with no mark of its own is treated as: "none" (only public domain and
#: contracts publish it: the correct setting for a library), "library_owned" or "public_domain"
#: (demos and tests about OCR and search, where rights are not the point).
DEFAULT_ACCESS = "none"
#: The library's own networks (reading rooms), as CIDR ranges; a list, or in the environment a
#: comma-separated string: MURA_READING_ROOM_NETWORKS=10.20.0.0/16,192.168.5.0/24. Behind a
#: reverse proxy set PROXY_COUNT too, or every client looks like the proxy.
READING_ROOM_NETWORKS: list[str] | str = []
#: The library's time zone: a contract's last day ends at midnight there.
RIGHTS_TIMEZONE = "Asia/Almaty"
#: The administrator's dashboard lists contracts that end within this many days.
CONTRACT_WARNING_DAYS = 30
#: How often (seconds) Celery beat runs the rights check (contract expiry, recomputation).
RIGHTS_CHECK_INTERVAL_S = 3600


def finalize(config: dict[str, Any]) -> None:
    """Fill the settings derived from ``HOME`` and make the folders they name."""
    config["UMASK"] = _apply_umask(config.get("UMASK", UMASK))
    home = Path(config["HOME"]).resolve()
    config["HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    _tighten(home, config["UMASK"])
    for key, sub in (("STORE_DIR", "store"), ("INDEX_DIR", "index"), ("WORK_DIR", "work")):
        if not config.get(key):
            config[key] = str(home / sub)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{home / 'mura.sqlite3'}"
    if config["DATABASE_URL"].startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        config["DATABASE_URL"] = "postgresql+psycopg://" + config["DATABASE_URL"][13:]
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config["DATABASE_URL"].startswith("sqlite"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    if not config.get("BROKER_URL"):
        config["BROKER_URL"] = "filesystem://"
    config["EMBEDDED_BROKER"] = config["BROKER_URL"].startswith("filesystem://")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(home)
    _public_addresses(config)


def _public_addresses(config: dict[str, Any]) -> None:
    """Check ``PUBLIC_BASE_URL`` and derive ``TRUSTED_HOSTS`` from it when not given."""
    from urllib.parse import urlsplit

    base = str(config.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
    parts = urlsplit(base)
    if base and (
        parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
    ):
        raise ValueError(
            f"MURA_PUBLIC_BASE_URL must be an http(s) address such as https://e-lib.example.kz, "
            f"not {base!r}"
        )
    config["PUBLIC_BASE_URL"] = base
    hosts = config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):
        hosts = [host.strip() for host in hosts.split(",") if host.strip()]
    if not hosts and base:
        hosts = [parts.hostname, "localhost", "127.0.0.1"]
    config["TRUSTED_HOSTS"] = list(hosts) if hosts else None


def _apply_umask(value: int | str) -> int:
    """Set the process's umask (an int, or "0o077"/"077" from the environment), before any file.

    Mura used to leave the default 022: its database, store and backups were world-readable
    (issue 18). The owner's own bits are never masked, or Mura could not read what it wrote.
    """
    mask = value if isinstance(value, int) else int(str(value).strip().removeprefix("0o"), 8)
    mask &= 0o077
    os.umask(mask)
    return mask


def _tighten(folder: Path, mask: int) -> None:
    """Take the masked bits off a MURA_HOME made before the umask: what is inside was 0644."""
    try:
        mode = folder.stat().st_mode & 0o7777
        if mode & mask:
            folder.chmod(mode & ~mask)
    except OSError:  # not ours (a shared folder set up by the administrator): leave it
        pass


def _instance_secret(home: Path) -> str:
    """Read, or create once, the secret key kept in MURA_HOME."""
    path = home / "secret_key"
    if not path.exists():
        import os
        import secrets

        tmp = home / f".secret_key.{os.getpid()}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic and never replaces: two starting processes agree
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
