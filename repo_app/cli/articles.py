"""``mura articles``: clip articles from the pages of an issue, derive them again (workflow.md)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from mura.app.cli.administration import _user_or_fail
from mura.app.cli.base import _cli_locale, _echo_json, cli
from mura.app.cli.digitization import _describe, _print_job, _wait_for
from mura.app.extensions import upgrade_database
from mura.app.models import ARTICLE_TYPES


@cli.group()
def articles() -> None:
    """Articles clipped from regions of the pages of a newspaper or journal issue."""


@articles.command()
@click.argument("issue_document", type=int)
@click.option(
    "--region",
    "regions",
    multiple=True,
    required=True,
    metavar="PAGE:X,Y,W,H",
    help="A rectangle of a page in pixels of the stored image, origin top left; repeat, in "
    "reading order.",
)
@click.option("--title", required=True, help="Title of the article.")
@click.option("--type", "doc_type", required=True, type=click.Choice(ARTICLE_TYPES))
@click.option("--authors", multiple=True, help="An author; repeat, or separate with ';'.")
@click.option("--record", "record_id", type=int, help="The article's catalogue record.")
@click.option("--wait", is_flag=True, help="Wait until the article is ready.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait at most.")
@click.option("--user", "username", help="Clip as this user (the job gets their branch).")
@with_appcontext
def clip(
    issue_document: int,
    regions: tuple[str, ...],
    title: str,
    doc_type: str,
    authors: tuple[str, ...],
    record_id: int | None,
    wait: bool,
    as_json: bool,
    timeout: int,
    username: str | None,
) -> None:
    """Make an article of regions of ISSUE_DOCUMENT's pages (its text comes from their OCR)."""
    from mura.app.modules.digitization.articles import (
        ArticleError,
        ArticleFields,
        clip_article,
        parse_region,
    )

    upgrade_database()
    user = _user_or_fail(username) if username else None
    names = [a.strip() for value in authors for a in value.split(";")]
    with _cli_locale():
        try:
            parsed = [parse_region(text) for text in regions]
            done = clip_article(
                issue_document, parsed, ArticleFields(title, doc_type, names, record_id), user
            )
        except ArticleError as exc:
            raise click.UsageError(exc.message) from exc
    for warning in done.warnings:
        click.echo(f"warning: {warning}", err=True)
    summary = _wait_for(done.job.id, timeout, not as_json) if wait else _describe(done.job.id)
    summary["warnings"] = done.warnings
    if as_json:
        _echo_json(summary)
    else:
        _print_job(summary)
    if summary["status"] == "failed":
        sys.exit(1)


@articles.command()
@click.argument("document_id", type=int)
@click.option("--wait", is_flag=True, help="Wait until the articles are derived again.")
@with_appcontext
def rederive(document_id: int, wait: bool) -> None:
    """Derive an article (or every article of an issue) again from the issue's current OCR."""
    from mura.app.extensions import db
    from mura.app.models import Document, ScanJob
    from mura.app.modules.digitization.articles import articles_of, rederive

    document = db.session.get(Document, document_id)
    if document is None:
        raise click.UsageError(f"no document {document_id}")
    targets = [document_id] if document.doc_type in ARTICLE_TYPES else articles_of(document_id)
    for article_id in targets:
        queued = rederive(article_id)
        click.echo(f"article {article_id}: {queued} page(s) queued")
        if wait and queued:
            job_id = db.session.scalar(
                db.select(ScanJob.id)
                .where(ScanJob.document_id == article_id)
                .order_by(ScanJob.id.desc())
            )
            _print_job(_wait_for(job_id, 3600, False))
