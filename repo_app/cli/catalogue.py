"""``mura`` commands: Catalogue records (docs/catalogue.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mura.app.cli.base import _echo_json, cli
from mura.app.extensions import upgrade_database

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
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1251", "kz1048", "marc-8"], case_sensitive=False),
    help="Force the ISO 2709 encoding (by default detected per record).",
)
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
    from mura.app.modules.catalogue.records import import_marc, is_web_address

    if url_template and not is_web_address(url_template):
        raise click.BadParameter(
            "must be an address starting with http:// or https://", param_hint="--url-template"
        )
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
        for seen in report.encodings:
            click.echo(f"  {seen.records} record(s) read as {seen.encoding} ({seen.how})")
        for problem in report.problems:
            where = f" (byte {problem.offset})" if problem.offset is not None else ""
            click.echo(f"  record {problem.position}{where}: {problem.reason}", err=True)
    if report.problems:
        sys.exit(1)


@records.command("restamp")
@click.argument("documents", nargs=-1, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def records_restamp(documents: tuple[int, ...], as_json: bool) -> None:
    """Bring PDFs' Info/XMP up to the catalogue (DOCUMENTS, or every document with a PDF).

    Only PDFs whose metadata differs are rewritten (metadata only); e.g. once after an upgrade,
    for PDFs assembled before their rights statement was written into them.
    """
    from mura.app.modules.catalogue import pdf_stamp

    upgrade_database()
    report = pdf_stamp.restamp_all(list(documents) or None)
    if as_json:
        _echo_json(report)
    else:
        click.echo(
            f"{report['checked']} PDF(s) checked: {len(report['restamped'])} re-stamped, "
            f"{len(report['failed'])} failed"
        )
        for document_id, why in report["failed"].items():
            click.echo(f"  document {document_id}: {why}", err=True)
    if report["failed"]:
        sys.exit(1)
