"""The ``mura`` command: serve, worker, ingest, jobs, search, reindex, demo, ``db`` (Alembic).

Heavy imports stay inside the commands so ``mura --help`` is quick.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from repo_app import create_app
from repo_app.models import DOC_TYPES, ROLES


def _create_app():  # noqa: ANN202
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """Mura: digitize, OCR, describe and publish local-lore collections."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mura")


def upgrade_database() -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from flask_migrate import upgrade

    upgrade(directory=str(Path(__file__).parent / "migrations"))


def _echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


@contextmanager
def _cli_locale() -> Iterator[None]:
    from flask_babel import force_locale

    with force_locale(current_app.config.get("CLI_LOCALE", "en")):
        yield


# --- processes -----------------------------------------------------------------------------------


def _worker_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "repo_app.cli", "worker", *extra]


def _die_with_parent() -> None:
    """In the worker before it starts (Linux): SIGTERM when its parent dies without stopping it."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's stop applies
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def embedded_worker(needed: bool) -> Iterator[subprocess.Popen | None]:
    """Run a worker beside this process while the block runs (embedded broker only).

    The worker gets its own session, so a signal sent to this process's group (a service
    manager, a terminal) reaches it only through the ``finally`` below, as one SIGTERM to its
    main process, which then stops its pool in order. Sent straight to the pool processes too,
    it killed them mid-task and left the worker hanging forever in billiard's pool shutdown,
    waiting for a queue lock a dead child held.
    """
    if not needed:
        yield None
        return
    proc = subprocess.Popen(
        _worker_command("--loglevel", "WARNING"),
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call, before exec
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not start the embedded worker.")
@with_appcontext
def serve(host: str, port: int, threads: int, no_worker: bool) -> None:
    """Serve the web app (waitress); on the embedded default, with a worker beside it."""
    upgrade_database()
    _serve(host, port, threads, no_worker)


def _serve(host: str, port: int, threads: int, no_worker: bool) -> None:
    import waitress

    app = current_app._get_current_object()  # noqa: SLF001
    want_worker = app.config["EMBEDDED_BROKER"] and app.config["EMBEDDED_WORKER"] and not no_worker
    # SIGTERM (systemd, docker, kill) ends waitress's loop as Ctrl-C does, so the embedded
    # worker is stopped on the way out instead of being left behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with embedded_worker(want_worker):
        click.echo(f"Mura on http://{host}:{port}/  (MURA_HOME={app.config['HOME']})")
        waitress.serve(app, host=host, port=port, threads=threads, ident="Mura")


@cli.command()
@click.option("-c", "--concurrency", type=int, help="Worker processes (default: config).")
@click.option("-Q", "--queues", default="ocr,pdf,index,mura", show_default=True)
@click.option(
    "--beat/--no-beat",
    default=None,
    help="Accepted for old units; unused: every worker runs the periodic sweeper.",
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--name", help="Host name recorded on pages (default: MURA_WORKER_NAME).")
@with_appcontext
def worker(
    concurrency: int | None, queues: str, beat: bool | None, loglevel: str, name: str | None
) -> None:
    """Run a Celery worker (any number, on any machine sharing the store and database)."""
    from workers.celery_app import connect_worker_signals

    app = current_app._get_current_object()  # noqa: SLF001
    if name:
        app.config["WORKER_NAME"] = name  # the pool's children are forked: they inherit it
    connect_worker_signals(app)
    host = app.config["WORKER_NAME"] or "%h"
    # `beat` is ignored: the sweeper, rights and fixity checks run in every worker, one worker
    # per round by a database lease (workers/periodic.py), so no worker is special. Celery beat
    # in a worker was also one more process to stop on SIGTERM.
    del beat
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency or app.config['WORKER_CONCURRENCY']}",
        f"--queues={queues}",
        f"--hostname=mura-{host}-{Path(app.config['HOME']).name}-{_pid()}",
    ]
    app.extensions["celery"].worker_main(argv)


def _pid() -> int:
    import os

    return os.getpid()


# --- ingest and jobs -----------------------------------------------------------------------------


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--title", required=True, help="Title of the document.")
@click.option("--type", "doc_type", required=True, type=click.Choice(DOC_TYPES))
@click.option("--authors", multiple=True, help="An author; repeat, or separate with ';'.")
@click.option("--lang", "langs", default="", help="OCR languages, e.g. kaz+rus (default).")
@click.option("--collection", help="Slug of the collection to put the document in.")
@click.option("--year", type=int, help="Year of publication.")
@click.option("--wait", is_flag=True, help="Wait for the job to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait at most.")
@click.option("--user", "username", help="Upload as this user (the job gets their branch).")
@with_appcontext
def ingest(
    files: tuple[Path, ...],
    title: str,
    doc_type: str,
    authors: tuple[str, ...],
    langs: str,
    collection: str | None,
    year: int | None,
    wait: bool,
    as_json: bool,
    timeout: int,
    username: str | None,
) -> None:
    """Create a document and scan job from page images (PNG, JPEG, TIFF, PDF)."""
    from repo_app.services.ingest import DocumentFields, IngestError, Upload
    from repo_app.services.ingest import ingest as do_ingest

    upgrade_database()
    user = _user_or_fail(username) if username else None
    names = [a.strip() for value in authors for a in value.split(";")]
    fields = DocumentFields(title, doc_type, names, langs, collection, year)
    streams = [open(path, "rb") for path in files]  # noqa: SIM115 (closed below)
    try:
        with _cli_locale():
            job = do_ingest(
                [Upload(p.name, s) for p, s in zip(files, streams, strict=True)], fields, user=user
            )
    except IngestError as exc:
        raise click.UsageError(exc.message) from exc
    finally:
        for stream in streams:
            stream.close()
    summary = _wait_for(job.id, timeout, not as_json) if wait else _describe(job.id)
    if as_json:
        _echo_json(summary)
    else:
        _print_job(summary)
    if summary["status"] == "failed":
        sys.exit(1)


def _describe(job_id: int) -> dict:
    from repo_app.extensions import db
    from repo_app.models import ScanJob
    from repo_app.services.job_status import describe_job

    db.session.expire_all()
    job = db.session.get(ScanJob, job_id)
    summary = describe_job(job)
    # Where the document is in the workflow (services/workflow.py): "scanned" while the OCR
    # runs, then "ocr_done" (waiting for review) or "published".
    summary["document_status"] = job.document.status
    return summary


#: Seconds between two looks at a job being waited for.
WAIT_POLL_S = 0.25


def _job_progress(job_id: int) -> tuple[str, int]:
    """The job's stage and its finished pages: two small queries, no page rows loaded."""
    from sqlalchemy import select

    from repo_app.extensions import db
    from repo_app.models import ScanJob
    from repo_app.services.jobs import page_counts

    stage = db.session.execute(select(ScanJob.status).where(ScanJob.id == job_id)).scalar_one()
    counts = page_counts(job_id)
    db.session.rollback()  # end the read transaction: the next look sees the workers' commits
    return stage, counts["done"] + counts["failed"]


def _wait_for(job_id: int, timeout: int, show_progress: bool) -> dict:
    from workers import heartbeat

    app = current_app
    need_worker = app.config["EMBEDDED_BROKER"] and not heartbeat.alive(Path(app.config["HOME"]))
    deadline = time.monotonic() + timeout
    summary = _describe(job_id)
    with embedded_worker(need_worker):
        bar = None
        if show_progress and sys.stderr.isatty():
            bar = click.progressbar(length=summary["pages_total"], label="OCR", file=sys.stderr)
        done = 0
        stage = summary["stage"]
        # Polling reads only the stage and page counts: describing a 500-page job each time
        # would load every page row, text included.
        while stage not in ("done", "failed"):
            if time.monotonic() > deadline:
                raise click.ClickException(f"job {job_id} still {stage} after {timeout} s")
            time.sleep(WAIT_POLL_S)
            stage, finished = _job_progress(job_id)
            if bar is not None and finished > done:
                bar.update(finished - done)
                done = finished
        if bar is not None:
            bar.render_finish()
    return _describe(job_id)


def _print_job(s: dict) -> None:
    click.echo(
        f"job {s['job_id']} document {s['document_id']} {s['status']} ({s['stage']}): "
        f"{s['pages_done']} done, {s['pages_failed']} failed, {s['pages_total']} pages"
    )
    for failure in s["failures"]:
        click.echo(f"  page {failure['page']}: {failure['reason']} [{failure['code']}]")
    if s["pdf_path"]:
        click.echo(f"  PDF: {s['pdf_path']}")
    if s["error"]:
        click.echo(f"  error: {s['error']}")


@cli.command()
@click.argument("job_id", required=False, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per job.")
@click.option("--limit", default=100, show_default=True)
@with_appcontext
def jobs(job_id: int | None, as_json: bool, limit: int) -> None:
    """List scan jobs with their state and pages done / failed / total."""
    from repo_app.extensions import db
    from repo_app.models import ScanJob
    from repo_app.services.job_status import describe_job, recent_jobs

    if job_id is not None:
        job = db.session.get(ScanJob, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id}")
        selected = [job]
    else:
        selected = recent_jobs(limit)
    for job in selected:
        summary = describe_job(job)
        _echo_json(summary) if as_json else _print_job(summary)


@cli.command()
@click.argument("job_id", type=int)
@click.option("--pages", default="", help="Pages to OCR again, e.g. '1,3-5' (default: all).")
@click.option("--lang", "langs", default="", help="Other OCR languages, e.g. kir+rus.")
@click.option(
    "--clean",
    is_flag=True,
    help="Clean dark or noisy scans before OCR and read them in grayscale (slower, more careful).",
)
@click.option(
    "--ocr-text-pages",
    is_flag=True,
    help="Also OCR PDF pages that have their own text (kept as they are by default).",
)
@click.option("--failed", is_flag=True, help="Only the failed pages.")
@click.option("--wait", is_flag=True, help="Wait for the job to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print the job as one JSON object.")
@with_appcontext
def reocr(
    job_id: int,
    pages: str,
    langs: str,
    clean: bool,
    ocr_text_pages: bool,
    failed: bool,
    wait: bool,
    as_json: bool,
) -> None:
    """OCR pages of a finished job again; hand corrections are kept."""
    from repo_app.extensions import db
    from repo_app.models import ScanJob
    from repo_app.services import jobs as job_service
    from repo_app.services.job_status import parse_page_list
    from repo_app.services.jobs import reocr_options
    from repo_app.services.languages import parse_langs

    job = db.session.get(ScanJob, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    try:
        seqs = parse_page_list(pages, len(job.pages)) if pages else None
        chosen = parse_langs(langs) if langs else None
    except ValueError as exc:
        raise click.UsageError(f"bad --pages or --lang: {exc}") from exc
    if failed:
        n = job_service.retry_failed_pages(job_id)
    else:
        n = job_service.reocr(job_id, seqs, chosen, reocr_options(clean, ocr_text_pages))
    if not n:
        raise click.ClickException(f"job {job_id}: nothing to OCR again (is it still running?)")
    summary = _wait_for(job_id, 3600, not as_json) if wait else _describe(job_id)
    _echo_json(summary) if as_json else _print_job(summary)


@cli.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per document.")
@click.option("--limit", default=10, show_default=True)
@with_appcontext
def search_command(query: str, as_json: bool, limit: int) -> None:
    """Search the public documents as a reader would."""
    from repo_app.services.search import search

    results = search(query, per_page=limit)
    for hit in results.hits:
        record = {
            "document_id": hit.document_id,
            "title": hit.title,
            "pages": hit.pages,
            "snippet": _plain(hit.snippet),
            "snippet_html": str(hit.snippet),
            "snippet_page": hit.snippet_page,
            "score": round(hit.score, 4),
        }
        if as_json:
            _echo_json(record)
        else:
            click.echo(
                f"[{hit.document_id}] {hit.title}  pages {hit.pages}\n    {record['snippet']}"
            )
    if not as_json:
        click.echo(f"{results.total} document(s)")


def _plain(markup: object) -> str:
    from markupsafe import Markup

    return Markup(str(markup)).striptags()


@cli.command()
@click.option(
    "--engine",
    "kind",
    type=click.Choice(["whoosh", "tantivy"]),
    help="Engine whose index to rebuild (default: MURA_SEARCH_ENGINE).",
)
@with_appcontext
def reindex(kind: str | None) -> None:
    """Rebuild the search index from the database into a new folder, then switch to it.

    Readers keep searching the old index meanwhile. To move to tantivy: run
    `mura reindex --engine tantivy`, then set MURA_SEARCH_ENGINE=tantivy and restart.
    """
    from repo_app.search.rebuild import RebuildRunningError
    from repo_app.services.search import public_document_ids, rebuild_index

    configured = current_app.config["SEARCH_ENGINE"]
    kind = kind or configured
    total = len(public_document_ids())
    with click.progressbar(length=total, label=f"Indexing ({kind})", file=sys.stderr) as bar:
        try:
            report = rebuild_index(kind, progress=bar.update)
        except RebuildRunningError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.documents} document(s) indexed into {report.directory} in "
        f"{report.seconds:.0f} s ({report.caught_up} written meanwhile, indexed again)"
    )
    if kind != configured:
        click.echo(f"MURA_SEARCH_ENGINE is {configured}: set it to {kind} and restart to use it.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the sample collection.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Create a small sample collection (rendered here) and serve it."""
    from repo_app.services.demo import create_demo_accounts, create_sample

    upgrade_database()
    with _cli_locale():
        accounts_made = create_demo_accounts()
        created = create_sample()
    click.echo(f"sample collection: {created} new document(s) queued for OCR")
    _print_demo_accounts(accounts_made)
    if not no_serve:
        _serve(host, port, 8, no_worker=False)


def _print_demo_accounts(made: list[tuple[str, str | None, str]]) -> None:
    """The demo's logins, printed so a person can try the staff screens (demo only)."""
    click.echo("")
    click.echo("Demo accounts (for trying Mura only; never on a public server):")
    for username, password, role in made:
        shown = password if password else "(unchanged: it existed before)"
        click.echo(f"  {role:<6} user: {username:<8} password: {shown}")
    click.echo("  log in at /login")
    click.echo("")


# --- users and branches (docs: administration) ---------------------------------------------------


def _user_or_fail(username: str):  # noqa: ANN202
    from repo_app.services.accounts import get_user

    user = get_user(username)
    if user is None:
        raise click.UsageError(f"no user {username!r} (see `mura users list`)")
    return user


def _read_password(from_stdin: bool) -> str:
    """A password from one line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@cli.group()
def users() -> None:
    """User accounts: create, list, set passwords."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--branch", "branch_code", help="Code of the user's branch (required for staff).")
@click.option("--name", "display_name", default="", help="Full name shown in the interface.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@with_appcontext
def users_create(
    username: str, role: str, branch_code: str | None, display_name: str, password_stdin: bool
) -> None:
    """Create an account; without --password-stdin a password is generated and printed.

    A generated password must be changed at the first login.
    """
    from repo_app.services import accounts

    upgrade_database()
    branch = None
    if branch_code:
        branch = accounts.get_branch(branch_code)
        if branch is None:
            raise click.UsageError(f"no branch {branch_code!r} (see `mura branches list`)")
    password = _read_password(True) if password_stdin else None
    try:
        with _cli_locale():
            user, generated = accounts.create_user(
                username, role, branch, password=password, display_name=display_name
            )
    except accounts.AccountError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"user {user.username} ({user.role}) created")
    if generated:
        click.echo(f"password: {generated}")
        click.echo("(to be changed at the first login)")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per user.")
@with_appcontext
def users_list(as_json: bool) -> None:
    """List the accounts with role, branch and state."""
    from repo_app.services import accounts

    for user in accounts.list_users():
        summary = accounts.user_summary(user)
        if as_json:
            _echo_json(summary)
            continue
        state = "active" if user.active else "deactivated"
        click.echo(
            f"{user.username:<24} {user.role:<9} {summary['branch'] or '-':<12} {state}"
            f"{'  (must change password)' if user.must_change_password else ''}"
        )


@users.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@click.option("--temporary", is_flag=True, help="The user must change it at the next login.")
@with_appcontext
def users_set_password(username: str, password_stdin: bool, temporary: bool) -> None:
    """Set a user's password (ends their sessions); e.g. when the last administrator forgot it."""
    from repo_app.extensions import db
    from repo_app.services import accounts, audit

    upgrade_database()
    user = _user_or_fail(username)
    password = _read_password(password_stdin)
    try:
        with _cli_locale():
            accounts.check_password_rules(password, user.username)
    except accounts.AccountError as exc:
        raise click.UsageError(exc.message) from exc
    accounts.set_password(user, password, temporary=temporary)
    audit.record("user.set_password", "user", user.id, username=user.username, temporary=temporary)
    db.session.commit()
    click.echo(f"password of {user.username} set")


@cli.group()
def branches() -> None:
    """Branch libraries of the system."""


@branches.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--central", is_flag=True, help="This is the central library.")
@click.option("--name-kk", default="", help="Name in Kazakh (default: NAME).")
@click.option("--name-ru", default="", help="Name in Russian (default: NAME).")
@click.option("--name-en", default="", help="Name in English (default: NAME).")
@with_appcontext
def branches_add(
    code: str, name: str, central: bool, name_kk: str, name_ru: str, name_en: str
) -> None:
    """Add a branch: CODE (Latin, for scripts) and NAME (shown where no translation is given)."""
    from repo_app.services import accounts

    upgrade_database()
    try:
        with _cli_locale():
            branch = accounts.create_branch(
                code, name_kk or name, name_ru or name, name_en or name, is_central=central
            )
    except accounts.AccountError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"branch {branch.code} added")


@branches.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per branch.")
@with_appcontext
def branches_list(as_json: bool) -> None:
    """List the branches, the central library first."""
    from repo_app.services import accounts

    for branch in accounts.list_branches():
        row = {
            "id": branch.id,
            "code": branch.code,
            "name_kk": branch.name_kk,
            "name_ru": branch.name_ru,
            "name_en": branch.name_en,
            "is_central": branch.is_central,
        }
        if as_json:
            _echo_json(row)
        else:
            mark = "  (central)" if branch.is_central else ""
            click.echo(f"{branch.code:<12} {branch.name_in('en')}{mark}")


# --- catalogue records (docs/catalogue.md) -------------------------------------------------------


@cli.group()
def records() -> None:
    """Catalogue records: import MARC files from the library system."""


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", default="auto", show_default=True,
    type=click.Choice(["auto", "iso2709", "marcxml"]), help="File format.",
)  # fmt: skip
@click.option(
    "--flavour", default="auto", show_default=True,
    type=click.Choice(["auto", "unimarc", "marc21"]), help="UNIMARC (RUSMARC, KAZMARC) or MARC 21.",
)  # fmt: skip
@click.option("--encoding", help="Force the ISO 2709 encoding: utf-8, cp1251, marc-8.")
@click.option("--local-lore", is_flag=True, help="Mark every record as local lore.")
@click.option("--branch", default="", help="Holding branch when the records do not say.")
@click.option("--url-template", default="", help="OPAC address of a record, {id} = its id.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def records_import(
    file: Path,
    fmt: str,
    flavour: str,
    encoding: str | None,
    local_lore: bool,
    branch: str,
    url_template: str,
    as_json: bool,
) -> None:
    """Import a file of MARC records (ISO 2709 or MARCXML); re-import updates, never duplicates.

    Exits 1 when any record could not be imported (the others are imported all the same).
    """
    from repo_app.services.records import import_marc

    upgrade_database()
    report = import_marc(
        file.read_bytes(),
        fmt=fmt,
        flavour=flavour,
        encoding=encoding,
        local_lore=local_lore,
        branch=branch,
        url_template=url_template,
    )
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(
            f"{report.total} record(s): {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.problems)} not imported"
        )
        for problem in report.problems:
            where = f" (byte {problem.offset})" if problem.offset is not None else ""
            click.echo(f"  record {problem.position}{where}: {problem.reason}", err=True)
    if report.problems:
        sys.exit(1)


# --- rights and author contracts (docs/rights.md) ------------------------------------------------


@cli.group()
def contracts() -> None:
    """Author contracts: import the register, run the rights check."""


@contracts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def contracts_import(file: Path, as_json: bool) -> None:
    """Import a contract register (CSV or XLSX, one row per contract); re-import updates.

    Exits 1 when any row could not be imported (the others are imported all the same).
    """
    from repo_app.services.contract_import import import_contracts

    upgrade_database()
    report = import_contracts(file.read_bytes(), file.name)
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(
            f"{report.total} row(s): {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.problems)} not imported"
        )
        for problem in report.problems:
            number = f" ({problem.number})" if problem.number else ""
            click.echo(f"  row {problem.row}{number}: {problem.reason}", err=True)
    if report.problems:
        sys.exit(1)


@contracts.command("refresh")
@click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), help="Decide as on this day (default: today)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def contracts_refresh(today: object, as_json: bool) -> None:
    """Expire ended contracts and decide every document's access again (the hourly check).

    Run it once after upgrading: existing documents start not public until it runs.
    """
    from repo_app.services.contracts import run_rights_check

    report = run_rights_check(today.date() if today else None)  # type: ignore[attr-defined]
    if as_json:
        _echo_json(report)
        return
    click.echo(
        f"{report['today']}: {len(report['expired'])} contract(s) expired, "
        f"{len(report['changed'])} document(s) changed access"
    )
    for change in report["changed"]:
        click.echo(f"  document {change['document_id']}: {change['before']} -> {change['after']}")
    for contract in report["ending_soon"]:
        click.echo(f"  contract {contract['number']} ends on {contract['ends_on']}")


@cli.command("rights")
@click.argument("document_id", type=int)
@click.option(
    "--set", "mark", type=click.Choice(["public_domain", "library_owned", "none", "default"]),
    help="Mark the document (default: remove the mark, MURA_DEFAULT_ACCESS applies).",
)  # fmt: skip
@click.option("--reason", default="", help="Why (required for public_domain, library_owned).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@with_appcontext
def rights_command(document_id: int, mark: str | None, reason: str, as_json: bool) -> None:
    """Print a document's computed access and why; with --set, mark it first (audited)."""
    from repo_app.services import rights

    try:
        if mark is not None:
            rights.set_mark(document_id, None if mark == "default" else mark, reason)
        info = rights.describe(document_id)
    except rights.RightsError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        _echo_json(info)
        return
    flags = ", ".join(f for f in ("download", "print") if info[f]) or "no download, no print"
    click.echo(f"document {info['document_id']}: {info['status']} ({flags})")
    click.echo(f"  why: {info['reason']}")
    if info["rights_uri"]:
        click.echo(f"  rights statement: {info['rights_uri']}")
    if info["mark"]:
        click.echo(f"  mark: {info['mark']} ({info['mark_reason'] or 'no reason'})")
    if not info["has_pdf"]:
        click.echo("  no PDF yet: nothing is shown to the public until the job is done")


# --- preservation: fixity, BagIt export and import (docs/backup.md) ------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--due", is_flag=True, help="Only files not checked for FIXITY_CYCLE_DAYS.")
@click.option("--limit", type=int, help="At most this many stored objects, oldest check first.")
@with_appcontext
def fixity(as_json: bool, due: bool, limit: int | None) -> None:
    """Re-hash the stored files; report any that changed or are missing (exit 1 if any)."""
    from repo_app.services import fixity as fixity_service

    upgrade_database()
    try:
        if as_json or not sys.stderr.isatty():
            report = fixity_service.check(due_only=due, limit=limit)
        else:
            with click.progressbar(length=0, label="Checking", file=sys.stderr) as bar:
                report = fixity_service.check(due_only=due, limit=limit, progress=bar.update)
    except fixity_service.FixityRunning as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(
            f"{report.objects} object(s) ({report.files} file row(s), {report.bytes} bytes) in "
            f"{report.seconds:.1f} s: {report.ok} ok, {report.changed} changed, "
            f"{report.missing} missing"
        )
        for problem in report.problems:
            where = "; ".join(problem.used_by) or "not used by any page"
            click.echo(f"  {problem.result.upper()}: file {problem.file_id} {problem.sha256} "
                       f"[{problem.kind}] {where}")  # fmt: skip
    if report.problems:
        sys.exit(1)


@cli.command("export")
@click.argument("args", nargs=-1, required=True, metavar="[DOCUMENT] TARGET")
@click.option("--collection", help="Export every document of this collection (slug).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def export_command(args: tuple[str, ...], collection: str | None, as_json: bool) -> None:
    """Write DOCUMENT (an id) or --collection SLUG as a BagIt bag in TARGET (a new folder)."""
    from repo_app.services import preservation

    if len(args) != (1 if collection else 2) or not (collection or args[0].isdigit()):
        raise click.UsageError("usage: mura export DOCUMENT TARGET | --collection SLUG TARGET")
    target = Path(args[-1])
    try:
        ids = preservation.documents_of_collection(collection) if collection else [int(args[0])]
        report = preservation.export_bag(ids, target, collection=collection)
    except preservation.PreservationError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(
            f"bag {report.path}: {len(report.documents)} document(s), {report.files} file(s), "
            f"{report.bytes} bytes"
        )


@cli.command("import-bag")
@click.argument("bag", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def import_bag_command(bag: Path, as_json: bool) -> None:
    """Validate a bag written by `mura export` and restore its documents."""
    from repo_app.services import preservation

    upgrade_database()
    try:
        report = preservation.import_bag(bag)
    except preservation.PreservationError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.as_dict())
    else:
        for old, new in report.documents.items():
            click.echo(f"document {old} restored as {new}")
        click.echo(f"{len(report.documents)} document(s), {report.files} file(s) restored")


@cli.command("backup")
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--previous",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An earlier backup on the same disk: unchanged files are hard-linked, not copied.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def backup_command(target: Path, previous: Path | None, as_json: bool) -> None:
    """Back up the database, the store and the secret key into TARGET (docs/backup.md)."""
    from repo_app.services import backup

    try:
        report = backup.backup(target, previous)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(
            f"backup {target}: {report.database} database, {report.objects} stored file(s) "
            f"({report.bytes} bytes, {report.linked} linked from --previous) in {report.seconds} s"
        )
    if report.damaged:
        click.echo(f"DAMAGED in the store (restore them from an older backup): {report.damaged}",
                   err=True)  # fmt: skip
        sys.exit(1)


@cli.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def restore_command(source: Path, as_json: bool) -> None:
    """Restore a `mura backup` into this (empty) installation; the index is rebuilt."""
    from repo_app.services import backup

    try:
        report = backup.restore(source)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(f"restored the database and {report.objects} file(s) in {report.seconds} s")
    if report.damaged:
        sys.exit(1)


# --- the annual report of digitization (docs/report.md) ------------------------------------------


@cli.command("report")
@click.option("--year", type=int, required=True, help="The year reported (library time zone).")
@click.option("--branch", default="", help="One branch (its code); the whole system if omitted.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx"]),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@with_appcontext
def report_command(year: int, branch: str, fmt: str, output: Path | None) -> None:
    """The annual report: documents and pages by type, in Kazakh, MB, contracts."""
    from repo_app.services import reports

    where = reports.find_branch(branch)
    if branch and where is None:
        raise click.ClickException(f"no branch with code {branch!r}")
    report = reports.annual_report(year, where)
    if fmt == "json":
        data: bytes = json.dumps(report.as_dict(), ensure_ascii=False).encode() + b"\n"
    else:
        with _cli_locale():
            table = reports.table(report)
        if fmt == "csv":
            data = reports.to_csv(table).encode()
        else:
            data = reports.to_xlsx(table, f"{year} {branch}".strip())
    if output is not None:
        output.write_bytes(data)
    else:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are


if __name__ == "__main__":
    main()
