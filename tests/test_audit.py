"""The audit log: what is recorded, by whom, from where, and the administrators' search screen."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.models import AuditEvent, ScanJob
from mura.app.modules.administration import accounts, audit
from tests.auth_helpers import logged_in, make_user


def _events(action: str | None = None) -> list[AuditEvent]:
    stmt = db.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (200, 300), 255).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def test_record_takes_user_and_address_from_the_request(app: Flask) -> None:
    user = make_user("aigerim")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        from flask_login import login_user

        login_user(user)
        audit.record("thing.touch", "thing", 42, note="hello", count=3)
        db.session.commit()
    event = _events("thing.touch")[0]
    assert (event.user_id, event.username, event.ip) == (user.id, "aigerim", "192.0.2.7")
    assert (event.object_type, event.object_id) == ("thing", "42")
    assert event.details == {"note": "hello", "count": 3}
    assert event.created_at is not None


def test_record_outside_a_request_and_rolled_back_actions(app: Flask) -> None:
    audit.record("thing.cli", "thing", "b07")
    db.session.commit()
    event = _events("thing.cli")[0]
    assert (event.user_id, event.ip, event.details) == (None, None, {"via": "cli"})
    audit.record("thing.undone", "thing", 1)
    db.session.rollback()  # the action did not happen: neither did its event
    assert _events("thing.undone") == []


def test_upload_retry_and_logins_are_recorded(app: Flask, logged_in_client: FlaskClient) -> None:
    data = {"title": "Қарағанды", "doc_type": "book", "langs": "kaz", "authors": ""}
    png = io.BytesIO()
    Image.new("L", (200, 300), 255).save(png, format="PNG")
    data["files"] = [(io.BytesIO(png.getvalue()), "page.png")]  # queued: a retry finds nothing
    response = logged_in_client.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    job = db.session.scalars(db.select(ScanJob)).one()
    assert job.created_by.username == "aigerim" and job.branch.code == "central"
    upload = _events("job.upload")[0]
    assert upload.username == "aigerim" and upload.object_id == str(job.id)
    assert upload.details["pages"] == 1 and upload.details["title"] == "Қарағанды"
    assert upload.ip == "127.0.0.1"
    logged_in_client.post(f"/staff/jobs/{job.id}/retry")
    retry = _events("job.retry")[0]
    assert (retry.username, retry.object_id, retry.details) == (
        "aigerim",
        str(job.id),
        {"pages": 0},
    )
    actions = [e.action for e in _events()]
    assert actions.index("auth.login") < actions.index("job.upload") < actions.index("job.retry")


def test_user_and_branch_changes_are_recorded(app: Flask) -> None:
    make_user("admin", "admin", None)
    admin = logged_in(app, "admin")
    target = make_user("dana", "staff", "central")
    accounts.create_branch("b02", "Филиал 2", "", "")
    response = admin.post(
        f"/admin/users/{target.id}",
        data={"display_name": "Дана", "role": "staff", "branch": "b02", "active": "y"},
    )
    assert response.status_code == 302
    event = _events("user.update")[-1]
    assert event.username == "admin" and event.object_id == str(target.id)
    assert event.details["branch"] == ["central", "b02"]
    assert event.details["display_name"] == ["", "Дана"]
    assert "role" not in event.details  # only what changed
    branch = accounts.get_branch("b02")
    admin.post(
        f"/admin/branches/{branch.id}",
        data={"code": "b02", "name_kk": "Филиал 2", "name_ru": "Филиал №2", "name_en": ""},
    )
    event = _events("branch.update")[-1]
    assert event.details["name_ru"] == ["", "Филиал №2"] and event.username == "admin"
    assert {"user.create", "branch.create"} <= {e.action for e in _events()}


def test_audit_screen_searches_and_pages(app: Flask) -> None:
    make_user("admin", "admin", None)
    dana = make_user("dana", "staff", "central")
    for n in range(60):
        audit.record("job.upload", "scan_job", n, actor=dana)
    audit.record("branch.update", "branch", 7, actor=None)
    old = audit.record("job.retry", "scan_job", 5, actor=dana)
    old.created_at = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    db.session.commit()
    admin = logged_in(app, "admin")

    page = admin.get("/admin/audit?lang=en").get_data(as_text=True)
    assert page.count("<tr data-action=") == audit.PER_PAGE  # newest first, 50 a page
    assert 'rel="next"' in page
    second = admin.get("/admin/audit?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and "<tr data-action=" in second

    by_user = admin.get("/admin/audit?username=Dana&action=job.retry").get_data(as_text=True)
    assert by_user.count("<tr data-action=") == 1
    by_object = admin.get("/admin/audit?object_type=scan_job&object_id=5").get_data(as_text=True)
    assert by_object.count("<tr data-action=") == 2  # its upload and its retry
    by_prefix = admin.get("/admin/audit?action=auth").get_data(as_text=True)
    assert 'data-action="auth.login"' in by_prefix and 'data-action="job.' not in by_prefix
    january = admin.get("/admin/audit?date_from=2026-01-10&date_to=2026-01-10")
    assert january.get_data(as_text=True).count("<tr data-action=") == 1
    before = admin.get("/admin/audit?date_to=2026-01-09").get_data(as_text=True)
    assert "<tr data-action=" not in before
    assert admin.get("/admin/audit?date_from=not-a-date").status_code == 400

    staff = logged_in(app, "dana")
    assert staff.get("/admin/audit").status_code == 403


def test_date_range_is_in_the_interfaces_time_zone(app: Flask) -> None:
    event = audit.record("thing.late", "thing", 1)
    event.created_at = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 2 March, 02:00 in Bishkek
    db.session.commit()

    def found(tz: str, day: date) -> bool:
        filters = audit.Filters(action="thing", date_from=day, date_to=day)
        return bool(db.session.scalars(audit.query(filters, tz)).all())

    assert found("UTC", date(2026, 3, 1)) and not found("UTC", date(2026, 3, 2))
    assert found("Asia/Bishkek", date(2026, 3, 2)) and not found("Asia/Bishkek", date(2026, 3, 1))
