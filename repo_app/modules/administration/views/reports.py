"""The annual report, plans and the dashboard (administrators only, docs/report.md).

The blueprint's name starts with ``admin_`` and it lives under ``/admin``, so
``repo_app/modules/administration/views/access.py`` refuses it to anyone but administrators before
a view runs.
"""

from __future__ import annotations

from babel.numbers import get_decimal_symbol
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from mura.app.extensions import db
from mura.app.models import PLAN_FIELDS, Branch
from mura.app.modules.administration import audit, charts, dashboard, reports
from mura.app.modules.digitization import workflow
from mura.app.web.converters import db_int

bp = Blueprint("admin_reports", __name__)


def _year() -> int:
    year = request.args.get("year", type=db_int)
    if year is None:
        return dashboard.local_today().year
    if not 1900 <= year <= 2999:
        abort(400)
    return year


def _branch() -> Branch | None:
    code = request.args.get("branch", "")
    found = reports.find_branch(code)
    if code and found is None:
        abort(404)
    return found


def _filename(year: int, branch: Branch | None, ext: str) -> str:
    return f"mura-report-{year}{'-' + branch.code if branch else ''}.{ext}"


def _plan_labels() -> dict[str, str]:
    return {
        "documents_newspaper_article": _("Newspaper articles"),
        "documents_journal_article": _("Journal articles"),
        "documents_book_article": _("Articles from books"),
        "documents_book": _("Books"),
        "pages": _("Pages"),
        "contracts": _("Contracts"),
    }


@bp.route("/")
def index() -> str:
    """The report of a year for the system or one branch, plan against actual, per branch."""
    year, branch = _year(), _branch()
    return render_template(
        "admin/reports/index.html",
        year=year,
        branch=branch,
        report=reports.annual_report(year, branch),
        per_branch=reports.branch_reports(year) if branch is None else [],
        branches=reports.all_branches(),
        rows=reports.row_labels(),
        columns=reports.column_labels(),
        row_keys=reports.ROW_KEYS,
        column_keys=reports.COLUMN_KEYS,
    )


@bp.route("/print")
def print_view() -> str:
    """The report alone, laid out for paper (the browser's print)."""
    year, branch = _year(), _branch()
    return render_template(
        "admin/reports/print.html",
        year=year,
        branch=branch,
        table=reports.table(reports.annual_report(year, branch)),
    )


@bp.route("/report.csv")
def report_csv() -> Response:
    """The report as CSV (';' separated, with a BOM for Excel)."""
    year, branch = _year(), _branch()
    # The reader's decimal sign: Excel in a kk or ru locale reads "7,78" as a number.
    decimal = get_decimal_symbol(str(get_locale()))
    text = reports.to_csv(reports.table(reports.annual_report(year, branch)), decimal)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={_filename(year, branch, 'csv')}"},
    )


@bp.route("/report.xlsx")
def report_xlsx() -> Response:
    """The report as an Excel workbook."""
    year, branch = _year(), _branch()
    data = reports.to_xlsx(
        reports.table(reports.annual_report(year, branch)),
        f"{year} {branch.code if branch else ''}".strip(),
    )
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={_filename(year, branch, 'xlsx')}"},
    )


@bp.route("/plans", methods=["GET", "POST"])
def plans() -> ResponseReturnValue:
    """Every branch's plan for a year; a POST sets one branch's plan."""
    year = _year()
    if request.method == "POST":
        target = reports.find_branch(request.form.get("branch", "")) or abort(400)
        values = {}
        for name in PLAN_FIELDS:
            raw = request.form.get(name, "0").strip() or "0"
            if not raw.isdigit():
                flash(_("Planned numbers are whole numbers, 0 or more."))
                return redirect(url_for(".plans", year=year))
            values[name] = int(raw)
        plan = reports.set_plan(target, year, values, by=current_user.username)
        db.session.flush()
        audit.record("plan.set", "plan", plan.id, branch=target.code, year=year, **values)
        db.session.commit()
        flash(_("Plan of %(branch)s for %(year)d saved.", branch=target.code, year=year))
        return redirect(url_for(".plans", year=year))
    current = {b.id: reports.get_plan(b, year) for b in reports.all_branches()}
    return render_template(
        "admin/reports/plans.html",
        year=year,
        branches=reports.all_branches(),
        current=current,
        fields=PLAN_FIELDS,
        labels=_plan_labels(),
    )


@bp.route("/dashboard")
def dashboard_view() -> str:
    """Work under way, failures, progress against plan, contracts ending, copy requests."""
    today = dashboard.local_today()
    year = today.year
    report = reports.annual_report(year)
    plan = report.plan or {}
    month_pages = dashboard.pages_between(*dashboard.month_bounds(year, today.month))
    per_month = dashboard.pages_per_month(year)
    rows = reports.row_labels()
    total = report.rows["total"]
    request_counts, oldest_requests = dashboard.open_requests()
    return render_template(
        "admin/reports/dashboard.html",
        year=year,
        today=today,
        running=dashboard.running_jobs(),
        counts=workflow.queue_counts(current_user),
        search_advice=dashboard.search_engine_advice(),
        search_outdated=dashboard.search_index_outdated(),
        failures=dashboard.failures(),
        pages_year=dashboard.Progress(total["pages_year"], plan.get("pages")),
        pages_month=dashboard.Progress(
            month_pages, round(plan["pages"] / 12) if plan.get("pages") else None
        ),
        documents_year=dashboard.Progress(total["documents_year"], plan.get("documents")),
        contracts_year=dashboard.Progress(report.contracts_year, plan.get("contracts")),
        ending=dashboard.contracts_ending_soon(today),
        request_counts=request_counts,
        oldest_requests=oldest_requests,
        chart_months=charts.bar_chart(
            [(f"{m:02d}", n) for m, n in enumerate(per_month, start=1)],
            _("Pages digitized per month, %(year)d", year=year),
        ),
        chart_types=charts.bar_chart(
            [(rows[key], report.rows[key]["pages_year"]) for key in reports.ROW_KEYS[1:]],
            _("Pages digitized by type, %(year)d", year=year),
            colour=charts.COLOURS[1],
        ),
        chart_kazakh=charts.share_bar(
            [
                (_("In Kazakh"), total["pages_year_kk"]),
                (_("Other languages"), total["pages_year"] - total["pages_year_kk"]),
            ],
            _("Share of pages in Kazakh, %(year)d", year=year),
        ),
    )
