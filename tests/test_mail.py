"""The library's own name and contacts, and mail through a real SMTP server (issue 16 item 8).

The mail tests run a real installation: a ``mura worker`` process sends each message through
``aiosmtpd`` listening on a free local port, after the web request's commit; nothing of SMTP
or Celery is faked. The settings tests need no worker.
"""

from __future__ import annotations

import email
import re
import socket
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage

import flask_babel
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from lxml import etree

from mura.app.cli import cli
from mura.app.extensions import db
from mura.app.models import AuditEvent, CopyRequest, Document, LibrarySetting, OutgoingMail
from mura.app.modules.administration import mail
from mura.app.modules.digitization import workflow
from tests.auth_helpers import PASSWORD, english, logged_in, make_user
from tests.catalogue_helpers import make_document, oai_schema
from tests.conftest import (
    Stack,
    _embedded,
    _production,
    make_app,
    running_stack,
)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
NAMES = {"kk": "Ұлытау облыстық кітапханасы", "ru": "Улытауская областная библиотека",
         "en": "Ulytau Regional Library"}  # fmt: skip


# --- a real SMTP server ------------------------------------------------------------------------


class Inbox:
    """What the SMTP server received, parsed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        if any(rcpt.startswith("refused@") for rcpt in envelope.rcpt_tos):
            return "550 5.1.1 No such mailbox"
        if any(rcpt.startswith("later@") for rcpt in envelope.rcpt_tos):
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def wait_for(self, address: str, count: int = 1, timeout: float = 60) -> list[EmailMessage]:
        """The messages to ``address`` once there are ``count`` of them (a worker sends them)."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout} s: {self.messages}")
            time.sleep(0.2)
        return self.to(address)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox(_free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module", params=["embedded", "production"])
def mail_stack(
    request: pytest.FixtureRequest, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """An installation whose worker sends mail to :func:`inbox`: SQLite and the embedded broker,
    or PostgreSQL and Redis (as conftest's ``stack``)."""
    home = tmp_path_factory.mktemp(f"mail-stack-{request.param}")
    kind = {"embedded": _embedded, "production": _production}[request.param](home)
    pg_db = kind.pop("_PG_DB", None)
    # Strings, as the environment gives them (the in-process app reads the same values).
    config = {
        **kind,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(inbox.port),
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "Ulytau library <e-lib@ulytau.example.kz>",
        "PUBLIC_BASE_URL": "http://localhost",
        "PASSWORD_RESET_LIMIT": "100 per hour",
    }
    inbox.messages.clear()  # the same addresses are used again by each kind of stack
    with running_stack(request.param, home, config, pg_db, concurrency=1) as running:
        yield running


@pytest.fixture
def app_mail(mail_stack: Stack) -> Iterator[Flask]:
    """The stack's app, in an app context (the web side of the installation)."""
    app = mail_stack.app
    with app.app_context():
        yield app
        db.session.remove()


def _link(message: EmailMessage) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/login/reset/\S+)", body).group(1)


def _poll(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def _body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


# --- mail through the worker ---------------------------------------------------------------------


def test_copy_request_mail_brings_the_link_in_the_readers_language(
    app_mail: Flask, inbox: Inbox
) -> None:
    reader = app_mail.test_client()
    form = reader.get("/requests/new?lang=ru").get_data(as_text=True)
    assert 'id="mail-promise"' in form  # mail is configured: the reader is told of it
    made = reader.post(
        "/requests/new",
        data={"reader_name": "Нұрлан", "reader_email": "nurlan@example.kz",
              "description": "Газета «Жезқазған» 1961 года"},
        headers={"Accept-Language": "ru"},
    )  # fmt: skip
    assert made.status_code == 302
    token = made.headers["Location"].rsplit("/", 1)[1]
    request_row = db.session.scalar(db.select(CopyRequest).where(CopyRequest.token == token))
    assert request_row.locale == "ru"
    document = make_document("Жезқазған, 1961", public=True)

    staff = logged_in(app_mail, make_user("copy-staff", "staff"))
    flask_babel.refresh()  # the fixture's one app context keeps the reader's locale
    shown = staff.get(f"/staff/requests/{request_row.id}").get_data(as_text=True)
    assert "the reader gets the link to the copy by e-mail" in shown
    staff.post(f"/staff/requests/{request_row.id}/link", data={"document_id": str(document.id)})
    db.session.refresh(request_row)
    assert request_row.status == "published"

    [message] = inbox.wait_for("nurlan@example.kz")
    assert message["Subject"] == "Запрошенная вами копия доступна онлайн"
    assert message["From"] == "Ulytau library <e-lib@ulytau.example.kz>"
    body = _body(message)
    assert "Здравствуйте, Нұрлан." in body
    assert f"http://localhost/read/{document.id}" in body
    assert f"http://localhost/requests/{token}" in body  # the status page's link is kept too
    # Looked at again (the status page refreshes the request): no second mail.
    assert reader.get(f"/requests/{token}").status_code == 200
    time.sleep(1)
    assert len(inbox.to("nurlan@example.kz")) == 1
    sent = db.session.scalar(
        db.select(OutgoingMail).where(OutgoingMail.recipient == "nurlan@example.kz")
    )
    _poll(lambda: db.session.get(OutgoingMail, sent.id, populate_existing=True).state == "sent")
    # A second delivery of the task sends nothing (the row is claimed first).
    assert mail.deliver(sent.id) == "skipped"
    time.sleep(0.5)
    assert len(inbox.to("nurlan@example.kz")) == 1


def test_staff_are_told_of_new_requests_and_of_documents_to_approve(
    app_mail: Flask, inbox: Inbox
) -> None:
    wants = make_user("notified-staff", "staff", email="staff@ulytau.example.kz",
                      notify_by_email=True)  # fmt: skip
    wants.locale = "kk"
    make_user("quiet-staff", "staff", email="quiet@ulytau.example.kz")  # did not ask
    reviewer = make_user("notified-reviewer", "reviewer", branch_code=None,
                         email="reviewer@ulytau.example.kz", notify_by_email=True)  # fmt: skip
    reviewer.locale = "en"
    db.session.commit()

    reader = app_mail.test_client()
    made = reader.post(
        "/requests/new",
        data={"reader_name": "Әсел", "reader_email": "asel@example.kz",
              "description": "Сәтбаев туралы кітап"},
    )  # fmt: skip
    assert made.status_code == 302
    request_id = db.session.scalar(
        db.select(CopyRequest.id).where(CopyRequest.reader_email == "asel@example.kz")
    )
    [notice] = inbox.wait_for("staff@ulytau.example.kz")
    assert notice["Subject"] == f"Көшірмеге жаңа сұраныс {request_id}"
    assert f"http://localhost/staff/requests/{request_id}" in _body(notice)
    # Reviewers only read requests: they are not told of them.

    document = make_document("Сәтбаев", public=False)
    document.status = "ocr_done"
    db.session.commit()
    workflow.submit(db.session.get(Document, document.id), wants)
    [approve] = inbox.wait_for("reviewer@ulytau.example.kz")
    assert approve["Subject"] == "A document waits for approval"
    assert "Сәтбаев" in _body(approve) and "http://localhost/staff/review/" in _body(approve)
    time.sleep(1)
    assert inbox.to("quiet@ulytau.example.kz") == []


def test_staff_are_told_when_ocr_is_done_from_outside_a_request(
    app_mail: Flask, inbox: Inbox
) -> None:
    """The worker moves a document to "OCR done": no request there to build the link on."""
    from flask import has_request_context

    make_user("check-staff", "staff", email="check@ulytau.example.kz", notify_by_email=True)
    document = make_document("Қазақ әдебиеті, 1958", public=False)
    document.status = "scanned"
    db.session.commit()
    app_mail.config["REVIEW_REQUIRED"] = True
    try:
        assert not has_request_context()
        assert workflow.ocr_finished(db.session.get(Document, document.id)) == "ocr_done"
        db.session.commit()  # as the assembly task does
    finally:
        app_mail.config["REVIEW_REQUIRED"] = False
    [message] = inbox.wait_for("check@ulytau.example.kz")
    assert message["Subject"] == "A document waits for your check"
    body = _body(message)
    assert "Қазақ әдебиеті, 1958" in body and "http://localhost/staff/review/" in body


def test_password_reset_by_mail_end_to_end(app_mail: Flask, inbox: Inbox) -> None:
    user = make_user("reset-me", "staff", email="Reset.Me@ulytau.example.kz")
    client = english(app_mail.test_client())
    assert 'id="forgot-link"' in client.get("/login").get_data(as_text=True)

    asked = client.post("/login/forgot", data={"email": "reset.me@ulytau.example.kz"})
    unknown = client.post("/login/forgot", data={"email": "nobody@ulytau.example.kz"})
    # The same answer whether or not an account has the address.
    assert asked.status_code == unknown.status_code == 302
    assert asked.headers["Location"] == unknown.headers["Location"] == "/login"
    flashed = client.get("/login").get_data(as_text=True)
    assert "If an account has this address" in flashed

    [message] = inbox.wait_for("Reset.Me@ulytau.example.kz")
    assert message["Subject"] == "Set a new password"
    link = _link(message)
    page = client.get(link)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    # The same rules as any new password: a common one, or the user's own name, is refused.
    weak = client.post(link, data={"new_password": "password123", "confirm": "password123"})
    assert weak.status_code == 400
    new = "Жезқазған-мыс-1961"
    done = client.post(link, data={"new_password": new, "confirm": new})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert (
        english(app_mail.test_client())
        .post("/login", data={"username": "reset-me", "password": new})
        .status_code
        == 302
    )
    assert (
        english(app_mail.test_client())
        .post("/login", data={"username": "reset-me", "password": PASSWORD})
        .status_code
        == 400
    )  # the old password no longer works
    # Used once: the link is refused now.
    again = client.post(
        link, data={"new_password": "Другой-пароль-77", "confirm": "Другой-пароль-77"}
    )
    assert again.status_code == 400 and "does not work any more" in again.get_data(as_text=True)
    assert inbox.to("nobody@ulytau.example.kz") == []
    actions = set(db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
    ))  # fmt: skip
    assert {"auth.password_reset_sent", "auth.password_reset_done"} <= actions
    # The key is not kept once sent.
    _poll(lambda: not db.session.scalar(
        db.select(OutgoingMail.body_text).where(OutgoingMail.kind == "password_reset")
        .execution_options(populate_existing=True)
    ))  # fmt: skip

    # An expired link is refused: the next one lives 0 minutes here.
    client.post("/login/forgot", data={"email": "reset.me@ulytau.example.kz"})
    second = _link(inbox.wait_for("Reset.Me@ulytau.example.kz", count=2)[-1])
    app_mail.config["PASSWORD_RESET_MINUTES"] = 0
    try:
        time.sleep(1.1)
        expired = client.get(second)
        assert expired.status_code == 400 and "has expired" in expired.get_data(as_text=True)
    finally:
        app_mail.config["PASSWORD_RESET_MINUTES"] = 60
    assert client.get("/login/reset/forged.token").status_code == 400


def test_reset_mails_to_one_address_are_bounded(app_mail: Flask, inbox: Inbox) -> None:
    make_user("flooded", "staff", email="flooded@ulytau.example.kz")
    client = english(app_mail.test_client())
    for _ in range(5):
        assert (
            client.post("/login/forgot", data={"email": "flooded@ulytau.example.kz"}).status_code
            == 302
        )
    inbox.wait_for("flooded@ulytau.example.kz", count=3)
    time.sleep(2)
    assert len(inbox.to("flooded@ulytau.example.kz")) == 3  # PASSWORD_RESET_MAILS_PER_HOUR


def test_a_copy_published_meanwhile_is_mailed_by_the_periodic_check(
    app_mail: Flask, inbox: Inbox
) -> None:
    """Nobody looks at the request: the hourly rights check answers it, and mails the reader."""
    from mura.app.models import CatalogueRecord
    from mura.app.modules.discovery import copy_requests
    from mura.workers.tasks import check_rights

    record = CatalogueRecord(title="Ұлытау, 1975", doc_type="book", languages=["kaz"])
    db.session.add(record)
    db.session.commit()
    made = copy_requests.create_request(
        copy_requests.NewRequest("Бауыржан", "baur@example.kz", record_id=record.id, locale="kk")
    )
    make_document("Ұлытау, 1975", public=True, record_id=record.id)
    assert check_rights()["copy_requests_published"] == 1
    [message] = inbox.wait_for("baur@example.kz")
    assert message["Subject"] == "Сіз сұраған көшірме онлайн қолжетімді"
    assert f"http://localhost/requests/{made.token}" in _body(message)
    assert check_rights()["copy_requests_published"] == 0  # once


def test_a_message_whose_task_was_lost_is_sent_by_the_sweeper(
    app_mail: Flask, inbox: Inbox
) -> None:
    from datetime import timedelta

    from mura.app.models.base import utcnow

    lost = OutgoingMail(
        kind="test", recipient="lost@example.kz", subject="Lost and found", body_text="x\n",
        body_html="", state="queued", attempts=0, error="",
        created_at=utcnow() - timedelta(minutes=10),
    )  # fmt: skip
    db.session.add(lost)
    db.session.commit()  # no task was sent for it (as if the broker was away)
    assert mail.resend_lost() == 1
    [message] = inbox.wait_for("lost@example.kz")
    assert message["Subject"] == "Lost and found"
    _poll(lambda: db.session.get(OutgoingMail, lost.id, populate_existing=True).state == "sent")
    assert mail.resend_lost() == 0


def test_a_refusal_fails_the_message_and_try_later_is_retried(app_mail: Flask) -> None:
    ids = {}
    for address in ("refused@example.kz", "later@example.kz"):
        ids[address] = mail.queue_mail(
            "test", address, "en", "staff_document",
            document=make_document(f"For {address}", public=False), step="check",
            url="http://localhost/staff/review/",
        )  # fmt: skip
    db.session.commit()  # the tasks are sent now

    def row(address: str) -> OutgoingMail:
        return db.session.get(OutgoingMail, ids[address], populate_existing=True)

    _poll(lambda: row("refused@example.kz").state == "failed")
    assert row("refused@example.kz").error.startswith("550")
    # 4xx: given back to the queue with the reason; the task tries again (30 s, then more).
    _poll(lambda: row("later@example.kz").attempts >= 1 and row("later@example.kz").error != "")
    later = row("later@example.kz")
    assert later.state == "queued" and later.error.startswith("451")


def test_an_administrator_sends_a_test_message_and_sees_it_sent(
    app_mail: Flask, inbox: Inbox
) -> None:
    make_user("mail-admin", "admin", email="admin@ulytau.example.kz")
    admin = logged_in(app_mail, "mail-admin")
    flask_babel.refresh()
    page = admin.get("/admin/library?lang=en").get_data(as_text=True)
    assert 'data-configured="1"' in page and 'id="test-mail"' in page
    assert 'id="mail-no-base-url"' not in page  # the stack sets MURA_PUBLIC_BASE_URL
    assert admin.post("/admin/library/test-mail").status_code == 302
    [message] = inbox.wait_for("admin@ulytau.example.kz")
    assert message["Subject"] == "Test message from Mura"
    sent = re.compile(r'data-state="sent"><td>[^<]*</td><td>admin@ulytau\.example\.kz<')
    _poll(lambda: sent.search(admin.get("/admin/library").get_data(as_text=True)) is not None)


# --- without SMTP: nothing breaks ----------------------------------------------------------------


def test_without_smtp_mail_options_are_hidden_and_nothing_is_queued(app: Flask) -> None:
    assert not mail.configured()
    client = english(app.test_client())
    login_page = client.get("/login").get_data(as_text=True)
    assert 'id="forgot-link"' not in login_page
    forgot = client.get("/login/forgot")
    assert forgot.status_code == 200 and 'id="mail-not-configured"' in forgot.get_data(as_text=True)
    assert client.post("/login/forgot", data={"email": "boss@example.kz"}).status_code == 200
    assert 'id="mail-promise"' not in client.get("/requests/new").get_data(as_text=True)
    made = client.post(
        "/requests/new",
        data={"reader_name": "Әсел", "reader_email": "asel@example.kz", "description": "x"},
    )
    assert made.status_code == 302
    make_user("boss", "admin", email="boss@example.kz", notify_by_email=True)
    admin = logged_in(app, "boss")
    assert 'data-configured="0"' in admin.get("/admin/library").get_data(as_text=True)
    assert 'id="mail-not-configured"' in admin.get("/admin/users/new").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == 0


# --- the library's own name and contacts ---------------------------------------------------------


def _identify(client, lang: str) -> etree._Element:
    response = client.get("/oai?verb=Identify", headers={"Accept-Language": lang})
    root = etree.fromstring(response.data)
    oai_schema().assertValid(root)
    return root


def test_library_settings_show_in_pages_and_oai_identify_in_each_language(app: Flask) -> None:
    client = app.test_client()
    before = client.get("/?lang=en").get_data(as_text=True)
    assert '<a class="brand" href="/">Mura</a>' in before
    assert _identify(client, "en").findtext(f"{OAI}Identify/{OAI}repositoryName") == "Mura"

    make_user("boss", "admin")
    admin = logged_in(app, "boss")
    form = {f"name_{code}": name for code, name in NAMES.items()}
    bad = admin.post("/admin/library", data={**form, "email": "not an address"})
    assert bad.status_code == 400 and "This is not an e-mail address." in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(LibrarySetting)) == 0
    saved = admin.post(
        "/admin/library",
        data={**form, "address": "Жезқазған, Алашахан даңғылы 1", "email": "info@ulytau.example.kz",
              "phone": "+7 7102 00-00-00"},
    )  # fmt: skip
    assert saved.status_code == 302

    for code, name in NAMES.items():
        flask_babel.refresh()  # the app fixture's one app context caches the locale
        html = client.get(f"/?lang={code}").get_data(as_text=True)
        assert f'<a class="brand" href="/">{name}</a>' in html
        assert f"· {name}</title>" in html
        footer = html[html.index('id="site-footer"') :]
        assert name in footer and "Алашахан даңғылы 1" in footer
        assert 'href="mailto:info@ulytau.example.kz"' in footer and "+7 7102 00-00-00" in footer
        flask_babel.refresh()
        root = _identify(client, code)
        # One name whatever the language asked (a cache may share it): the default language's
        # (English in the tests' config, Kazakh by default: the next test).
        assert root.findtext(f"{OAI}Identify/{OAI}repositoryName") == NAMES["en"]
        assert root.findtext(f"{OAI}Identify/{OAI}adminEmail") == "info@ulytau.example.kz"

    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "library.update"))
    assert event.username == "boss" and event.details["name_kk"] == ["", NAMES["kk"]]
    flask_babel.refresh()
    report = admin.get("/admin/reports/?lang=ru").get_data(as_text=True)
    assert 'id="report-library"' in report and NAMES["ru"] in report


def test_settings_from_the_environment_and_the_cli(tmp_path) -> None:
    app = make_app(tmp_path / "home", LIBRARY_NAME_EN="Satpayev City Library",
                   LIBRARY_EMAIL="lib@satpayev.example.kz", BABEL_DEFAULT_LOCALE="kk")  # fmt: skip
    with app.app_context():
        client = app.test_client()
        assert "Satpayev City Library" in client.get("/?lang=kk").get_data(as_text=True)
        root = _identify(client, "ru")  # no Kazakh name yet: the English one, the e-mail
        assert root.findtext(f"{OAI}Identify/{OAI}repositoryName") == "Satpayev City Library"
        assert root.findtext(f"{OAI}Identify/{OAI}adminEmail") == "lib@satpayev.example.kz"
        runner = app.test_cli_runner()
        result = runner.invoke(cli, ["settings", "set", "name_kk", "Сәтбаев қалалық кітапханасы"])
        assert result.exit_code == 0, result.output
        refused = runner.invoke(cli, ["settings", "set", "phone", "call us"])
        assert refused.exit_code != 0 and "phone number" in refused.output
        unknown = runner.invoke(cli, ["settings", "set", "colour", "red"])
        assert unknown.exit_code != 0
        shown = runner.invoke(cli, ["settings", "show"]).output
        assert "Сәтбаев қалалық кітапханасы  (database)" in shown
        assert "lib@satpayev.example.kz  (config)" in shown and "mail     off" in shown
        flask_babel.refresh()
        assert "Сәтбаев қалалық кітапханасы" in client.get("/?lang=kk").get_data(as_text=True)
        name = _identify(client, "en").findtext(f"{OAI}Identify/{OAI}repositoryName")
        assert name == "Сәтбаев қалалық кітапханасы"  # Kazakh, the default language
        flask_babel.refresh()
        assert "Satpayev City Library" in client.get("/?lang=en").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_iiif_manifest_names_the_library_in_each_language(library) -> None:
    from mura.app.modules.administration import library as library_settings

    with library.app.app_context():
        client = library.app.test_client()
        before = client.get(f"/iiif/{library.book_id}/manifest").get_json()
        assert before["requiredStatement"]["value"] == {"none": ["Mura"]}
        library_settings.update({f"name_{code}": name for code, name in NAMES.items()})
        try:
            manifest = client.get(f"/iiif/{library.book_id}/manifest").get_json()
            statement = manifest["requiredStatement"]
            assert statement["value"] == {code: [name] for code, name in NAMES.items()}
            assert statement["label"]["en"] == ["Provided by"]
        finally:  # the library fixture is shared by the session: leave it as it was
            db.session.execute(db.delete(LibrarySetting))
            db.session.commit()
            db.session.remove()


def test_users_get_an_email_address_and_opt_in_on_their_screen(app: Flask) -> None:
    from mura.app.models import User

    make_user("boss", "admin")
    taken = make_user("first", "staff", email="first@ulytau.example.kz")
    user = make_user("second", "staff")
    admin = logged_in(app, "boss")
    form = {"display_name": "", "role": "staff", "branch": "central", "active": "y"}
    duplicate = admin.post(
        f"/admin/users/{user.id}", data={**form, "email": "FIRST@ulytau.example.kz"}
    )
    assert duplicate.status_code == 400
    assert "Another account has this e-mail address." in duplicate.get_data(as_text=True)
    bad = admin.post(f"/admin/users/{user.id}", data={**form, "email": "second@"})
    assert bad.status_code == 400 and "This is not an e-mail address." in bad.get_data(as_text=True)
    saved = admin.post(
        f"/admin/users/{user.id}",
        data={**form, "email": "second@ulytau.example.kz", "notify_by_email": "y"},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    row = db.session.get(User, user.id)
    assert (row.email, row.notify_by_email) == ("second@ulytau.example.kz", True)
    assert db.session.get(User, taken.id).notify_by_email is False
    change = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.action == "user.update")
        .order_by(AuditEvent.id.desc())
    )
    assert change.details["email"] == ["", "second@ulytau.example.kz"]
    # The language of the last login is the language of the user's mail.
    flask_babel.refresh()
    client = app.test_client()
    client.post("/login?lang=ru", data={"username": "second", "password": PASSWORD})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "ru"
