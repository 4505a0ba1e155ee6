"""The annual report: a known library, and every cell of the table, the CSV and the XLSX."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import flask_babel
import pytest
from flask import Flask
from flask_babel import force_locale
from openpyxl import load_workbook

from mura.app.extensions import db
from mura.app.models import Branch, Contract, Document, Page, ScanJob, StoredFile
from mura.app.modules.administration import reports
from tests.auth_helpers import branch, logged_in, make_user

MB = 1024 * 1024
_sha = iter(range(10**6))


def _file(size: int, kind: str) -> StoredFile:
    row = StoredFile(sha256=f"{next(_sha):064x}", size=size, kind=kind)
    db.session.add(row)
    return row


def _job(
    document: Document,
    where: Branch | None,
    finished: datetime | None,
    done: int,
    failed: int = 0,
    *,
    status: str = "done",
    shared_scan: bool = False,
) -> ScanJob:
    """A job of ``document`` with ``done`` pages of 1 MB scan + 0.5 MB PDF, ``failed`` scans."""
    job = ScanJob(
        document=document,
        status=status,
        langs=document.langs,
        finished_at=finished,
        branch_id=where.id if where else None,
    )
    db.session.add(job)
    db.session.flush()
    scan = _file(MB, "scan") if shared_scan else None
    for seq in range(1, done + failed + 1):
        page = Page(
            job=job,
            document_id=document.id,
            seq=seq,
            source_file=scan or _file(MB, "scan"),
            state="done" if seq <= done else "failed",
        )
        if seq <= done:
            page.pdf_file = _file(MB // 2, "page_pdf")
        db.session.add(page)
    return job


def _doc(title: str, doc_type: str, langs: str) -> Document:
    document = Document(title=title, doc_type=doc_type, langs=langs, page_count=0)
    document.pdf_file = _file(MB // 4, "document_pdf")
    db.session.add(document)
    return document


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def library(app: Flask) -> dict[str, Branch]:
    """Nine documents across types, languages, years and branches; contracts; plans.

    The report year is 2025 in Asia/Almaty (UTC+5).
    """
    central = branch("central")
    b02 = branch("b02", central=False)
    _job(_doc("1", "book", "kaz"), central, _at(2025, 3, 1), 10, 1)
    _job(_doc("2", "newspaper_article", "kaz+rus"), b02, _at(2025, 6, 1), 2, shared_scan=True)
    _job(_doc("3", "journal_article", "rus"), central, _at(2025, 2, 1), 3)
    _job(_doc("4", "book_article", "kaz"), b02, _at(2024, 5, 1), 4)
    # 20:00 UTC on 31 December is 01:00 on 1 January in Almaty: it counts in 2025.
    _job(_doc("5", "book", "rus"), b02, _at(2024, 12, 31, 20), 5)
    _job(_doc("6", "newspaper_article", "kaz"), central, _at(2026, 1, 10), 7)  # after the year
    _job(_doc("7", "journal_article", "kaz"), central, None, 0, 3, status="failed")
    eight = _doc("8", "book", "rus+kaz")
    _job(eight, b02, _at(2023, 7, 1), 6)  # the first finished job decides year and branch
    _job(eight, central, _at(2025, 4, 1), 6)  # a re-scan: the same six pages, not twelve
    _job(_doc("9", "book", "rus"), None, _at(2025, 8, 1), 1)  # `mura ingest` without a user
    for number, signed, status, where in [
        ("1/2025", date(2025, 2, 1), "active", central),
        ("2/2025", date(2025, 12, 31), "expired", b02),
        ("3/2025", date(2025, 5, 5), "draft", central),  # not signed
        ("9/2024", date(2024, 12, 31), "active", central),
        ("10/2025", None, "active", b02),
    ]:
        db.session.add(
            Contract(
                number=number,
                signed_on=signed,
                starts_on=signed or date(2025, 1, 1),
                status=status,
                branch_id=where.id,
            )
        )
    db.session.commit()
    reports.set_plan(central, 2025, {"documents_book": 3, "pages": 100, "contracts": 2})
    reports.set_plan(b02, 2025, {"documents_newspaper_article": 4, "pages": 50})
    db.session.commit()
    return {"central": central, "b02": b02}


# documents year, of them kk, documents all, kk, pages year, kk, pages all, kk
SYSTEM = {
    "total": [5, 2, 7, 4, 21, 12, 31, 22],
    "newspaper_article": [1, 1, 1, 1, 2, 2, 2, 2],
    "journal_article": [1, 0, 1, 0, 3, 0, 3, 0],
    "book_article": [0, 0, 1, 1, 0, 0, 4, 4],
    "book": [3, 1, 4, 2, 16, 10, 22, 16],
}
CENTRAL = {
    "total": [2, 1, 2, 1, 13, 10, 13, 10],
    "newspaper_article": [0] * 8,
    "journal_article": [1, 0, 1, 0, 3, 0, 3, 0],
    "book_article": [0] * 8,
    "book": [1, 1, 1, 1, 10, 10, 10, 10],
}
B02 = {
    "total": [2, 1, 4, 3, 7, 2, 17, 12],
    "newspaper_article": [1, 1, 1, 1, 2, 2, 2, 2],
    "journal_article": [0] * 8,
    "book_article": [0, 0, 1, 1, 0, 0, 4, 4],
    "book": [1, 0, 2, 1, 5, 0, 11, 6],
}
# doc 1: 11 scans + 10 page PDFs + its PDF; 2: one shared scan + 2 + PDF; 3; 5; 9.
MB_SYSTEM = 16.25 + 2.25 + 4.75 + 7.75 + 1.75
MB_CENTRAL = 16.25 + 4.75
MB_B02 = 2.25 + 7.75
LABELS = ["Total", "Newspaper articles", "Journal articles", "Articles from books", "Books"]
HEADER = [
    "Digitized",
    "Documents this year",
    "of them in Kazakh",
    "Documents, all years",
    "of them in Kazakh",
    "Pages this year",
    "of them in Kazakh",
    "Pages, all years",
    "of them in Kazakh",
]


def _rows(expected: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    return {
        key: dict(zip(reports.COLUMN_KEYS, values, strict=True)) for key, values in expected.items()
    }


def _expected_table(expected: dict[str, list[int]], mb: float, contracts: int) -> list[list]:
    body = [[label, *expected[key]] for label, key in zip(LABELS, reports.ROW_KEYS, strict=True)]
    return [
        HEADER,
        *body,
        ["Volume of the year's files, MB", mb],
        ["Contracts signed in the year", contracts],
    ]


@pytest.mark.parametrize(
    ("code", "expected", "mb", "contracts"),
    [(None, SYSTEM, MB_SYSTEM, 2), ("central", CENTRAL, MB_CENTRAL, 1), ("b02", B02, MB_B02, 1)],
)
def test_every_cell_of_the_report(
    library: dict[str, Branch], code: str | None, expected: dict, mb: float, contracts: int
) -> None:
    report = reports.annual_report(2025, library[code] if code else None)
    assert report.as_dict() | {"plan": None} == {
        "year": 2025,
        "branch": code,
        "rows": _rows(expected),
        "megabytes_year": mb,
        "contracts_year": contracts,
        "plan": None,
    }
    with force_locale("en"):
        table = reports.table(report)
        assert table == _expected_table(expected, mb, contracts)
        text = reports.to_csv(table)
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert parsed == [[str(cell) for cell in row] for row in table]
    book = load_workbook(io.BytesIO(reports.to_xlsx(table, "2025")))
    cells = [[c for c in row if c is not None] for row in book.active.iter_rows(values_only=True)]
    assert cells == table


def test_plans_against_actual(library: dict[str, Branch]) -> None:
    assert reports.annual_report(2025).plan["pages"] == 150
    central = reports.annual_report(2025, library["central"]).plan
    assert central["documents_book"] == 3 and central["documents"] == 3
    assert central["contracts"] == 2
    assert reports.annual_report(2024).plan is None
    by_branch = {(b.code if b else None): r for b, r in reports.branch_reports(2025)}
    assert set(by_branch) == {"central", "b02", None}
    assert by_branch["central"].rows == _rows(CENTRAL)
    assert by_branch["b02"].rows == _rows(B02)
    assert by_branch["b02"].plan["pages"] == 50
    assert by_branch[None].rows["total"]["documents_year"] == 1
    assert by_branch["central"].megabytes_year == MB_CENTRAL
    assert by_branch["b02"].contracts_year == 1


def test_the_year_before_and_a_year_with_nothing(library: dict[str, Branch]) -> None:
    older = reports.annual_report(2024).rows["total"]
    assert older == dict(zip(reports.COLUMN_KEYS, [1, 1, 2, 2, 4, 4, 10, 10], strict=True))
    assert reports.annual_report(2000).rows == _rows({k: [0] * 8 for k in SYSTEM})


def test_cli_report_json_csv_xlsx(app: Flask, library: dict[str, Branch], tmp_path) -> None:
    from mura.app.cli import cli

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["report", "--year", "2025"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rows"] == _rows(SYSTEM) and data["branch"] is None
    assert data["megabytes_year"] == MB_SYSTEM and data["contracts_year"] == 2
    result = runner.invoke(cli, ["report", "--year", "2025", "--branch", "b02", "--format", "csv"])
    assert result.exit_code == 0, result.output
    parsed = list(csv.reader(io.StringIO(result.output.lstrip("\ufeff")), delimiter=";"))
    assert parsed[1] == ["Total", *map(str, B02["total"])]
    target = tmp_path / "r.xlsx"
    result = runner.invoke(
        cli, ["report", "--year", "2025", "--format", "xlsx", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert list(rows[5][:9]) == ["Books", *SYSTEM["book"]]
    result = runner.invoke(cli, ["report", "--year", "2025", "--branch", "nowhere"])
    assert result.exit_code != 0


def test_admin_pages(app: Flask, library: dict[str, Branch]) -> None:
    make_user("boss", "admin", None)
    make_user("clerk", "staff", "central")
    admin = logged_in(app, "boss")
    page = admin.get("/admin/reports/?year=2025&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-row="total"' in html and ">31<" in html
    csv_response = admin.get("/admin/reports/report.csv?year=2025&branch=central")
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    text = csv_response.get_data(as_text=True).lstrip("\ufeff")
    assert list(csv.reader(io.StringIO(text), delimiter=";"))[1][1:] == list(
        map(str, CENTRAL["total"])
    )
    xlsx = admin.get("/admin/reports/report.xlsx?year=2025")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert list(rows[1][1:9]) == SYSTEM["total"]
    assert admin.get("/admin/reports/print?year=2025").status_code == 200
    response = admin.post(
        "/admin/reports/plans?year=2026",
        data={"branch": "b02", "pages": "70", "documents_book": "5", "contracts": "1"},
    )
    assert response.status_code == 302
    assert reports.get_plan(library["b02"], 2026).pages == 70
    assert admin.get("/admin/reports/plans?year=2026").status_code == 200
    dashboard = admin.get("/admin/reports/dashboard?lang=en")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert "<svg" in html and "cdn" not in html.lower()
    assert 'id="failures"' in html and "Retry failed pages" in html
    assert logged_in(app, "clerk").get("/admin/reports/?year=2025").status_code == 403


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_the_dashboard_advises_tantivy_when_whoosh_grows(tmp_path: Path, engine: str) -> None:
    from tests.conftest import make_app
    from tests.synthetic import publish

    app = make_app(
        tmp_path / "home",
        DEFAULT_ACCESS="public_domain",
        SEARCH_ENGINE=engine,
        SEARCH_ADVICE_PAGES=2,
    )
    publish(app, tmp_path / "pages", "Three pages", count=3)
    with app.app_context():
        make_user("boss", "admin", None)
        html = logged_in(app, "boss").get("/admin/reports/dashboard?lang=en").get_data(as_text=True)
        advised = 'id="search-advice"' in html
        assert advised == (engine == "whoosh")
        if advised:
            assert "3 published pages" in html and "mura reindex --engine tantivy" in html
        db.engine.dispose()


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_the_dashboard_asks_for_a_reindex_after_an_analysis_change(
    tmp_path: Path, engine: str
) -> None:
    from mura.app.modules.discovery import search as search_service
    from mura.app.search.index_meta import META_FILE
    from mura.app.search.rebuild import current_dir
    from tests.conftest import make_app
    from tests.synthetic import publish

    app = make_app(tmp_path / "home", DEFAULT_ACCESS="public_domain", SEARCH_ENGINE=engine)
    publish(app, tmp_path / "pages", "Two pages", count=2)
    with app.app_context():
        make_user("boss", "admin", None)
        client = logged_in(app, "boss")
        assert 'id="search-outdated"' not in client.get("/admin/reports/dashboard").get_data(
            as_text=True
        )
        # What an index made by an earlier Mura records: an older analysis, no common terms.
        app.extensions.pop("mura_search").close()
        index = current_dir(Path(app.config["INDEX_DIR"]), engine)
        (index / META_FILE).write_text(f'{{"engine": "{engine}", "analysis_version": 2}}')
        html = client.get("/admin/reports/dashboard?lang=en").get_data(as_text=True)
        assert 'id="search-outdated"' in html and "mura reindex" in html
        search_service.rebuild_index()
        html = client.get("/admin/reports/dashboard?lang=en").get_data(as_text=True)
        assert 'id="search-outdated"' not in html
        db.engine.dispose()


@pytest.mark.parametrize(("lang", "decimal"), [("ru", ","), ("kk", ","), ("en", ".")])
def test_csv_fractions_use_the_readers_decimal_sign(
    app: Flask, library: dict[str, Branch], lang: str, decimal: str
) -> None:
    """Russian Excel reads "7.78" as a date; the kk and ru download says "7,78" (docs/report.md)."""
    make_user("boss", "admin", None)
    admin = logged_in(app, "boss")
    flask_babel.refresh()  # the app fixture's one app context caches the locale
    response = admin.get(f"/admin/reports/report.csv?year=2025&lang={lang}")
    flask_babel.refresh()
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    megabytes = rows[-2][1]
    assert megabytes == repr(MB_SYSTEM).replace(".", decimal), megabytes
    assert rows[1][1:] == list(map(str, SYSTEM["total"]))  # whole numbers: no grouping


def test_report_page_numbers_in_the_locale(app: Flask, library: dict[str, Branch]) -> None:
    make_user("boss", "admin", None)
    admin = logged_in(app, "boss")
    flask_babel.refresh()
    html = admin.get("/admin/reports/?year=2025&lang=ru").get_data(as_text=True)
    flask_babel.refresh()
    assert f">{repr(MB_SYSTEM).replace('.', ',')}<" in html
