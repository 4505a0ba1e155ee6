"""The annual report of digitization, counted from the data (docs/report.md).

Every figure is a SQL aggregate (``GROUP BY``), so the report costs a handful of queries however
many pages the installation holds. The definitions, in short:

- a document counts in year Y when its first finished (``done``) scan job finished in Y, in the
  library's time zone; its branch is that job's branch;
- "all years" is everything digitized up to the end of Y, so a past year's report stays the same;
- "in Kazakh" means ``kaz`` is among the document's OCR languages;
- its pages are the distinct page numbers digitized (page state ``done``) by its finished jobs;
  an article clipped from an issue counts the distinct pages of the issue it spans;
- a newspaper or journal issue (``SOURCE_TYPES``) is never counted: its articles are;
- the megabytes of Y are the sizes of the stored files (scans, page PDF/hOCR/text, document PDF)
  of the documents digitized in Y, 1 MB = 1,048,576 bytes;
- the contracts of Y are the contracts signed in Y (not drafts), counted for the contract's branch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, distinct, func, literal, select, union

from mura.app.extensions import db
from mura.app.models import (
    SOURCE_TYPES,
    ArticleRegion,
    Branch,
    Contract,
    Document,
    Page,
    Plan,
    ScanJob,
    StoredFile,
)

#: The rows of the report, in the order libraries file them ("total" first).
ROW_KEYS = ("total", "newspaper_article", "journal_article", "book_article", "book")
#: The columns of each row.
COLUMN_KEYS = (
    "documents_year",
    "documents_year_kk",
    "documents_all",
    "documents_all_kk",
    "pages_year",
    "pages_year_kk",
    "pages_all",
    "pages_all_kk",
)
BYTES_PER_MB = 1024 * 1024


@dataclass
class Report:
    """The annual report of the system (``branch`` None) or of one branch."""

    year: int
    branch: str | None
    rows: dict[str, dict[str, int]] = field(default_factory=lambda: _empty_rows())
    bytes_year: int = 0
    contracts_year: int = 0
    plan: dict[str, int] | None = None

    @property
    def megabytes_year(self) -> float:
        """The volume of the year's files in MB (1 MB = 2**20 bytes), two decimals."""
        return round(self.bytes_year / BYTES_PER_MB, 2)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``mura report`` (the plan only when one is set)."""
        out: dict[str, Any] = {
            "year": self.year,
            "branch": self.branch,
            "rows": {key: dict(self.rows[key]) for key in ROW_KEYS},
            "megabytes_year": self.megabytes_year,
            "contracts_year": self.contracts_year,
        }
        if self.plan is not None:
            out["plan"] = dict(self.plan)
        return out


def _empty_rows() -> dict[str, dict[str, int]]:
    return {key: dict.fromkeys(COLUMN_KEYS, 0) for key in ROW_KEYS}


# --- time ----------------------------------------------------------------------------------------


def report_timezone() -> ZoneInfo:
    """The library's time zone: ``REPORT_TIMEZONE``, else ``RIGHTS_TIMEZONE``, else UTC."""
    config = current_app.config
    return ZoneInfo(config.get("REPORT_TIMEZONE") or config.get("RIGHTS_TIMEZONE") or "UTC")


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first instant of ``year`` and of the next one, local time, as UTC datetimes."""
    zone = report_timezone()
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return start, end


# --- the queries ---------------------------------------------------------------------------------


def digitized_documents() -> Select:
    """``(document_id, branch_id, digitized_at)`` of every document with a finished job.

    The first finished job of a document decides when and where it was digitized.
    """
    ranked = (
        select(
            ScanJob.document_id,
            ScanJob.branch_id,
            ScanJob.finished_at,
            func.row_number()
            .over(partition_by=ScanJob.document_id, order_by=(ScanJob.finished_at, ScanJob.id))
            .label("rank"),
        )
        .where(ScanJob.status == "done", ScanJob.finished_at.is_not(None))
        .subquery("ranked_jobs")
    )
    return select(
        ranked.c.document_id,
        ranked.c.branch_id,
        ranked.c.finished_at.label("digitized_at"),
    ).where(ranked.c.rank == 1)


def digitized_pages() -> Select:
    """``(document_id, pages)``: distinct page numbers done by the finished jobs of a document.

    An article clipped from an issue counts the pages of the issue it spans (distinct source
    pages of its regions), not its clippings: three columns of one page are one page.
    """
    clipped = select(ArticleRegion.article_id)
    plain = (
        select(Page.document_id, func.count(distinct(Page.seq)).label("pages"))
        .join(ScanJob, ScanJob.id == Page.job_id)
        .where(Page.state == "done", ScanJob.status == "done")
        .where(Page.document_id.not_in(clipped))
        .group_by(Page.document_id)
    )
    articles = select(
        ArticleRegion.article_id, func.count(distinct(ArticleRegion.source_page_id))
    ).group_by(ArticleRegion.article_id)
    return union(plain, articles)


def is_kazakh(langs_column: Any) -> Any:
    """SQL: is ``kaz`` one of the '+'-joined Tesseract codes in ``langs_column``."""
    return (literal("+") + func.coalesce(langs_column, "") + literal("+")).like("%+kaz+%")


def _document_rows(year: int, branch_id: int | None, per_branch: bool) -> list[Any]:
    """Documents and pages grouped by (branch), type, Kazakh or not, this year or before."""
    start, end = year_bounds(year)
    dig = digitized_documents().subquery("digitized")
    pages = digitized_pages().subquery("page_counts")
    kk = case((is_kazakh(Document.langs), 1), else_=0).label("kk")
    in_year = case((dig.c.digitized_at >= start, 1), else_=0).label("in_year")
    columns = [
        Document.doc_type,
        kk,
        in_year,
        func.count(Document.id).label("documents"),
        func.coalesce(func.sum(pages.c.pages), 0).label("pages"),
    ]
    group = [Document.doc_type, kk, in_year]
    if per_branch:
        columns.insert(0, dig.c.branch_id)
        group.insert(0, dig.c.branch_id)
    query = (
        select(*columns)
        .join(dig, dig.c.document_id == Document.id)
        .outerjoin(pages, pages.c.document_id == Document.id)
        .where(dig.c.digitized_at < end)
        .where(Document.doc_type.not_in(SOURCE_TYPES))  # issues: their articles count
        .where(Document.status != "withdrawn")  # off the public site: not counted (lifecycle)
        .group_by(*group)
    )
    if branch_id is not None:
        query = query.where(dig.c.branch_id == branch_id)
    return list(db.session.execute(query))


def _add_row(
    rows: dict[str, dict[str, int]],
    doc_type: str,
    kk: int,
    in_year: int,
    documents: int,
    pages: int,
) -> None:
    for key in ("total", doc_type):
        if key not in rows:
            continue  # an unknown type counts in the total only
        row = rows[key]
        row["documents_all"] += documents
        row["pages_all"] += pages
        if kk:
            row["documents_all_kk"] += documents
            row["pages_all_kk"] += pages
        if in_year:
            row["documents_year"] += documents
            row["pages_year"] += pages
            if kk:
                row["documents_year_kk"] += documents
                row["pages_year_kk"] += pages


def _file_bytes(year: int, branch_id: int | None, per_branch: bool) -> dict[int | None, int]:
    """Bytes of the stored files of the documents digitized in ``year``, by branch."""
    start, end = year_bounds(year)
    owned = union(
        select(Page.document_id, Page.source_file_id.label("file_id")),
        select(Page.document_id, Page.pdf_file_id),
        select(Page.document_id, Page.hocr_file_id),
        select(Page.document_id, Page.text_file_id),
        select(Document.id, Document.pdf_file_id),
    ).subquery("owned_files")
    dig = digitized_documents().subquery("digitized")
    branch_col = dig.c.branch_id if per_branch else literal(None).label("branch_id")
    query = (
        select(branch_col, func.coalesce(func.sum(StoredFile.size), 0))
        .select_from(owned)
        .join(dig, dig.c.document_id == owned.c.document_id)
        .join(StoredFile, StoredFile.id == owned.c.file_id)
        .join(Document, Document.id == owned.c.document_id)
        .where(dig.c.digitized_at >= start, dig.c.digitized_at < end)
        .where(Document.doc_type.not_in(SOURCE_TYPES))
    )
    if branch_id is not None:
        query = query.where(dig.c.branch_id == branch_id)
    if per_branch:
        query = query.group_by(dig.c.branch_id)
    return {row[0]: int(row[1] or 0) for row in db.session.execute(query)}


def _contracts(year: int, branch_id: int | None, per_branch: bool) -> dict[int | None, int]:
    """Contracts signed in ``year`` (drafts are not signed), by the contract's branch."""
    branch_col = Contract.branch_id if per_branch else literal(None).label("branch_id")
    query = select(branch_col, func.count(Contract.id)).where(
        Contract.signed_on >= date(year, 1, 1),
        Contract.signed_on < date(year + 1, 1, 1),
        Contract.status != "draft",
    )
    if branch_id is not None:
        query = query.where(Contract.branch_id == branch_id)
    if per_branch:
        query = query.group_by(Contract.branch_id)
    return {row[0]: int(row[1]) for row in db.session.execute(query)}


# --- plans ---------------------------------------------------------------------------------------


def plan_totals(year: int, branch_id: int | None = None) -> dict[str, int] | None:
    """The plan of a branch, or the sum of all branches' plans; None when none is set."""
    from mura.app.models import PLAN_FIELDS

    query = select(
        func.count(Plan.id), *(func.coalesce(func.sum(getattr(Plan, f)), 0) for f in PLAN_FIELDS)
    ).where(Plan.year == year)
    if branch_id is not None:
        query = query.where(Plan.branch_id == branch_id)
    count, *sums = db.session.execute(query).one()
    if not count:
        return None
    plan = dict(zip(PLAN_FIELDS, (int(s) for s in sums), strict=True))
    plan["documents"] = sum(plan[f"documents_{key}"] for key in ROW_KEYS[1:])
    return plan


def get_plan(branch: Branch, year: int) -> Plan | None:
    """The plan of ``branch`` for ``year``, if one is set."""
    return db.session.scalar(select(Plan).where(Plan.branch_id == branch.id, Plan.year == year))


def set_plan(branch: Branch, year: int, values: dict[str, int], by: str = "") -> Plan:
    """Create or change the plan of ``branch`` for ``year`` (the caller commits)."""
    from mura.app.models import PLAN_FIELDS

    plan = get_plan(branch, year)
    if plan is None:
        plan = Plan(branch_id=branch.id, year=year)
        db.session.add(plan)
    for name in PLAN_FIELDS:
        setattr(plan, name, max(0, int(values.get(name) or 0)))
    plan.updated_by = by
    return plan


# --- the report ----------------------------------------------------------------------------------


def find_branch(code: str | None) -> Branch | None:
    """The branch with ``code`` (None for None or "")."""
    if not code:
        return None
    return db.session.scalar(select(Branch).where(Branch.code == code))


def all_branches() -> list[Branch]:
    """Every branch, the central library first, then by code."""
    return list(db.session.scalars(select(Branch).order_by(Branch.is_central.desc(), Branch.code)))


def annual_report(year: int, branch: Branch | None = None) -> Report:
    """The report of the whole system, or of ``branch``."""
    branch_id = branch.id if branch is not None else None
    report = Report(year, branch.code if branch is not None else None)
    for doc_type, kk, in_year, documents, pages in _document_rows(year, branch_id, False):
        _add_row(report.rows, doc_type, kk, in_year, int(documents), int(pages))
    report.bytes_year = sum(_file_bytes(year, branch_id, False).values())
    report.contracts_year = sum(_contracts(year, branch_id, False).values())
    report.plan = plan_totals(year, branch_id)
    return report


def branch_reports(year: int) -> list[tuple[Branch | None, Report]]:
    """One report per branch (and one for work of no branch, when there is any), 4 queries."""
    branches = all_branches()
    reports: dict[int | None, Report] = {b.id: Report(year, b.code) for b in branches}
    for branch_id, doc_type, kk, in_year, documents, pages in _document_rows(year, None, True):
        target = reports.setdefault(branch_id, Report(year, None))
        _add_row(target.rows, doc_type, kk, in_year, int(documents), int(pages))
    for branch_id, size in _file_bytes(year, None, True).items():
        reports.setdefault(branch_id, Report(year, None)).bytes_year = size
    for branch_id, count in _contracts(year, None, True).items():
        reports.setdefault(branch_id, Report(year, None)).contracts_year = count
    plans = _plans_by_branch(year)
    for branch_id, report in reports.items():
        report.plan = plans.get(branch_id)
    out: list[tuple[Branch | None, Report]] = [(b, reports[b.id]) for b in branches]
    if None in reports:
        out.append((None, reports[None]))
    return out


def _plans_by_branch(year: int) -> dict[int, dict[str, int]]:
    from mura.app.models import PLAN_FIELDS

    out = {}
    for plan in db.session.scalars(select(Plan).where(Plan.year == year)):
        values = {name: getattr(plan, name) for name in PLAN_FIELDS}
        values["documents"] = plan.documents
        out[plan.branch_id] = values
    return out


# --- exports -------------------------------------------------------------------------------------


def row_labels() -> dict[str, str]:
    """The names of the report's rows, in the current locale."""
    return {
        "total": _("Total"),
        "newspaper_article": _("Newspaper articles"),
        "journal_article": _("Journal articles"),
        "book_article": _("Articles from books"),
        "book": _("Books"),
        "megabytes_year": _("Volume of the year's files, MB"),
        "contracts_year": _("Contracts signed in the year"),
    }


def column_labels() -> dict[str, str]:
    """The names of the report's columns, in the current locale."""
    return {
        "documents_year": _("Documents this year"),
        "documents_year_kk": _("of them in Kazakh"),
        "documents_all": _("Documents, all years"),
        "documents_all_kk": _("of them in Kazakh"),
        "pages_year": _("Pages this year"),
        "pages_year_kk": _("of them in Kazakh"),
        "pages_all": _("Pages, all years"),
        "pages_all_kk": _("of them in Kazakh"),
    }


def table(report: Report) -> list[list[Any]]:
    """The report as rows of cells: a header row, the five rows, then volume and contracts.

    The CSV, the XLSX and the printed page share this one layout (labels in the current locale).
    """
    labels = row_labels()
    columns = column_labels()
    out: list[list[Any]] = [[_("Digitized"), *(columns[c] for c in COLUMN_KEYS)]]
    for key in ROW_KEYS:
        out.append([labels[key], *(report.rows[key][col] for col in COLUMN_KEYS)])
    out.append([labels["megabytes_year"], report.megabytes_year])
    out.append([labels["contracts_year"], report.contracts_year])
    return out


def to_csv(rows: list[list[Any]], decimal: str = ".") -> str:
    """CSV with a BOM and ';' separators, as Excel opens it in Kazakh and Russian locales.

    ``decimal`` is the decimal sign of fractions (the megabytes): the web download passes the
    reader's (a comma in kk and ru), so Russian Excel reads 7,78 as a number, not "7.78" as a
    date (docs/report.md). Whole numbers are written without grouping, as Excel reads them.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([[_csv_cell(cell, decimal) for cell in row] for row in rows])
    return "\ufeff" + out.getvalue()


def _csv_cell(cell: Any, decimal: str) -> Any:
    if isinstance(cell, float):
        return repr(cell).replace(".", decimal)
    return cell


def to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    """An XLSX workbook of one sheet holding ``rows`` (numbers stay numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
