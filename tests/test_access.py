"""Every route of the app, tried as every kind of visitor: who may reach what.

The walk iterates ``app.url_map``, so a route added later is tried too. Routes outside the
staff area (``/staff``, ``/api/jobs``) and ``/admin`` must be listed in ``PUBLIC`` or
``LOGIN_ONLY`` below: a new route nobody classified fails the test until someone decides who
may see it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, ScanJob, User
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
from tests.auth_helpers import branch, logged_in, make_user

#: Routes anyone may use, logged in or not (endpoint names).
PUBLIC = {
    "static",
    "public.index",
    "public.search",
    "public.document",
    "public.document_pdf",
    "catalogue.collections",
    "catalogue.collection",
    "catalogue.cover",
    "browse.index",
    "browse.authors",
    "browse.subjects",
    "catalogue.document_dc",
    "catalogue.record_dc",
    "api.search",
    "oai.endpoint",
    "auth.login",
    "auth.logout",
    "auth.forgot",  # "forgot password" and the reset link (tests/test_mail.py)
    "auth.reset_password",
    # the reader and IIIF (each checks that the document is public), readers' copy requests
    "reader.read",
    "reader.recent",
    "reader.read_page",
    "reader.page_image",
    "reader.bibtex",
    "reader.iiif_manifest",
    "reader.iiif_canvas",
    "reader.iiif_search",
    "reader.iiif_search1",
    "reader.iiif_autocomplete",
    "reader.iiif_autocomplete1",
    "alto.page_alto",
    "reader.iiif_image_base",
    "reader.iiif_image_info",
    "reader.iiif_image_tile",
    "requests.new",
    "requests.status",
}
#: Routes for any logged-in user, whatever the role (anonymous visitors are sent to log in).
LOGIN_ONLY = {"auth.password"}
#: Never walked with a logged-in client: it would end the session the walk goes on with.
SKIP = {("auth.logout", "POST")}
#: Staff-area routes (endpoint, method) that staff of another branch may not use on this
#: branch's objects (staff read every branch's: tests/test_hardening_authz.py).
OWN_BRANCH_ONLY = {
    ("staff.retry", "POST"),
    ("staff.reocr", "POST"),
    ("staff.page_text", "POST"),
    ("staff_review.submit", "POST"),
    ("staff_pages.add", "POST"),
    ("staff_pages.replace", "POST"),
    ("staff_pages.move", "POST"),
    ("staff_pages.remove", "POST"),
    ("staff_lifecycle.discard", "GET"),  # the confirmation page of an action they may not take
    ("staff_lifecycle.discard", "POST"),
    ("staff_lifecycle.delete", "GET"),
    ("staff_lifecycle.delete", "POST"),
}

STAFF_PREFIXES = ("/staff", "/api/jobs")
ADMIN_PREFIXES = ("/admin",)


@dataclass
class World:
    """The sample rows whose ids fill the URLs, and one logged-in client per kind of visitor."""

    values: dict[str, object]
    clients: dict[str, FlaskClient]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (200, 300), 255).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


@pytest.fixture
def world(app: Flask) -> World:
    branch("central")
    other = branch("b02", central=False)
    staff = make_user("staff-a", "staff", "central")
    make_user("staff-b", "staff", "b02")
    make_user("reviewer", "reviewer", None)
    make_user("admin", "admin", None)
    target = make_user("target", "staff", "central")
    job = ingest(
        [Upload("1.png", io.BytesIO(_png()))],
        DocumentFields("Sample", "book", [], "kaz"),
        user=staff,
    )
    record = CatalogueRecord(title="Sample record")
    collection = Collection(slug="sample", title="Sample collection")
    db.session.add_all([record, collection])
    db.session.commit()
    job.status = "done"  # so that retry and re-OCR have something to act on
    job.pages[0].state = "failed"
    db.session.commit()
    values = {
        "job_id": job.id,
        "document_id": job.document_id,
        "page_id": job.pages[0].id,
        "record_id": record.id,
        "collection_id": collection.id,
        "slug": collection.slug,
        "user_id": target.id,
        "branch_id": other.id,
        "filename": "css/mura.css",
        "seq": 1,
        "width": 400,
        # IIIF Image API tile requests
        "region": "full",
        "size": "max",
        "rotation": "0",
        "quality": "default.jpg",
        "token": "no-such-token",
        "request_id": 1,  # no such row: a 404 once the guard let the visitor through
        # /admin/rights (docs/rights.md): no such rows; the admin-only guard answers first.
        "contract_id": 1,
        "holder_id": 1,
        "lang": "kk",
    }
    clients = {
        "anonymous": app.test_client(),
        "reviewer": logged_in(app, "reviewer"),
        "other_branch_staff": logged_in(app, "staff-b"),
        "staff": logged_in(app, "staff-a"),
        "admin": logged_in(app, "admin"),
    }
    return World(values, clients)


def _area(path: str, endpoint: str) -> str:
    """The area by URL, or by blueprint name (``staff*``, ``admin``, ``admin_*``)."""

    def under(prefixes: tuple[str, ...]) -> bool:
        return any(path == p or path.startswith(p + "/") for p in prefixes)

    blueprint = endpoint.rpartition(".")[0]
    if under(ADMIN_PREFIXES) or blueprint == "admin" or blueprint.startswith("admin_"):
        return "admin"
    if under(STAFF_PREFIXES) or blueprint.startswith("staff"):
        return "staff"
    return "public"


def _requests(app: Flask, values: dict[str, object]) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) of every route, with sample values in its arguments."""
    out = []
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: add a sample value for {missing} to world()"
        _domain, path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, path))
    return out


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def _denied_anonymous(response) -> bool:
    return _is_login_redirect(response) or response.status_code == 401


def _let_through(response) -> bool:
    return response.status_code not in (401, 403) and not _is_login_redirect(response)


def _expected(area: str, who: str, endpoint: str, method: str, app: Flask) -> str:
    """``"login"`` (anonymous sent to log in), ``"forbidden"`` (403) or ``"allowed"``."""
    if area == "public":
        if endpoint in LOGIN_ONLY:
            return "login" if who == "anonymous" else "allowed"
        return "allowed"
    if who == "anonymous":
        return "login"
    if area == "admin":
        return "allowed" if who == "admin" else "forbidden"
    declared = getattr(app.view_functions[endpoint], "_mura_roles", None)
    if who == "reviewer" and method != "GET":
        return "allowed" if declared and "reviewer" in declared else "forbidden"
    if who == "reviewer" and declared and "reviewer" not in declared:
        return "forbidden"  # declared roles hold for every method (discard, delete, withdraw)
    if who in ("staff", "other_branch_staff") and declared and "staff" not in declared:
        return "forbidden"  # e.g. approving a document: reviewers decide
    if who == "other_branch_staff" and (endpoint, method) in OWN_BRANCH_ONLY:
        return "forbidden"
    return "allowed"


def test_every_route_is_classified(app: Flask) -> None:
    unclassified = sorted(
        {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if _area(rule.rule, rule.endpoint) == "public"
            and rule.endpoint not in PUBLIC | LOGIN_ONLY
        }
    )
    assert unclassified == [], (
        "new routes outside /staff and /admin: add them to PUBLIC or LOGIN_ONLY in "
        f"tests/test_access.py (or move them under /staff): {unclassified}"
    )


def test_walk_every_route_as_every_visitor(app: Flask, world: World) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a view's own bug is a 500, not an access leak
    wrong = []
    for who, client in world.clients.items():
        for endpoint, method, url in _requests(app, world.values):
            if who != "anonymous" and (endpoint, method) in SKIP:
                continue
            area = _area(url, endpoint)
            response = client.open(url, method=method)
            response.close()
            expected = _expected(area, who, endpoint, method, app)
            ok = {
                "login": _denied_anonymous(response),
                "forbidden": response.status_code == 403,
                "allowed": _let_through(response),
            }[expected]
            if area != "public" and who == "anonymous":
                ok = ok and response.status_code != 200  # never, whatever else happens
            if area == "admin" and who != "admin":
                ok = ok and response.status_code != 200
            if not ok:
                wrong.append(
                    f"{who:>18} {method:4} {url} → {response.status_code}, want {expected}"
                )
    assert wrong == [], "\n" + "\n".join(wrong)


def test_api_answers_json_401_and_403(app: Flask, world: World) -> None:
    job_id = world.values["job_id"]
    response = world.clients["anonymous"].get(f"/api/jobs/{job_id}")
    assert response.status_code == 401
    assert "error" in response.get_json()
    assert world.clients["reviewer"].get(f"/api/jobs/{job_id}").status_code == 200
    response = world.clients["staff"].get("/staff/records/search.json?q=x")
    assert response.status_code == 200
    response = world.clients["anonymous"].get("/staff/records/search.json?q=x")
    assert response.status_code == 401 and response.is_json


def test_anonymous_is_sent_to_login_and_back(app: Flask, world: World) -> None:
    client = world.clients["anonymous"]
    response = client.get("/staff/upload?lang=en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/staff/upload?lang%3Den"
    from tests.auth_helpers import PASSWORD

    response = client.post(
        "/login",
        data={"username": "staff-a", "password": PASSWORD, "next": "/staff/upload?lang=en"},
    )
    assert response.headers["Location"] == "/staff/upload?lang=en"


def test_a_staff_blueprint_added_later_is_guarded(tmp_path) -> None:
    """The guard knows blueprints by name and URL, not by a list kept somewhere."""
    from flask import Blueprint

    from mura.app import web
    from tests.conftest import make_app

    late = Blueprint("staff_reports", __name__)
    late.add_url_rule("/reports", "reports", lambda: "secret figures")
    elsewhere = Blueprint("staff_elsewhere", __name__)
    elsewhere.add_url_rule("/figures", "figures", lambda: "more secret figures")
    original = web._register_accounts

    def with_late(app: Flask) -> None:
        original(app)
        app.register_blueprint(late, url_prefix="/staff/reports")
        app.register_blueprint(elsewhere, url_prefix="/figures")

    web._register_accounts = with_late
    try:
        app = make_app(tmp_path / "late")
    finally:
        web._register_accounts = original
    with app.app_context():
        client = app.test_client()
        assert _is_login_redirect(client.get("/staff/reports/reports"))
        assert _is_login_redirect(client.get("/figures/figures"))  # by its name "staff_*"
        make_user("late", "staff")
        staff = logged_in(app, "late")
        assert staff.get("/staff/reports/reports").get_data(as_text=True) == "secret figures"
        db.engine.dispose()


def test_jobs_list_shows_the_users_branch_first(app: Flask, world: World) -> None:
    staff_b = db.session.scalar(db.select(User).where(User.username == "staff-b"))
    ingest(
        [Upload("1.png", io.BytesIO(_png()))],
        DocumentFields("Branch two's book", "book", [], "kaz"),
        user=staff_b,
    )
    own = world.clients["staff"].get("/staff/").get_data(as_text=True)
    assert "Sample" in own and "Branch two" not in own
    everything = world.clients["staff"].get("/staff/?all=1").get_data(as_text=True)
    assert "Sample" in everything and "Branch two" in everything
    # without a branch (administrator, reviewer): every branch
    assert "Branch two" in world.clients["reviewer"].get("/staff/").get_data(as_text=True)


def test_staff_retry_only_their_own_branchs_jobs(app: Flask, world: World) -> None:
    job_id = world.values["job_id"]
    assert (
        world.clients["other_branch_staff"].post(f"/staff/jobs/{job_id}/retry").status_code == 403
    )
    assert world.clients["reviewer"].post(f"/staff/jobs/{job_id}/retry").status_code == 403
    assert db.session.get(ScanJob, job_id).pages[0].state == "failed"
    assert world.clients["staff"].post(f"/staff/jobs/{job_id}/retry").status_code == 302
    db.session.expire_all()
    assert db.session.get(ScanJob, job_id).pages[0].state == "queued"
