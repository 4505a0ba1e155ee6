"""Accounts for tests: make users, log a test client in through the real login form.

``login`` fetches the form first and sends its CSRF token back, so it works on apps with CSRF
protection on (``WTF_CSRF_ENABLED=True``) and off alike. The fixtures are made visible to every
test module by an import at the end of ``tests/conftest.py``.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mura.app.models import Branch, User
from mura.app.modules.administration import accounts

#: The password of every test user made here (long enough for the rules).
PASSWORD = "test-password-1"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def branch(code: str = "central", *, central: bool | None = None) -> Branch:
    """The branch with this code, created when missing ("central" is the central library)."""
    found = accounts.get_branch(code)
    if found is not None:
        return found
    is_central = code == "central" if central is None else central
    return accounts.create_branch(code, f"{code} kk", f"{code} ru", f"{code} en", is_central)


def make_user(
    username: str, role: str = "staff", branch_code: str | None = "central", **kwargs: object
) -> User:
    """A user with :data:`PASSWORD` (no change required), in ``branch_code`` if given."""
    home = branch(branch_code) if branch_code else None
    user, _generated = accounts.create_user(username, role, home, password=PASSWORD, **kwargs)
    return user


def csrf_token(client: FlaskClient, path: str = "/login") -> str | None:
    """The CSRF token of the form at ``path`` (None when the app does not use one)."""
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    return match.group(1) if match else None


def login(client: FlaskClient, user: User | str, password: str = PASSWORD) -> TestResponse:
    """Log ``client`` in through the login form; returns the form's response (302 on success)."""
    username = user if isinstance(user, str) else user.username
    data = {"username": username, "password": password}
    token = csrf_token(client)
    if token:
        data["csrf_token"] = token
    return client.post("/login", data=data)


def logout(client: FlaskClient) -> TestResponse:
    """Log ``client`` out with the header's logout button."""
    token = csrf_token(client, "/")
    return client.post("/logout", data={"csrf_token": token} if token else {})


def english(client: FlaskClient) -> FlaskClient:
    """Make ``client`` ask for English pages, so tests can quote the messages they expect."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def logged_in(app: Flask, user: User | str, password: str = PASSWORD) -> FlaskClient:
    """A new test client of ``app`` (reading English), logged in as ``user``."""
    client = english(app.test_client())
    response = login(client, user, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def staff_user(app: Flask) -> User:
    """A staff member of the branch "central"."""
    return make_user("aigerim", "staff", "central", display_name="Айгерім Серікқызы")


@pytest.fixture
def logged_in_client(app: Flask, staff_user: User) -> FlaskClient:
    """A test client logged in as :func:`staff_user`."""
    return logged_in(app, staff_user)
