"""``mura`` commands: Rights and author contracts (docs/rights.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mura.app.cli.base import _echo_json, cli
from mura.app.extensions import upgrade_database

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
    from mura.app.modules.rights.contract_import import import_contracts

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
    from mura.app.modules.rights.check import run_rights_check

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
    from mura.app.modules.rights import rights

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
