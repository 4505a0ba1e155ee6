"""Contracts: the register import (CSV, XLSX) with its bad rows, the admin screens, drafts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import AuditEvent, Contract, RightsHolder
from mura.app.modules.rights import contract_drafts, contracts, rights
from mura.app.modules.rights.contract_import import import_contracts
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.test_rights import make_record, make_scanned_document, pdf_bytes, sign, status

HEADER = ["№", "Дата подписания", "Начало", "Окончание", "Статус", "Правообладатели",
          "Произведения", "Права", "Вознаграждение", "Филиал", "Примечание"]  # fmt: skip


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = make_app(tmp_path / "home", DEFAULT_ACCESS="none")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def catalogue(app: Flask) -> dict:
    """Three records; two share a title, so a title cannot pick one of them."""
    return {
        "coal": make_record("Қарағанды көмір бассейнінің тарихы", "KRG-000123"),
        "steppe": make_record("Дала әуендері", "KRG-000200"),
        "twin1": make_record("Естеліктер", "KRG-300"),
        "twin2": make_record("Естеліктер", "KRG-301"),
    }


ROWS = [
    # 2: good, work by external id, a new author and an heir, indefinite
    ["1/2023", "15.03.2023", "2023-03-15", "бессрочно", "действует",
     "Әлімжанов Серік (автор); Әлімжанова Гүлнар (наследник)", "KRG-000123",
     "оцифровка, интернет, скачивание", "безвозмездно", "central", ""],
    # 3: good, work by exact title (case differs), reading room only
    ["2/2024", "2024-01-10", "", "2028-12-31", "", "Сейфуллин Әсет", "дала ӘУЕНДЕРІ",
     "digitize; reading_room", "50 000 тенге", "", "renewal due"],
    # 4: a date that is not one
    ["3/2024", "31.02.2024", "2024-03-01", "", "active", "X", "KRG-000200", "online", "", "", ""],
    # 5: a work the catalogue does not have
    ["4/2024", "", "2024-04-01", "", "", "Y", "KRG-999", "online", "", "", ""],
    # 6: no number
    ["", "", "2024-05-01", "", "", "Z", "KRG-000200", "online", "", "", ""],
    # 7: a title two records share
    ["5/2024", "", "2024-06-01", "", "", "Z", "Естеліктер", "online", "", "", ""],
    # 8: a right that does not exist
    ["6/2024", "", "2024-07-01", "", "", "Z", "KRG-300", "translate", "", "", ""],
    # 9: the term ends before it starts
    ["7/2024", "", "2024-07-01", "2024-01-01", "", "Z", "KRG-300", "online", "", "", ""],
    # 10: an unknown branch
    ["8/2024", "", "2024-07-01", "", "", "Z", "KRG-300", "online", "", "b99", ""],
]  # fmt: skip
BAD = {
    4: "signed_on: not a date",
    5: "no catalogue record with this external id or title",
    6: "no contract number",
    7: "2 catalogue records have this title",
    8: "rights: unknown 'translate'",
    9: "the term ends before it starts",
    10: "branch: no branch 'b99'",
}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig", delimiter: str = ";") -> bytes:
    lines = [delimiter.join(f'"{c}"' for c in row) for row in [HEADER, *rows]]
    return "\r\n".join(lines).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _check_report(report: dict) -> None:
    assert (report["created"], report["failed"]) == (2, len(BAD))
    reasons = {p["row"]: p["reason"] for p in report["problems"]}
    assert set(reasons) == set(BAD)
    for row, words in BAD.items():
        assert words in reasons[row], (row, reasons[row])


def test_import_csv_reports_each_bad_row_and_imports_the_good_ones(
    app: Flask, catalogue: dict
) -> None:
    from tests.auth_helpers import branch

    branch("central")
    report = import_contracts(csv_bytes(ROWS), "register.csv").as_dict()
    _check_report(report)

    first = db.session.scalar(select(Contract).where(Contract.number == "1/2023"))
    assert first.status == "active" and first.ends_on is None
    assert first.signed_on == date(2023, 3, 15) and first.branch.code == "central"
    assert first.grants == ["digitize", "publish_online", "download"]
    assert [(p.holder.name, p.role) for p in first.parties] == [
        ("Әлімжанов Серік", "author"), ("Әлімжанова Гүлнар", "heir"),
    ]  # fmt: skip
    assert [w.record_id for w in first.works] == [catalogue["coal"].id]
    second = db.session.scalar(select(Contract).where(Contract.number == "2/2024"))
    assert second.starts_on == date(2024, 1, 10)  # no start: the day it was signed
    assert [w.record_id for w in second.works] == [catalogue["steppe"].id]
    # Bad rows left nothing behind: no holder X, Y or Z.
    names = set(db.session.scalars(select(RightsHolder.name)))
    assert names == {"Әлімжанов Серік", "Әлімжанова Гүлнар", "Сейфуллин Әсет"}

    # Importing the same register again changes nothing and duplicates nothing.
    again = import_contracts(csv_bytes(ROWS), "register.csv").as_dict()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    changed = [ROWS[0][:10] + ["signed in the reading room"]]
    assert import_contracts(csv_bytes(changed), "r.csv").as_dict()["updated"] == 1


def test_import_xlsx_with_date_cells(app: Flask, catalogue: dict) -> None:
    from tests.auth_helpers import branch

    branch("central")
    rows: list[list[object]] = [list(r) for r in ROWS]
    rows[0][1] = datetime(2023, 3, 15)  # a real date cell
    rows[0][2] = datetime(2023, 3, 15)
    rows[1][3] = datetime(2028, 12, 31)
    report = import_contracts(xlsx_bytes(rows), "register.xlsx").as_dict()
    _check_report(report)
    second = db.session.scalar(select(Contract).where(Contract.number == "2/2024"))
    assert second.ends_on == date(2028, 12, 31) and second.grants == ["digitize", "reading_room"]


def test_import_reads_excel_csv_from_a_russian_windows(app: Flask, catalogue: dict) -> None:
    row = ["9/2024", "", "01.02.2024", "", "", "Иванов Иван (автор)", "KRG-000200", "печать",
           "", "", ""]  # fmt: skip
    report = import_contracts(csv_bytes([row], "cp1251"), "реестр.csv").as_dict()
    assert report["created"] == 1, report
    assert contracts.find_holder("Иванов Иван") is not None


def test_import_refuses_a_file_without_the_columns(app: Flask) -> None:
    report = import_contracts(b"name,phone\nx,y\n", "x.csv").as_dict()
    assert report["failed"] == 1 and "missing column(s): number" in report["problems"][0]["reason"]
    report = import_contracts(b"PK\x03\x04 not really a zip", "x.xlsx").as_dict()
    assert "not a readable XLSX file" in report["problems"][0]["reason"]


def test_import_publishes_the_documents_it_covers_and_the_cli_reports_json(
    app: Flask, catalogue: dict, tmp_path: Path
) -> None:
    from mura.app.cli import cli
    from tests.auth_helpers import branch

    branch("central")
    document = make_scanned_document(catalogue["coal"], "мәтін")
    assert document.access == "not_public"
    register = tmp_path / "register.csv"
    register.write_bytes(csv_bytes(ROWS[:2] + [ROWS[3]]))
    result = app.test_cli_runner().invoke(cli, ["contracts", "import", str(register), "--json"])
    assert result.exit_code == 1  # one row failed
    report = json.loads(result.output)
    assert (report["created"], report["failed"]) == (2, 1)
    assert report["problems"][0]["row"] == 4
    db.session.expire_all()
    assert document.access == "online"


def test_expiring_contracts_are_listed_on_the_dashboard(app: Flask, catalogue: dict) -> None:
    today = rights.library_today()
    sign(catalogue["coal"], "SOON-1", ["publish_online"], date(2024, 1, 1), today + timedelta(29))
    sign(
        catalogue["steppe"], "LATER-1", ["publish_online"], date(2024, 1, 1), today + timedelta(45)
    )
    assert [c.number for c in contracts.contracts_ending()] == ["SOON-1"]
    admin = logged_in(app, make_user("boss", "admin"))
    page = admin.get("/admin/rights/").get_data(as_text=True)
    assert 'data-number="SOON-1"' in page and "LATER-1" not in page.split('id="access-changes"')[0]


def test_admin_screens_create_holders_and_contracts_with_scan_and_drafts(
    app: Flask, catalogue: dict
) -> None:
    admin = logged_in(app, make_user("boss", "admin"))
    response = admin.post(
        "/admin/rights/holders/new",
        data={"kind": "person", "name": "Жұмабаев Мағжан", "birth_year": "1893",
              "death_year": "1938", "phone": "+7 701 000 00 00", "email": "heirs@example.kz"},
    )  # fmt: skip
    assert response.status_code == 302
    author = contracts.find_holder("Жұмабаев Мағжан")
    assert author.phone == "+7 701 000 00 00"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "rights_holder.create")
    ).one()
    assert event.username == "boss" and "phone" in event.details["changed"]
    assert "+7 701" not in json.dumps(event.details)  # contacts are audited by name only

    document = make_scanned_document(catalogue["coal"], "мәтін")
    form = {
        "number": "21/2025",
        "signed_on": "2025-02-01",
        "starts_on": "2025-02-01",
        "ends_on": "",
        "status": "active",
        "grants": ["digitize", "publish_online", "print"],
        "authors": [str(author.id)],
        "works": f"#{catalogue['coal'].id}\nKRG-000200",
        "remuneration": "безвозмездно",
        "branch": "",
        "notes": "",
    }
    bad = admin.post("/admin/rights/contracts/new", data={**form, "works": "KRG-nope"})
    assert bad.status_code == 400 and "no catalogue record" in bad.get_data(as_text=True)
    response = admin.post("/admin/rights/contracts/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    contract = db.session.scalar(select(Contract).where(Contract.number == "21/2025"))
    assert [w.record_id for w in contract.works] == [catalogue["coal"].id, catalogue["steppe"].id]
    db.session.refresh(document)
    assert document.access == "online" and not document.access_download and document.access_print

    # Terminating it is an edit; the document is withdrawn and the change audited.
    response = admin.post(
        f"/admin/rights/contracts/{contract.id}",
        data={**form, "status": "terminated", "status_reason": "heirs withdrew consent"},
    )
    assert response.status_code == 302
    db.session.refresh(document)
    assert document.access == "not_public"
    update = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contract.update")
    ).one()
    assert update.details["changes"]["status"] == ["active", "terminated"]

    scan = pdf_bytes("SIGNED-SCAN-21")
    response = admin.post(
        f"/admin/rights/contracts/{contract.id}/scan",
        data={"file": (io.BytesIO(scan), "signed.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with admin.get(f"/admin/rights/contracts/{contract.id}/scan") as got:
        assert got.status_code == 200 and got.data == scan
        assert "no-store" in got.headers["Cache-Control"]
    not_pdf = admin.post(
        f"/admin/rights/contracts/{contract.id}/scan",
        data={"file": (io.BytesIO(b"GIF89a"), "x.gif")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "the scan must be a PDF" in not_pdf.get_data(as_text=True)

    kk = admin.get(f"/admin/rights/contracts/{contract.id}/draft/kk").get_data(as_text=True)
    assert "АВТОРЛЫҚ ШАРТ" in kk and "Жұмабаев Мағжан" in kk and "мерзімсіз" in kk
    ru = admin.get(f"/admin/rights/contracts/{contract.id}/draft/ru").get_data(as_text=True)
    assert "АВТОРСКИЙ ДОГОВОР № 21/2025" in ru and "бессрочно" in ru
    assert "доведение произведения до всеобщего сведения" in ru
    assert status(admin, f"/admin/rights/contracts/{contract.id}/draft/en") == 404

    page = admin.get(f"/admin/rights/documents/{document.id}").get_data(as_text=True)
    assert "was terminated" in page


def test_draft_templates_are_editable_and_sandboxed(app: Flask, catalogue: dict) -> None:
    admin = logged_in(app, make_user("boss", "admin"))
    contract = sign(catalogue["coal"], "30/2025", ["publish_online"], date(2025, 1, 1), None)
    response = admin.post("/admin/rights/templates/ru", data={"text": "{% if %}"})
    assert response.status_code == 400 and "error" in response.get_data(as_text=True)

    ok = admin.post("/admin/rights/templates/ru", data={"text": "Договор {{ contract.number }}"})
    assert ok.status_code == 302
    assert contract_drafts.template_text("ru") == ("Договор {{ contract.number }}", True)
    assert "Договор 30/2025" in admin.get(
        f"/admin/rights/contracts/{contract.id}/draft/ru"
    ).get_data(as_text=True)

    # A template cannot reach Python internals: the sandbox refuses, the admin is told why.
    admin.post("/admin/rights/templates/ru", data={"text": "{{ ''.__class__.__mro__ }}"})
    with pytest.raises(contract_drafts.DraftError):
        contract_drafts.render_draft(contract, "ru")
    response = admin.get(f"/admin/rights/contracts/{contract.id}/draft/ru")
    assert response.status_code == 302 and response.location.endswith("/admin/rights/templates/ru")

    assert admin.post("/admin/rights/templates/ru/reset").status_code == 302
    assert contract_drafts.template_text("ru")[1] is False
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"contract_template.save", "contract_template.reset"} <= actions
