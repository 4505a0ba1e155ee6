"""Logging in and out, throttling, roles, passwords (own change, administrator's reset), cookies,
CSRF on the login form, and the ``mura users`` / ``mura branches`` commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mura.app.cli import cli
from mura.app.extensions import db
from mura.app.models import AuditEvent, ScanJob, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import accounts
from tests.auth_helpers import (
    PASSWORD,
    csrf_token,
    english,
    logged_in,
    login,
    logout,
    make_user,
)
from tests.conftest import make_app

WRONG = "not-the-password"


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == name))


def _actions() -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


# --- login and logout ----------------------------------------------------------------------------


def test_login_and_logout(app: Flask, client: FlaskClient) -> None:
    make_user("aigerim", display_name="Айгерім")
    assert client.get("/staff/").status_code == 302
    response = login(client, "Aigerim ")  # names are case- and space-insensitive
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    page = client.get("/staff/").get_data(as_text=True)
    assert "Айгерім" in page and 'id="nav-logout"' in page
    assert 'id="nav-admin"' not in page  # not an administrator
    assert _user("aigerim").last_login_at is not None
    assert client.get("/login").status_code == 302  # already logged in

    response = logout(client)
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302
    assert 'id="nav-login"' in client.get("/").get_data(as_text=True)
    assert _actions()[-2:] == ["auth.login", "auth.logout"]


def test_logout_makes_a_copied_session_cookie_worthless(app: Flask) -> None:
    make_user("aigerim")
    browser = logged_in(app, "aigerim")
    stolen = app.test_client()
    stolen.set_cookie("session", browser.get_cookie("session").value)
    assert stolen.get("/staff/").status_code == 200
    logout(browser)
    assert stolen.get("/staff/").status_code == 302


def test_wrong_password_and_unknown_user_read_the_same(app: Flask, client: FlaskClient) -> None:
    english(client)
    make_user("aigerim")
    wrong = login(client, "aigerim", WRONG)
    unknown = login(client, "nobody-here", WRONG)
    assert wrong.status_code == unknown.status_code == 400
    for response in (wrong, unknown):
        assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert [e.details["username"] for e in events] == ["aigerim", "nobody-here"]
    assert events[0].object_id == str(_user("aigerim").id) and events[1].object_id == ""


def test_inactive_accounts_and_expired_temporary_passwords_are_refused(
    app: Flask, client: FlaskClient
) -> None:
    english(client)
    admin = make_user("admin", "admin", None)
    user = make_user("aigerim")
    session = logged_in(app, "aigerim")
    accounts.update_user(
        user, role="staff", branch=user.branch, active=False, display_name="", actor=admin
    )
    assert session.get("/staff/").status_code == 302  # its session ended at once
    assert login(client, "aigerim").status_code == 400
    user = _user("aigerim")
    accounts.update_user(user, role="staff", branch=user.branch, active=True, display_name="")
    temporary = accounts.reset_password(_user("aigerim"), actor=admin)
    user = _user("aigerim")
    user.password_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = login(client, "aigerim", temporary)
    assert response.status_code == 400
    assert "Wrong user name or password." in response.get_data(as_text=True)


def test_next_goes_only_to_this_site(app: Flask, client: FlaskClient) -> None:
    make_user("aigerim")
    targets = ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x")
    for target in (*targets, "/\t/evil.example", "/\n/evil.example"):
        response = client.post(
            "/login", data={"username": "aigerim", "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == "/staff/", target
        logout(client)


# --- throttling ----------------------------------------------------------------------------------


def test_five_failures_make_the_account_wait(app: Flask, client: FlaskClient) -> None:
    english(client)
    make_user("aigerim")
    make_user("dana")
    for _ in range(5):
        assert login(client, "aigerim", WRONG).status_code == 400
    response = login(client, "aigerim")  # even the right password now waits (a while, no lock)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= app.config["LOGIN_DELAY_MAX_SECONDS"]
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert login(client, "dana").status_code == 302  # other accounts do not wait
    other = app.test_client()  # nor does the account from another address (see
    response = other.post(  # tests/test_hardening_login.py for attacks from many)
        "/login",
        data={"username": "AIGERIM", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 302
    # an unknown name is throttled just like a real one: the answer tells nothing
    for _ in range(5):
        login(other, "nobody-here", WRONG)
    assert login(other, "nobody-here", WRONG).status_code == 429


def test_successful_logins_do_not_count(app: Flask) -> None:
    make_user("aigerim")
    for _ in range(7):
        client = app.test_client()
        assert login(client, "aigerim").status_code == 302


def test_failures_from_one_address_are_limited_across_accounts(tmp_path: Path) -> None:
    app = make_app(tmp_path / "ip", LOGIN_LIMIT_PER_IP="3 per 15 minutes")
    with app.app_context():
        make_user("aigerim")
        client = app.test_client()
        for name in ("a1", "a2", "a3"):
            assert login(client, name, WRONG).status_code == 400
        assert login(client, "aigerim").status_code == 429
        elsewhere = app.test_client()
        response = elsewhere.post(
            "/login",
            data={"username": "aigerim", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
        assert response.status_code == 302
        db.engine.dispose()


# --- roles ---------------------------------------------------------------------------------------


def test_roles(app: Flask) -> None:
    make_user("staff")
    make_user("reviewer", "reviewer", None)
    make_user("admin", "admin", None)
    staff, reviewer, admin = (logged_in(app, n) for n in ("staff", "reviewer", "admin"))
    assert staff.get("/admin/").status_code == 403
    assert reviewer.get("/admin/users").status_code == 403
    assert admin.get("/admin/").status_code == 200
    assert 'id="nav-admin"' in admin.get("/staff/").get_data(as_text=True)
    # reviewers read the staff screens but change nothing there
    assert reviewer.get("/staff/upload").status_code == 200
    assert reviewer.post("/staff/upload", data={"title": "x"}).status_code == 403
    assert reviewer.post("/staff/records/new", data={"title": "x"}).status_code == 403
    assert staff.post("/staff/records/new", data={}).status_code == 400  # allowed, form invalid


def test_a_role_change_applies_at_the_next_request(app: Flask) -> None:
    admin_user = make_user("admin", "admin", None)
    make_user("second-admin", "admin", None)
    client = logged_in(app, "second-admin")
    assert client.get("/admin/").status_code == 200
    user = _user("second-admin")
    accounts.update_user(user, role="reviewer", branch=None, active=True, display_name="")
    assert client.get("/admin/").status_code == 403
    # the last administrator cannot be demoted
    with pytest.raises(accounts.AccountError):
        accounts.update_user(admin_user, role="reviewer", branch=None, active=True, display_name="")


# --- passwords -----------------------------------------------------------------------------------


def test_password_change(app: Flask) -> None:
    make_user("aigerim")
    client = logged_in(app, "aigerim")
    other_session = logged_in(app, "aigerim")
    form = {
        "current_password": WRONG,
        "new_password": "new-password-2",
        "confirm": "new-password-2",
    }
    response = client.post("/password", data=form)
    assert response.status_code == 400
    assert "current password is wrong" in response.get_data(as_text=True)
    response = client.post("/password", data={**form, "current_password": PASSWORD, "confirm": "x"})
    assert response.status_code == 400  # the two differ
    short = {"current_password": PASSWORD, "new_password": "short", "confirm": "short"}
    assert "at least 10" in client.post("/password", data=short).get_data(as_text=True)
    response = client.post("/password", data={**form, "current_password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200  # this session goes on
    assert other_session.get("/staff/").status_code == 302  # the others end
    assert login(app.test_client(), "aigerim").status_code == 400
    assert login(app.test_client(), "aigerim", "new-password-2").status_code == 302
    assert "auth.password_change" in _actions()
    assert _user("aigerim").password_hash.startswith("$argon2id$")


def test_password_change_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_reset_gives_a_temporary_password_to_change(app: Flask) -> None:
    make_user("admin", "admin", None)
    user = make_user("aigerim")
    admin = logged_in(app, "admin")
    users_session = logged_in(app, "aigerim")

    response = admin.post(f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    temporary = page.split('id="new-password">')[1].split("<")[0]
    assert len(temporary) == 19
    assert temporary not in json.dumps(
        [e.details for e in db.session.scalars(db.select(AuditEvent))]
    )
    assert users_session.get("/staff/").status_code == 302  # logged out by the reset

    client = app.test_client()
    assert login(client, "aigerim").status_code == 400  # the old password is gone
    response = login(client, "aigerim", temporary)
    assert response.headers["Location"].startswith("/password")
    assert client.get("/staff/upload").headers["Location"].startswith("/password")
    assert client.get("/api/jobs/1").status_code == 403
    form = {
        "current_password": temporary,
        "new_password": "mine-at-last",
        "confirm": "mine-at-last",
    }
    assert client.post("/password", data=form).status_code == 302
    assert client.get("/staff/upload").status_code == 200
    assert _user("aigerim").must_change_password is False
    assert "user.password_reset" in _actions()


def test_admin_creates_an_account_with_a_generated_password(app: Flask) -> None:
    make_user("admin", "admin", "central")
    admin = logged_in(app, "admin")
    data = {"username": "Dana", "display_name": "Дана", "role": "staff", "branch": "central"}
    response = admin.post("/admin/users/new", data=data)
    assert response.status_code == 200
    password = response.get_data(as_text=True).split('id="new-password">')[1].split("<")[0]
    assert _user("dana").must_change_password
    response = login(app.test_client(), "dana", password)
    assert response.headers["Location"].startswith("/password")
    # staff need a branch; names are unique
    no_branch = admin.post("/admin/users/new", data={**data, "username": "x2", "branch": ""})
    assert no_branch.status_code == 400 and "belong to a branch" in no_branch.get_data(as_text=True)
    assert admin.post("/admin/users/new", data=data).status_code == 400


def test_admin_manages_branches(app: Flask) -> None:
    make_user("admin", "admin", None)
    admin = logged_in(app, "admin")
    data = {"code": "B07", "name_kk": "№7 кітапхана", "name_ru": "Библиотека №7", "name_en": ""}
    assert admin.post("/admin/branches/new", data=data).status_code == 302
    branch = accounts.get_branch("b07")
    assert branch.name_in("en") == "№7 кітапхана"  # any name rather than none
    response = admin.post(f"/admin/branches/{branch.id}", data={**data, "name_en": "Library 7"})
    assert response.status_code == 302
    assert accounts.get_branch("b07").name_in("en") == "Library 7"
    assert "b07" in admin.get("/admin/branches").get_data(as_text=True)
    assert admin.post("/admin/branches/new", data=data).status_code == 400  # code taken


# --- cookies and CSRF ----------------------------------------------------------------------------


def _session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_session_cookie_flags(tmp_path: Path) -> None:
    app = make_app(tmp_path / "prod", TESTING=False)  # as served: Secure
    with app.app_context():
        make_user("aigerim")
        cookie = _session_cookie(login(app.test_client(), "aigerim"))
        assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Expires=" in cookie  # idle sessions end (PERMANENT_SESSION_LIFETIME)
        db.engine.dispose()
    app = make_app(tmp_path / "test")  # testing: over plain HTTP
    with app.app_context():
        make_user("aigerim")
        cookie = _session_cookie(login(app.test_client(), "aigerim"))
        assert "; Secure" not in cookie and "; HttpOnly" in cookie
        db.engine.dispose()
    app = make_app(tmp_path / "http", TESTING=False, SESSION_COOKIE_SECURE=False)
    with app.app_context():
        assert app.config["SESSION_COOKIE_SECURE"] is False  # an explicit choice is kept
        db.engine.dispose()


def test_login_page_says_why_plain_http_cannot_work(tmp_path: Path) -> None:
    app = make_app(tmp_path / "served", TESTING=False)
    with app.app_context():
        client = app.test_client()
        lan = client.get("/login", base_url="http://mura.library.kz").get_data(as_text=True)
        assert 'id="login-insecure"' in lan
        for base in ("https://mura.library.kz", "http://127.0.0.1:5000", "http://localhost"):
            assert 'id="login-insecure"' not in client.get("/login", base_url=base).get_data(
                as_text=True
            )
        db.engine.dispose()


def test_login_form_needs_its_csrf_token(tmp_path: Path) -> None:
    app = make_app(tmp_path / "csrf", WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_user("aigerim")
        client = app.test_client()
        response = client.post("/login", data={"username": "aigerim", "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/staff/").status_code == 302
        assert csrf_token(client) is not None
        assert login(client, "aigerim").status_code == 302  # with the token
        response = client.post("/logout")  # logging out needs it too
        assert response.status_code == 400
        assert client.get("/staff/").status_code == 200
        db.engine.dispose()


# --- the command line ----------------------------------------------------------------------------


def test_cli_users_and_branches(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["branches", "add", "central", "Орталық", "--central"])
    assert result.exit_code == 0, result.output
    runner.invoke(cli, ["branches", "add", "b02", "Branch 2", "--name-ru", "Филиал 2"])
    listed = [
        json.loads(x)
        for x in runner.invoke(cli, ["branches", "list", "--json"]).output.split("\n")
        if x
    ]
    assert [(b["code"], b["is_central"], b["name_ru"]) for b in listed] == [
        ("central", True, "Орталық"),
        ("b02", False, "Филиал 2"),
    ]

    result = runner.invoke(
        cli, ["users", "create", "Aigerim", "--role", "staff", "--branch", "b02"]
    )
    assert result.exit_code == 0, result.output
    generated = result.output.split("password: ")[1].split()[0]
    assert (
        login(app.test_client(), "aigerim", generated).headers["Location"].startswith("/password")
    )

    result = runner.invoke(
        cli,
        ["users", "create", "boss", "--role", "admin", "--password-stdin"],
        input="chief-of-all-1\n",
    )
    assert result.exit_code == 0 and "password:" not in result.output
    assert login(app.test_client(), "boss", "chief-of-all-1").headers["Location"] == "/staff/"

    bad = runner.invoke(cli, ["users", "create", "xx", "--role", "staff"])
    assert bad.exit_code != 0 and "branch" in bad.output  # staff need a branch
    bad = runner.invoke(cli, ["users", "create", "yy", "--role", "staff", "--branch", "nowhere"])
    assert bad.exit_code != 0 and "no branch" in bad.output

    rows = [
        json.loads(x)
        for x in runner.invoke(cli, ["users", "list", "--json"]).output.split("\n")
        if x
    ]
    assert [(u["username"], u["role"], u["branch"]) for u in rows] == [
        ("aigerim", "staff", "b02"),
        ("boss", "admin", None),
    ]
    assert "aigerim" in runner.invoke(cli, ["users", "list"]).output

    result = runner.invoke(
        cli, ["users", "set-password", "aigerim", "--password-stdin"], input="set-by-cli-1\n"
    )
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "aigerim", "set-by-cli-1").headers["Location"] == "/staff/"
    short = runner.invoke(
        cli, ["users", "set-password", "aigerim", "--password-stdin"], input="x\n"
    )
    assert short.exit_code != 0
    assert {"user.create", "user.set_password", "branch.create"} <= set(_actions())


def test_cli_ingest_as_a_user(app: Flask, tmp_path: Path) -> None:
    user = make_user("aigerim", branch_code="b02")
    scan = tmp_path / "p1.png"
    Image.new("L", (200, 300), 255).save(scan, dpi=(300, 300))
    runner = app.test_cli_runner()
    args = ["ingest", str(scan), "--title", "T", "--type", "book", "--user", "AIGERIM", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    job = db.session.get(ScanJob, json.loads(result.output)["job_id"])
    assert (job.created_by_id, job.branch_id) == (user.id, user.branch_id)
    upload = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "job.upload")
    ).one()
    assert upload.username == "aigerim" and upload.details["via"] == "cli"
    result = runner.invoke(
        cli, ["ingest", str(scan), "--title", "T", "--type", "book", "--user", "zz"]
    )
    assert result.exit_code != 0 and "no user" in result.output


def test_demo_accounts(app: Flask) -> None:
    from mura.app.modules.digitization.demo import create_demo_accounts

    made = create_demo_accounts()
    assert made == [("admin", "admin-demo", "admin"), ("staff", "staff-demo", "staff")]
    assert accounts.get_branch("central").is_central
    assert login(app.test_client(), "admin", "admin-demo").headers["Location"] == "/staff/"
    assert create_demo_accounts() == [("admin", None, "admin"), ("staff", None, "staff")]


def test_generated_passwords_are_strong() -> None:
    seen = {accounts.generate_password() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p) == 19 and p.count("-") == 3 for p in seen)
