"""``mura`` commands: Users, branches and the annual report (docs/report.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mura.app.cli.base import _cli_locale, _echo_json, cli
from mura.app.extensions import upgrade_database
from mura.app.models import ROLES

# --- users and branches (docs: administration) ---------------------------------------------------


def _user_or_fail(username: str):
    from mura.app.modules.administration.accounts import get_user

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
@click.option("--email", default="", help="For password resets and notices of waiting work.")
@click.option("--notify", is_flag=True, help="E-mail the user when work waits for them.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@with_appcontext
def users_create(
    username: str,
    role: str,
    branch_code: str | None,
    display_name: str,
    email: str,
    notify: bool,
    password_stdin: bool,
) -> None:
    """Create an account; without --password-stdin a password is generated and printed.

    A generated password must be changed at the first login.
    """
    from mura.app.modules.administration import accounts

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
                username, role, branch, password=password, display_name=display_name,
                email=email, notify_by_email=notify,
            )  # fmt: skip
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
    from mura.app.modules.administration import accounts

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
    from mura.app.extensions import db
    from mura.app.modules.administration import accounts, audit

    upgrade_database()
    user = _user_or_fail(username)
    password = _read_password(password_stdin)
    try:
        with _cli_locale():
            accounts.check_password_rules(password, user.username, user.display_name)
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
    from mura.app.modules.administration import accounts

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
    from mura.app.modules.administration import accounts

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
    from mura.app.modules.administration import reports

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


# --- the library's own name and contacts (docs/deployment.md) ---------------------------------


@cli.group()
def settings() -> None:
    """The library's name (kk/ru/en), address, contact e-mail and phone."""


@settings.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every key.")
@with_appcontext
def settings_show(as_json: bool) -> None:
    """Print each setting, and where it comes from (database, environment, none)."""
    from dataclasses import asdict

    from mura.app.modules.administration import library, mail

    upgrade_database()
    info, stored, defaults = library.load(), library.stored(), library.defaults()
    if as_json:
        _echo_json({**asdict(info), "mail_configured": mail.configured()})
        return
    for key in library.KEYS:
        source = "database" if key in stored else "config" if defaults[key] else "unset"
        click.echo(f"{key:<8} {getattr(info, key) or '-'}  ({source})")
    click.echo(f"mail     {'configured, from ' + mail.sender() if mail.configured() else 'off'}")


@settings.command("set")
@click.argument("key")
@click.argument("value")
@with_appcontext
def settings_set(key: str, value: str) -> None:
    """Set one value (KEY: name_kk, name_ru, name_en, address, email, phone; "" clears it)."""
    from mura.app.modules.administration import library

    upgrade_database()
    try:
        with _cli_locale():
            changed = library.update({key: value})
    except library.SettingsError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"{key} set" if changed else f"{key} unchanged")
