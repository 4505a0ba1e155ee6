"""``mura`` commands: Fixity, BagIt export and import, backup and restore (docs/backup.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mura.app.cli.base import _echo_json, cli
from mura.app.extensions import upgrade_database

# --- preservation: fixity, BagIt export and import (docs/backup.md) ------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--due", is_flag=True, help="Only files not checked for FIXITY_CYCLE_DAYS.")
@click.option("--limit", type=int, help="At most this many stored objects, oldest check first.")
@with_appcontext
def fixity(as_json: bool, due: bool, limit: int | None) -> None:
    """Re-hash the stored files; report any that changed or are missing (exit 1 if any)."""
    from mura.app.modules.preservation import fixity as fixity_service

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
    from mura.app.modules.preservation import preservation

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
    from mura.app.modules.preservation import preservation

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
    for old, why in report.access_differs.items():  # a contract is not part of a bag
        click.echo(f"document {old}: access differs: {why}", err=True)


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
    from mura.app.modules.preservation import backup

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
    from mura.app.modules.preservation import backup

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
