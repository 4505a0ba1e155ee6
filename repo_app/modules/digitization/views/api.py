"""JSON API: job progress for the staff pages, search for scripts."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from mura.app.extensions import csrf, db
from mura.app.models import ScanJob
from mura.app.modules.digitization.job_status import describe_job
from mura.app.modules.discovery import discovery
from mura.app.web import limits
from mura.app.web.converters import db_int

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # read-only JSON; no cookie-authenticated state changes here


@bp.route("/jobs/<int:job_id>")
def job(job_id: int) -> ResponseReturnValue:
    """A job's progress (pages done / failed / total, failures with reasons)."""
    row = db.session.get(ScanJob, job_id) or abort(404)
    summary = describe_job(row)
    summary.pop("pdf_path")  # a server path is nobody's business outside
    return jsonify(summary)


@bp.route("/search")
@limits.search
def search() -> ResponseReturnValue:
    """Search the public documents: ``?q=...&page=N``."""
    query = request.args.get("q", "").strip()[:500]
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    if not query:
        return jsonify({"query": "", "total": 0, "hits": []})
    results = discovery.search(query, page=page)
    return jsonify(
        {
            "query": query,
            "total": results.total,
            "page": page,
            "hits": [
                {
                    "document_id": h.document_id,
                    "title": h.title,
                    "pages": h.pages,
                    "snippet_html": str(h.snippet),
                }
                for h in results.hits
            ],
        }
    )
