"""``mura`` commands: Search from the command line, and rebuilding the index."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from mura.app.cli.base import _echo_json, cli


@cli.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, per document.")
@click.option("--limit", default=10, show_default=True)
@with_appcontext
def search_command(query: str, as_json: bool, limit: int) -> None:
    """Search the public documents as a reader would."""
    from mura.app.modules.discovery.discovery import search

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
    from mura.app.modules.discovery.search import public_document_ids, rebuild_index
    from mura.app.search.rebuild import RebuildRunningError

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
