"""``mura`` commands: Ingest, jobs and re-OCR (docs/workflow.md)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mura.app.cli.administration import _user_or_fail
from mura.app.cli.base import _cli_locale, _echo_json, cli
from mura.app.cli.processes import embedded_worker
from mura.app.extensions import upgrade_database
from mura.app.models import DOC_TYPES

# --- ingest and jobs -----------------------------------------------------------------------------


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--title", required=True, help="Title of the document.")
@click.option("--type", "doc_type", required=True, type=click.Choice(DOC_TYPES))
@click.option("--authors", multiple=True, help="An author; repeat, or separate with ';'.")
@click.option("--lang", "langs", default="", help="OCR languages, e.g. kaz+rus (default).")
@click.option(
    "--collection",
    "collections",
    multiple=True,
    help="Slug of a collection to put the document in; repeat for several.",
)
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
    collections: tuple[str, ...],
    year: int | None,
    wait: bool,
    as_json: bool,
    timeout: int,
    username: str | None,
) -> None:
    """Create a document and scan job from page images (PNG, JPEG, TIFF, PDF)."""
    from mura.app.modules.digitization.ingest import DocumentFields, IngestError, Upload
    from mura.app.modules.digitization.ingest import ingest as do_ingest

    upgrade_database()
    user = _user_or_fail(username) if username else None
    names = [a.strip() for value in authors for a in value.split(";")]
    fields = DocumentFields(title, doc_type, names, langs, year=year, collections=list(collections))
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
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization.job_status import describe_job

    db.session.expire_all()
    job = db.session.get(ScanJob, job_id)
    summary = describe_job(job)
    # Where the document is in the workflow (modules/digitization/workflow.py): "scanned" while the
    # OCR
    # runs, then "ocr_done" (waiting for review) or "published".
    summary["document_status"] = job.document.status
    return summary


#: Seconds between two looks at a job being waited for.
WAIT_POLL_S = 0.25


def _job_progress(job_id: int) -> tuple[str, int]:
    """The job's stage and its finished pages: two small queries, no page rows loaded."""
    from sqlalchemy import select

    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization.jobs import page_counts

    stage = db.session.execute(select(ScanJob.status).where(ScanJob.id == job_id)).scalar_one()
    counts = page_counts(job_id)
    db.session.rollback()  # end the read transaction: the next look sees the workers' commits
    return stage, counts["done"] + counts["failed"]


def _wait_for(job_id: int, timeout: int, show_progress: bool) -> dict:
    from mura.workers import heartbeat

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
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization.job_status import describe_job, recent_jobs

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
    from mura.app.core.languages import parse_langs
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.app.modules.digitization import jobs as job_service
    from mura.app.modules.digitization.job_status import parse_page_list
    from mura.app.modules.digitization.jobs import reocr_options

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


# --- withdraw, restore, delete (digitization/lifecycle.py; docs/workflow.md) --------------------


@cli.group("documents")
def documents_group() -> None:
    """Withdraw, restore or delete a document (also those without a job page)."""


def _document_or_fail(document_id: int):
    from mura.app.extensions import db
    from mura.app.models import Document

    document = db.session.get(Document, document_id)
    if document is None:
        raise click.UsageError(f"no document {document_id}")
    return document


@documents_group.command()
@click.argument("document_id", type=int)
@click.option("--reason", required=True, help="Why (audit log; told to harvesters).")
@click.option("--user", "username", required=True, help="The administrator who withdraws it.")
@with_appcontext
def withdraw(document_id: int, reason: str, username: str) -> None:
    """Take a document off the public site (kept; `mura documents restore` puts it back)."""
    from mura.app.modules.digitization import lifecycle

    upgrade_database()
    document, user = _document_or_fail(document_id), _user_or_fail(username)
    try:
        with _cli_locale():
            lifecycle.withdraw_document(document, user, reason)
    except lifecycle.LifecycleError as exc:
        raise click.UsageError(exc.reason) from exc
    click.echo(f"document {document_id}: withdrawn")


@documents_group.command()
@click.argument("document_id", type=int)
@click.option("--user", "username", required=True, help="The administrator who restores it.")
@with_appcontext
def restore(document_id: int, username: str) -> None:
    """Put a withdrawn document back in the state it was withdrawn from."""
    from mura.app.modules.digitization import lifecycle

    upgrade_database()
    document, user = _document_or_fail(document_id), _user_or_fail(username)
    try:
        with _cli_locale():
            state = lifecycle.restore_document(document, user)
    except lifecycle.LifecycleError as exc:
        raise click.UsageError(exc.reason) from exc
    click.echo(f"document {document_id}: {state}")


@documents_group.command("delete")
@click.argument("document_id", type=int)
@click.option("--reason", required=True, help="Why (audit log; the OAI tombstone).")
@click.option("--user", "username", required=True, help="Who deletes it (an administrator).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete_document(document_id: int, reason: str, username: str, yes: bool) -> None:
    """Delete a document with its jobs, pages and files (cannot be undone)."""
    from mura.app.modules.digitization import lifecycle

    upgrade_database()
    document, user = _document_or_fail(document_id), _user_or_fail(username)
    if not yes:
        click.confirm(f"Delete document {document_id} “{document.title}” for good?", abort=True)
    try:
        with _cli_locale():
            removed = lifecycle.delete_document(document, user, reason)
    except lifecycle.LifecycleError as exc:
        raise click.UsageError(exc.reason) from exc
    click.echo(
        f"document {document_id}: deleted ({removed.pages} pages, {removed.files} stored files)"
    )
