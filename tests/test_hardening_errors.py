"""Hardening (issue 18, findings 5 and 6): hostile input gets a 404, an OAI error or a clear
message, never a 500 or a traceback; what Mura publishes never carries a forged Host; what it
writes under MURA_HOME is readable by its own user only."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.auth_helpers import logged_in, make_user

#: Past PostgreSQL's integer (2**31), SQLite's and bigint (2**63), and far past (issue 18: 500s).
HUGE_IDS = (2**31, 2**63, 10**30)


def _int_rules(app: Flask) -> list[Rule]:
    """Every rule of the app with at least one ``int`` argument."""
    from werkzeug.routing.converters import IntegerConverter

    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
    ]


def _path(rule: Rule, value: int) -> str:
    """The rule's path with ``value`` for every int argument (and "en" for any other)."""
    from werkzeug.routing.converters import IntegerConverter

    path = rule.rule
    for name, converter in rule._converters.items():
        kind = "int" if isinstance(converter, IntegerConverter) else None
        token = f"<{kind}:{name}>" if kind else f"<{name}>"
        path = path.replace(token, str(value) if kind else "en")
    return path


@pytest.mark.parametrize("role", ["anonymous", "admin", "staff"])
def test_huge_ids_are_404_on_every_int_route(app: Flask, role: str) -> None:
    """Walk every route with an int converter: ids past the database's range are never a 500."""
    rules = _int_rules(app)
    assert len(rules) >= 40, [r.rule for r in rules]
    if role == "anonymous":
        client = app.test_client()
    else:
        client = logged_in(app, make_user(f"u-{role}", role, "central"))
    failures = []
    for rule in rules:
        for value in HUGE_IDS:
            path = _path(rule, value)
            assert "<" not in path, path
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                try:
                    response = client.open(path, method=method)
                except Exception as exc:
                    failures.append((method, path, repr(exc)[:80]))
                    continue
                # An admin may open every route: only "no such id" (or a wrong method) is right.
                expected = (404, 405) if role == "admin" else (302, 401, 403, 404, 405)
                if response.status_code not in expected:
                    failures.append((method, path, response.status_code))
    assert not failures, failures


@pytest.mark.production
def test_huge_ids_are_404_on_postgresql(tmp_path) -> None:
    """PostgreSQL's ids are int4: 2**31 already failed there (NumericValueOutOfRange), a 500."""
    import uuid

    import psycopg

    from mura.app.extensions import db
    from tests.catalogue_helpers import make_document
    from tests.conftest import PG_ADMIN_URL, _drop_database, make_app

    name = f"mura_hard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        app = make_app(tmp_path / "pg-home", DATABASE_URL=url)
        with app.app_context():
            document_id = make_document("Қарағанды").id
            client = app.test_client()
            for value in (2**31, 2**63, 10**30):
                for path in (f"/documents/{value}", f"/read/{document_id}/{value}",
                             f"/iiif/{value}/manifest", f"/recent?page={value}",
                             f"/requests/new?record={value}",
                             f"/oai?verb=GetRecord&metadataPrefix=oai_dc"
                             f"&identifier=oai:mura.local:document/{value}"):  # fmt: skip
                    assert client.get(path).status_code in (200, 302, 404), path
            db.session.remove()
            db.engine.dispose()
    finally:
        _drop_database(name)


def test_huge_numbers_in_queries_and_forms_are_no_500(app: Flask) -> None:
    """Query arguments and form fields that name an id or a page are bounded like the URLs."""
    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord, Collection
    from mura.app.modules.catalogue import records
    from tests.catalogue_helpers import iso, make_document, marc21_book

    document = make_document("Қарағанды")
    collection = Collection(slug="karlag", title="Карлаг")
    db.session.add(collection)
    db.session.commit()
    records.import_marc(iso(marc21_book()))
    record_id = db.session.scalar(db.select(CatalogueRecord.id))
    admin = logged_in(app, make_user("boss", "admin", "central"))
    anonymous = app.test_client()
    huge = str(10**30)
    for client, path in (
        (anonymous, f"/recent?page={huge}"),
        (anonymous, f"/requests/new?record={huge}"),
        (anonymous, f"/search?q=x&page={huge}"),
        (anonymous, f"/documents/{document.id}?from={huge}"),
        (anonymous, f"/read/{document.id}?p={huge}&zoom={huge}"),
        (admin, f"/admin/rights/documents?id={huge}"),
        (admin, f"/admin/audit?page={huge}"),
        (admin, f"/admin/reports/?year={huge}"),
    ):
        assert client.get(path).status_code < 500, path
    for path, data in (
        (f"/staff/records/{record_id}/documents", {"document_id": huge}),
        (f"/staff/collections/{collection.id}/documents", {"document_id": huge}),
        ("/requests/new", {"record_id": huge, "name": "Айгүл", "email": "a@example.kz"}),
        ("/requests/new", {"record_id": "²", "name": "Айгүл", "email": "a@example.kz"}),
    ):
        response = admin.post(path, data=data, follow_redirects=True)
        assert response.status_code < 500, path
        if "documents" in path:
            assert "No such document" in response.get_data(as_text=True), path


# --- OAI-PMH: hostile arguments are OAI errors, valid against the schema ------------------------

OAI_NS = {"oai": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture(scope="module")
def oai_schema():
    """OAI-PMH.xsd with the namespaces inside its responses (tests/catalogue_helpers.py)."""
    from tests.catalogue_helpers import oai_schema as schema

    return schema()


def _token(value: object) -> str:
    """A resumption token as Mura writes them (url-safe base64 of JSON), holding ``value``."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


_LIST = "verb=ListRecords&metadataPrefix=oai_dc"
_VALID = ["ListRecords", "oai_dc", None, None, None, 0, 0]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (f"{_LIST}&from=%01", "badArgument"),
        (f"{_LIST}&until=2020-01-01%00", "badArgument"),
        (f"{_LIST}&set=karlag%1F", "badArgument"),
        (f"{_LIST}&set=%EF%BF%BE", "badArgument"),  # U+FFFE: not an XML character either
        (
            "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:mura.local:document/1%02",
            "badArgument",
        ),
        ("verb=Identify%01", "badArgument"),
        ("verb=Identify&%01=1", "badArgument"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&verb=ListSets", "badVerb"),
        ("verb=ListIdentifiers&verb=Nonsense&metadataPrefix=oai_dc", "badVerb"),
        (f"{_LIST}&set=a&set=b", "badArgument"),
        ("verb=ListRecords&resumptionToken=x&resumptionToken=y", "badArgument"),
        (
            f"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:mura.local:document/{10**30}",
            "idDoesNotExist",
        ),
        (
            f"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:mura.local:document/{2**63}",
            "idDoesNotExist",
        ),
        (f"{_LIST}&until=9999-12-31", "noRecordsMatch"),
        (f"{_LIST}&from=9999-12-31T23:59:59Z", "noRecordsMatch"),
    ],
)
def test_hostile_oai_arguments_are_oai_errors(
    app: Flask, oai_schema, query: str, code: str
) -> None:
    """Control characters, repeated arguments and huge ids: an OAI error, never a 500."""
    _assert_oai_error(app, query, code, oai_schema)


@pytest.mark.parametrize(
    "token",
    [
        _token([1, 2]),
        _token(5),
        _token("garbage"),
        _token({"verb": "ListRecords"}),
        _token(None),
        _token(["ListRecords", ["oai_dc"], None, None, None, 0, 0]),
        _token(["ListRecords", "oai_dc", ["set"], None, None, 0, 0]),
        _token(["ListRecords", "oai_dc", None, 20200101, None, 0, 0]),
        _token(["ListRecords", "oai_dc", None, "yesterday", None, 0, 0]),
        _token(["ListRecords", "oai_dc", None, "2020-01-01\u0001", None, 0, 0]),
        _token(["ListRecords", "oai_dc", "a\u0001", None, None, 0, 0]),
        _token(["ListRecords", "oai_dc", None, None, None, 10**30, 0]),
        _token(["ListRecords", "oai_dc", None, None, None, 2**63, 0]),
        _token(["ListRecords", "oai_dc", None, None, None, -1, 0]),
        _token(["ListRecords", "oai_dc", None, None, None, "5", 0]),
        _token(["ListRecords", "oai_dc", None, None, None, True, 0]),
        _token(["ListRecords", "oai_dc", None, None, None, 0, 1.5]),
        _token(["ListRecords", "oai_dc", None, None, None, 0, 0, 0]),
        _token(["ListIdentifiers", "oai_dc", None, None, None, 0, 0]),
        _token("[" * 100_000),
        "%%%not-base64%%%",
        "A" * 5000,
        "",
    ],
)
def test_forged_resumption_tokens_are_bad_resumption_tokens(
    app: Flask, oai_schema, token: str
) -> None:
    """A token holding a list, a number, a string or garbage where Mura's fields belong."""
    from urllib.parse import quote

    _assert_oai_error(
        app, f"verb=ListRecords&resumptionToken={quote(token)}", "badResumptionToken", oai_schema
    )


def test_a_valid_token_still_pages(app: Flask, oai_schema) -> None:
    """The checks refuse forged tokens only: an honest one is still answered."""
    from tests.catalogue_helpers import make_document

    make_document("Жарияланған")
    body = app.test_client().get(f"/oai?verb=ListRecords&resumptionToken={_token(_VALID)}").data
    from lxml import etree

    doc = etree.fromstring(body)
    assert oai_schema.validate(doc), oai_schema.error_log
    assert doc.find("oai:error", OAI_NS) is None
    assert doc.find("oai:ListRecords/oai:record", OAI_NS) is not None


def test_repeated_verb_in_a_post_is_bad_verb(app: Flask, oai_schema) -> None:
    from lxml import etree

    response = app.test_client().post("/oai", data={"verb": ["Identify", "ListSets"]})
    doc = etree.fromstring(response.data)
    assert response.status_code == 200
    assert oai_schema.validate(doc), oai_schema.error_log
    assert doc.find("oai:error", OAI_NS).get("code") == "badVerb"


def _assert_oai_error(app: Flask, query: str, code: str, schema) -> None:
    from lxml import etree

    try:
        response = app.test_client().get(f"/oai?{query}")
    except Exception as exc:
        pytest.fail(f"{query}: {exc!r}")
    assert response.status_code == 200, query
    doc = etree.fromstring(response.data)
    assert schema.validate(doc), (query, schema.error_log)
    error = doc.find("oai:error", OAI_NS)
    assert error is not None and error.get("code") == code, (query, response.data[:600])
    if code in ("badVerb", "badArgument"):
        assert not doc.find("oai:request", OAI_NS).attrib


# --- catalogue links: http(s) only ---------------------------------------------------------------

_SCRIPT_LINKS = (
    "javascript:alert(document.cookie)//{id}",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "javascript://opac.example.kz/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://opac.example.kz/{id}",
    "//opac.example.kz/{id}",
)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "A link must be an address starting with http:// or https://."),
        ("ru", "Ссылка должна быть адресом, начинающимся с http:// или https://."),
        ("kk", "Сілтеме http:// немесе https:// деп басталатын мекенжай болуы керек."),
    ],
)
def test_catalogue_link_template_must_be_http(app: Flask, lang: str, message: str) -> None:
    """The import form refuses a non-http(s) link template, in the reader's language."""
    import io

    from flask_babel import refresh

    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord
    from tests.catalogue_helpers import iso, marc21_book

    client = logged_in(app, make_user("cataloguer", "admin", "central"))
    for link in _SCRIPT_LINKS:
        data = {"fmt": "auto", "flavour": "auto", "encoding": "", "branch": ""}
        data["url_template"] = link
        data["file"] = (io.BytesIO(iso(marc21_book())), "book.mrc")
        refresh()  # the test's app context outlives requests: forget the locale chosen last
        response = client.post(
            f"/staff/records/import?lang={lang}", data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 400, link
        assert message in response.get_data(as_text=True), link
    assert db.session.scalar(db.select(db.func.count(CatalogueRecord.id))) == 0


def test_http_link_template_is_still_accepted(app: Flask) -> None:
    import io

    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord
    from tests.catalogue_helpers import iso, marc21_book

    client = logged_in(app, make_user("cataloguer", "admin", "central"))
    data = {"fmt": "auto", "flavour": "auto", "encoding": "", "branch": ""}
    data["url_template"] = " https://opac.example.kz/record/{id} "
    data["file"] = (io.BytesIO(iso(marc21_book())), "book.mrc")
    response = client.post("/staff/records/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    record = db.session.scalars(db.select(CatalogueRecord)).one()
    assert record.external_url == "https://opac.example.kz/record/KRG-000123"


def test_record_link_must_be_http(app: Flask) -> None:
    """The record form's own link: WTForms' URL() let ``javascript://host/%0a…`` through."""
    from tests.test_records_web import RECORD_FORM

    client = logged_in(app, make_user("cataloguer", "admin", "central"))
    data = {**RECORD_FORM, "external_url": "javascript://opac.example.kz/%0aalert(1)"}
    response = client.post("/staff/records/new", data=data)
    assert response.status_code != 302
    assert "A link must be an address starting with http:// or https://." in response.get_data(
        as_text=True
    )


def test_cli_refuses_a_script_link_template(app: Flask, tmp_path) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from mura.app.cli import cli
    from tests.catalogue_helpers import iso, marc21_book

    path = tmp_path / "records.mrc"
    path.write_bytes(iso(marc21_book()))
    result = CliRunner().invoke(
        cli,
        ["records", "import", str(path), "--url-template", "javascript:alert(1)//{id}"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 2, result.output
    assert "http:// or https://" in result.output
    assert "Traceback" not in result.output


# --- the public base URL and trusted hosts -------------------------------------------------------

PUBLIC = "https://e-lib.example.kz/mura"
FORGED = "evil.example"


def _public_app(tmp_path, **config: object) -> Flask:
    from tests.conftest import make_app

    return make_app(tmp_path / "public-home", **config)


@pytest.mark.parametrize(
    "path",
    ["/iiif/{id}/manifest", "/oai?verb=Identify", "/oai?verb=ListRecords&metadataPrefix=oai_dc",
     "/oai?verb=GetRecord&metadataPrefix=marc21&identifier=oai:mura.local:document/{id}",
     "/api/documents/{id}/dc", "/documents/{id}/cite.bib"],
)  # fmt: skip
def test_forged_host_never_reaches_what_mura_publishes(tmp_path, path: str) -> None:
    """With MURA_PUBLIC_BASE_URL: a forged Host gets 400; a trusted one changes no URL."""
    from mura.app.extensions import db
    from tests.catalogue_helpers import make_document

    app = _public_app(tmp_path, PUBLIC_BASE_URL=PUBLIC + "/")
    assert app.config["PUBLIC_BASE_URL"] == PUBLIC
    assert app.config["TRUSTED_HOSTS"] == ["e-lib.example.kz", "localhost", "127.0.0.1"]
    with app.app_context():
        document_id = make_document("Қарағанды хроникасы").id
        url = path.format(id=document_id)
        client = app.test_client()
        for forged in (
            {"base_url": f"http://{FORGED}"},
            {"headers": {"Host": FORGED}},
            {"headers": {"Host": f"{FORGED}:443"}},
            {"base_url": f"https://e-lib.example.kz.{FORGED}"},
        ):
            response = client.get(url, **forged)
            assert response.status_code == 400, forged
            assert FORGED not in response.get_data(as_text=True)
        for host in ("http://localhost", "https://e-lib.example.kz", "http://127.0.0.1:8000"):
            response = client.get(url, base_url=host)
            assert response.status_code == 200, (host, response.get_data(as_text=True)[:300])
            body = response.get_data(as_text=True)
            assert f"{PUBLIC}/" in body, body[:500]
            assert "localhost" not in body and "127.0.0.1" not in body
        db.session.remove()
        db.engine.dispose()


def test_trusted_hosts_alone_refuse_a_forged_host(tmp_path) -> None:
    """MURA_TRUSTED_HOSTS as the environment gives it (comma-separated), no public base URL."""
    from flask_babel import refresh

    from mura.app.extensions import db

    app = _public_app(tmp_path, TRUSTED_HOSTS="e-lib.example.kz, localhost")
    assert app.config["TRUSTED_HOSTS"] == ["e-lib.example.kz", "localhost"]
    with app.app_context():
        client = app.test_client()
        for path in ("/oai?verb=Identify", "/staff/", "/admin/", "/login", "/?lang=ru"):
            response = client.get(path, base_url=f"http://{FORGED}")
            assert response.status_code == 400, path
            assert FORGED not in response.get_data(as_text=True)
        refresh()
        response = client.get("/?lang=kk", base_url=f"http://{FORGED}")
        assert response.get_data(as_text=True) == "Бұл сайт осы мекенжай бойынша жауап бермейді."
        refresh()
        response = client.post("/login", base_url=f"http://{FORGED}", data={"username": "x"})
        assert response.status_code == 400
        body = client.get("/oai?verb=Identify").get_data(as_text=True)
        assert "<baseURL>http://localhost/oai</baseURL>" in body
        db.engine.dispose()


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "e-lib.example.kz", "https://", "ftp://x.kz"]
)
def test_a_public_base_url_must_be_http(tmp_path, bad: str) -> None:
    with pytest.raises(ValueError, match="MURA_PUBLIC_BASE_URL must be an http"):
        _public_app(tmp_path, PUBLIC_BASE_URL=bad)


# --- what Mura writes is its own user's only -----------------------------------------------------


def _mura(home, *args: str, check: bool = True):
    """Run ``mura`` as a fresh process under the usual login umask (022), as a service starts."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(MURA_HOME=str(home), MURA_SECRET_KEY="test", OMP_THREAD_LIMIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mura.app.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def _open_to_others(*roots) -> list[str]:
    """Every file or folder under ``roots`` that its group or others may read or enter."""
    import stat

    found = []
    for root in roots:
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                found.append(f"{oct(mode)} {path.relative_to(root)}")
    return found


def test_database_store_broker_and_backups_are_private(tmp_path, corpus) -> None:
    """After an ingest and a backup, nothing Mura wrote is readable by group or others."""
    import stat

    home = tmp_path / "home"
    _mura(home, "db", "upgrade")
    _mura(home, "ingest", str(corpus / "p01_book.png"), "--title", "Кітап", "--type", "book")
    _mura(home, "backup", str(tmp_path / "backups" / "monday"))
    objects = [p for p in (home / "store" / "objects").rglob("*") if p.is_file()]
    assert objects, "the ingest stored nothing"
    assert list((home / "broker").rglob("*.msg")), "the ingest queued nothing"
    assert stat.S_IMODE((home / "mura.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(objects[0].stat().st_mode) == 0o400
    assert stat.S_IMODE((tmp_path / "backups" / "monday").stat().st_mode) == 0o700
    assert not _open_to_others(home, tmp_path / "backups")


def test_an_existing_home_is_closed_to_others(tmp_path) -> None:
    """A MURA_HOME made before (0755, files 0644 inside) is closed at the next start."""
    import stat

    home = tmp_path / "old-home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    _mura(home, "db", "upgrade")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


# --- mura import-bag with a broken mura.json -----------------------------------------------------


def _broken_descriptions() -> dict[str, object]:
    """How a bag's mura.json can be broken (each written with valid bag manifests)."""
    from mura.app.modules.preservation.preservation import FORMAT

    return {
        "not JSON": "{not json",
        "a list": [],
        "a number": 5,
        "nested too deep": "[" * 100_000,
        "no document": {"format": FORMAT, "files": {}, "pages": []},
        "an id that is a list": lambda d: d["document"].update(id=[1]),
        "a huge id": lambda d: d["document"].update(id=10**30),
        "pages that are numbers": lambda d: d.update(pages=[1, 2]),
        "a file that is a string": lambda d: d["files"].update({k: "x" for k in d["files"]}),
        "a title that is an object": lambda d: d["document"].update(title={"kk": "Кітап"}),
        "a page date that is no date": lambda d: d["pages"][0].update(queued_at="yesterday"),
        "a page without files": lambda d: d["pages"][0].pop("files"),
    }


def test_import_bag_with_a_broken_mura_json_says_so(app: Flask, tmp_path) -> None:
    """Every broken description: exit 1, a message naming mura.json, no traceback, no document."""
    import io
    import json
    import shutil

    import bagit
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from mura.app.cli import cli
    from mura.app.extensions import db
    from mura.app.models import Document
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
    from mura.app.modules.preservation import preservation
    from tests.conftest import make_app
    from tests.synthetic import render_pages

    uploads = [Upload(p.name, io.BytesIO(p.read_bytes())) for p in render_pages(tmp_path / "p", 1)]
    job = ingest(uploads, DocumentFields("Кітап", "book", [], "eng"))
    pristine = tmp_path / "bag"
    preservation.export_bag([job.document_id], pristine)
    described = pristine / "data" / "documents" / str(job.document_id) / "metadata" / "mura.json"
    original = json.loads(described.read_text(encoding="utf-8"))

    other = make_app(tmp_path / "other")
    with other.app_context():
        for name, breakage in _broken_descriptions().items():
            bag = tmp_path / f"bag-{len(list(tmp_path.glob('bag-*')))}"
            shutil.copytree(pristine, bag)
            target = bag / described.relative_to(pristine)
            if callable(breakage):
                desc = json.loads(json.dumps(original))
                breakage(desc)
                target.write_text(json.dumps(desc), encoding="utf-8")
            else:
                text = breakage if isinstance(breakage, str) else json.dumps(breakage)
                target.write_text(text, encoding="utf-8")
            bagit.Bag(str(bag)).save(manifests=True)  # the checksums agree: only the JSON is bad
            result = CliRunner().invoke(
                cli, ["import-bag", str(bag)], obj=ScriptInfo(create_app=lambda: other)
            )
            assert result.exit_code == 1, (name, result.output, result.exception)
            assert isinstance(result.exception, SystemExit), (name, result.exception)
            assert "mura.json" in result.output, (name, result.output)
            assert "Traceback" not in result.output, name
            assert db.session.scalar(db.select(db.func.count(Document.id))) == 0, name
        db.session.remove()
        db.engine.dispose()
