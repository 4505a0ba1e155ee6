"""Clipping a newspaper page of six articles: server CPU of six saves, no second OCR (issue 17).

Usage (from the repository root)::

    ./run bench articles                 # one generated page of six boxed articles
    ./run bench articles --repeat 3      # three such pages, figures per page

A newspaper page (2000 x 2600 px, 300 dpi) of six boxed articles, each a paragraph of the shared
corpus (``tests/newspaper.py``), is ingested as a ``newspaper_issue`` and OCRed (not measured:
that is the issue's own OCR). Then each article is clipped by its box as staff would save it,
and its page derived and its PDF assembled and indexed by the real tasks in this process (no
broker), after the clipping screen's proposals (the OCR's text blocks) and one live text per
box. Measured: the CPU seconds of this process plus those of its children (Tesseract,
jpegtran) over the six saves, wall time, the Tesseract runs (none: no word is cut by a box),
and each article's CER against its paragraph. The goal: under 5 s of server CPU for the six.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.newspaper import paragraphs, render_issue_page  # noqa: E402

CORPUS = Path(os.environ.get("MURA_SHARED", ROOT.parent / "shared")) / "corpus"
GOAL_CPU_S = 5.0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run_job(job_id: int) -> None:
    from mura.app.extensions import db
    from mura.app.models import ScanJob
    from mura.workers import tasks

    job = db.session.get(ScanJob, job_id)
    for page in job.pages:
        tasks.ocr_page.run(page.id)
    tasks.assemble_pdf.run(job_id)
    tasks.index_job.run(job_id)


def main() -> None:
    """Print the CPU and wall time of clipping six articles, per page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="pages of six articles")
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    from rapidfuzz.distance import Levenshtein
    from sqlalchemy import select

    from mura.app import create_app
    from mura.app.extensions import db, upgrade_database
    from mura.app.models import Page, ScanJob
    from mura.app.modules.digitization.articles import (
        ArticleFields,
        Region,
        clip_article,
        proposals,
        selection_text,
    )
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest

    home = Path(tempfile.mkdtemp(prefix="mura-bench-articles-"))
    app = create_app(
        {"HOME": str(home), "SECRET_KEY": "bench", "DEFAULT_ACCESS": "library_owned",
         "REVIEW_REQUIRED": False}
    )  # fmt: skip
    texts = paragraphs(CORPUS, 6 * args.repeat)
    print(f"{'page':>4} {'cpu s':>7} {'wall s':>7} {'ocr runs':>8} {'max CER':>8} {'proposals':>9}")
    with app.test_request_context():
        upgrade_database()
        for n in range(args.repeat):
            path = home / f"issue-{n}.png"
            arts = render_issue_page(path, texts[6 * n : 6 * n + 6])
            with open(path, "rb") as stream:
                job = ingest(
                    [Upload(path.name, stream)],
                    DocumentFields(f"Issue {n}", "newspaper_issue", [], "kaz+rus"),
                )
            _run_job(job.id)
            issue = job.document_id
            source = db.session.scalar(select(Page).where(Page.document_id == issue))
            cpu, wall = _cpu(), time.perf_counter()
            offered = proposals(source)  # the screen opens: the OCR's blocks as proposals
            jobs = []
            for index, article in enumerate(arts):
                selection_text(source, Region(1, *article.box))  # the live text, once per box
                done = clip_article(
                    issue,
                    [Region(1, *article.box)],
                    ArticleFields(f"Article {index + 1}", "newspaper_article"),
                )
                _run_job(done.job.id)
                jobs.append(done.job.id)
            cpu, wall = _cpu() - cpu, time.perf_counter() - wall
            db.session.expire_all()
            ocr_runs, worst = 0, 0.0
            for article, job_id in zip(arts, jobs, strict=True):
                [page] = db.session.get(ScanJob, job_id).pages
                ocr_runs += 1 if "ocr" in (page.timings or {}) else 0
                ref = " ".join(article.text.split())
                cer = Levenshtein.distance(ref, " ".join(page.text.split())) / len(ref)
                worst = max(worst, cer)
            row = f"{n + 1:>4} {cpu:>7.2f} {wall:>7.2f} {ocr_runs:>8} {worst:>8.4f}"
            print(f"{row} {len(offered):>9}")
            verdict = "within" if cpu < GOAL_CPU_S else "OVER"
            print(
                f"     proposals, six live texts and six saves: {cpu:.2f} s of CPU, "
                f"{verdict} the {GOAL_CPU_S:.0f} s goal"
            )


if __name__ == "__main__":
    main()
