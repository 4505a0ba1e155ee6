"""The document workflow: scanned → OCR done → reviewed → published, or returned with a comment.

Who moves a document, and from where (every move is in the audit log):

=========================  ==================  ===========  ===================================
move                       from                to           who
=========================  ==================  ===========  ===================================
:func:`ocr_finished`       scanned             ocr_done     the worker, when the PDF is made
                                               (published   ... when ``REVIEW_REQUIRED`` is off
                                               at once)     or the document skips review)
:func:`submit`             ocr_done, returned  reviewed     staff of the document's branch,
                                                            administrators
:func:`approve`            reviewed            published    reviewers, administrators
:func:`return_document`    reviewed, published returned     reviewers, administrators, with a
                                                            comment for staff
:func:`hold_for_review`    published           reviewed     staff who change a published
                                                            document's description (its record)
=========================  ==================  ===========  ===================================

OCR again (a retry, other languages, cleaning) never moves a document back: a published
document stays published and its new text replaces the old one in search when the job is done;
a document waiting for review keeps waiting, with the new text. Only ``published`` documents are
shown to the public (:mod:`mura.app.modules.rights.visibility`); publishing and returning a
published
document update the search index and OAI-PMH.

Functions take the document and the acting user, change the row, write the audit event and
commit; an illegal move raises :class:`WorkflowError` with a reason to show the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select, update

from mura.app.core import task_names
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import Branch, Document, ScanJob, User
from mura.app.models.base import utcnow
from mura.app.models.document import WORKFLOW_STATES
from mura.app.modules.administration import audit, notify
from mura.app.modules.rights import visibility

REINDEX_TASK = task_names.REINDEX_DOCUMENT
#: Longest comment kept on a returned document.
MAX_COMMENT = 4000
#: States in which a document waits for someone, and the :class:`BranchQueue` counter of each.
QUEUE_COUNTERS = {"ocr_done": "to_check", "returned": "returned", "reviewed": "to_approve"}
WAITING_STATES = tuple(QUEUE_COUNTERS)

#: What each state is called on the screens (never the raw code).
STATE_LABELS = {
    "scanned": _l("scanned, OCR under way"),
    "ocr_done": _l("OCR done, to be checked"),
    "reviewed": _l("checked, waiting for approval"),
    "published": _l("published"),
    "returned": _l("returned to staff"),
    "withdrawn": _l("withdrawn from the public site"),
}
assert set(STATE_LABELS) == set(WORKFLOW_STATES)


class WorkflowError(Exception):
    """A move the workflow does not allow; ``reason`` is shown to the user as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def review_required() -> bool:
    """``REVIEW_REQUIRED``, also when the environment gave it as text ("false", "0", "no")."""
    value = current_app.config.get("REVIEW_REQUIRED", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def state_label(status: str) -> str:
    """The state's name on the screens, in the interface language."""
    label = STATE_LABELS.get(status)
    return str(label) if label is not None else status


# --- who may ---------------------------------------------------------------------------------


def latest_job(document: Document) -> ScanJob | None:
    """The document's newest scan job (its branch is the document's)."""
    return db.session.scalar(
        select(ScanJob).where(ScanJob.document_id == document.id).order_by(ScanJob.id.desc())
    )


def branch_id_of(document: Document) -> int | None:
    """The branch whose staff digitized the document (of its newest job), or None."""
    job = latest_job(document)
    return job.branch_id if job is not None else None


def may_submit(user: User, document: Document) -> bool:
    """Staff of the document's branch (or of a document of no branch), and administrators."""
    from mura.app.modules.administration import permissions  # the one rule of who changes what

    return permissions.can_edit(user, document)


def may_decide(user: User) -> bool:
    """Reviewers and administrators approve and return documents."""
    return user.role in ("reviewer", "admin")


@dataclass
class Actions:
    """What ``user`` may do with a document now (the buttons on the job page)."""

    submit: bool = False
    approve: bool = False
    return_: bool = False

    @property
    def any(self) -> bool:
        """Whether there is a button to show at all."""
        return self.submit or self.approve or self.return_


def actions_for(user: User, document: Document) -> Actions:
    """The moves ``user`` may make with ``document`` in its present state."""
    return Actions(
        submit=document.status in ("ocr_done", "returned") and may_submit(user, document),
        approve=document.status == "reviewed" and may_decide(user),
        return_=document.status in ("reviewed", "published")
        and may_decide(user)
        and document.pdf_file_id is not None,
    )


# --- the moves -------------------------------------------------------------------------------


def ocr_finished(document: Document) -> str:
    """The document's PDF was just made (called by the assembly task before its commit).

    A ``scanned`` document moves to ``ocr_done``, or straight to ``published`` when review is
    not required (``REVIEW_REQUIRED`` off, or the document skips review). Any other state is
    kept: OCR again never unpublishes nor skips a review. Nothing is committed here: the caller
    commits with the PDF, and the job's indexing stage (which follows) sees the new state.

    Returns:
        The document's state afterwards.
    """
    if document.status != "scanned":
        return document.status
    if review_required() and not document.skip_review:
        document.status = "ocr_done"
        audit.record("document.ocr_done", "document", document.id, via="worker")
        _tell_staff(document, "check")
    else:
        document.status = "published"
        document.published_at, document.published_by_id = utcnow(), None
        audit.record("document.publish", "document", document.id, via="worker", review=False)
    return document.status


def _tell_staff(document: Document, step: str) -> None:
    """Mail who acts next and asked to be told: the branch's staff to check, reviewers to approve.

    Queued in the caller's transaction (sent once it commits); a failure to queue never stops
    the move itself.
    """
    from mura.app.modules.administration import mail

    roles = ("staff", "admin") if step == "check" else ("reviewer", "admin")
    branch_id = branch_id_of(document) if step == "check" else None
    try:
        users = notify.recipients(roles, branch_id)
        notify.notify(
            users, f"staff.{step}", "staff_document", document=document, step=step,
            url=mail.link("staff_review.queue"),
        )  # fmt: skip
    except Exception:  # mail is a courtesy: the document moves on whatever happens here
        current_app.logger.exception("could not queue the staff mail of document %s", document.id)


def submit(document: Document, user: User) -> None:
    """Staff checked the OCR: send the document for approval (again, after a return).

    Raises:
        WorkflowError: not in a state to send, or another branch's document.
    """
    if document.status not in ("ocr_done", "returned"):
        rule = _("Only a document whose OCR is done or that was returned can be sent for approval.")
        raise WorkflowError(_not_now(document, rule))
    if not may_submit(user, document):
        raise WorkflowError(_("Only staff of the document's branch can send it for approval."))
    again = document.status == "returned"
    _move(document, ("ocr_done", "returned"), "reviewed", checked_by_id=user.id)
    audit.record("document.submit", "document", document.id, actor=user, resubmitted=again)
    _tell_staff(document, "approve")
    db.session.commit()


def approve(document: Document, user: User) -> None:
    """A reviewer approves the checked document: it is published (and put in the search index).

    Raises:
        WorkflowError: not waiting for approval, or the user is not a reviewer.
    """
    if not may_decide(user):
        raise WorkflowError(_("Only a reviewer or an administrator can approve a document."))
    if document.status != "reviewed":
        rule = _("Only a document sent for approval can be approved.")
        raise WorkflowError(_not_now(document, rule))
    _move(document, ("reviewed",), "published", published_by_id=user.id)
    audit.record("document.publish", "document", document.id, actor=user, review=True)
    enqueue_after_commit(REINDEX_TASK, document.id)  # search now finds it (if its rights allow)
    db.session.commit()


def return_document(document: Document, user: User, comment: str) -> None:
    """A reviewer sends the document back to staff with what to fix.

    A published document may be returned too: it leaves the public site, the search index and
    OAI-PMH (harvesters see it deleted) until it is approved again.

    Raises:
        WorkflowError: no comment, a state that cannot be returned, or not a reviewer.
    """
    from mura.app.modules.catalogue import records

    if not may_decide(user):
        raise WorkflowError(_("Only a reviewer or an administrator can return a document."))
    if document.status not in ("reviewed", "published"):
        rule = _("Only a document sent for approval or published can be returned.")
        raise WorkflowError(_not_now(document, rule))
    comment = (comment or "").strip()[:MAX_COMMENT]
    if not comment:
        raise WorkflowError(
            _("Say what staff should fix: a comment is required to return a document.")
        )
    was_published, was_listed = document.status == "published", visibility.is_listed(document)
    _move(document, (document.status,), "returned", review_comment=comment, returned_by_id=user.id)
    audit.record(
        "document.return", "document", document.id, actor=user,
        comment=comment, unpublished=was_published,
    )  # fmt: skip
    if was_published:
        enqueue_after_commit(REINDEX_TASK, document.id)  # out of the search index
    db.session.commit()
    if was_listed:
        records.withdraw_document(document.id, f"returned for review: {comment}"[:2000])


def hold_for_review(document_ids: list[int], user: User | None, change: str) -> list[int]:
    """Published documents whose public description staff just changed wait for approval again.

    A reviewer approved what the public sees; a later change by staff (a record edited, a
    document linked to another record) is not approved yet, so the document goes back to
    "checked, waiting for approval" (``reviewed``) and leaves the public site, the search index
    and OAI-PMH until a reviewer approves it, as a new document would. Reviewers and
    administrators approve anyway, so their own changes stay published; so do changes when
    review is off (``REVIEW_REQUIRED``) or the document skips it.

    Call it before the change is committed: the moves, their audit events and the OAI
    tombstones go into the same transaction (nothing is committed here).

    Returns:
        The ids of the documents sent back.
    """
    if not document_ids or user is None or may_decide(user) or not review_required():
        return []
    from mura.app.modules.catalogue import records

    held = []
    rows = db.session.scalars(
        select(Document).where(
            Document.id.in_(sorted(set(document_ids))),
            Document.status == visibility.PUBLISHED,
            Document.skip_review.is_(False),
        )
    ).all()
    for document in rows:
        was_listed = visibility.is_listed(document)
        result = db.session.execute(
            update(Document)
            .where(Document.id == document.id, Document.status == visibility.PUBLISHED)
            .values(status="reviewed", checked_at=utcnow(), checked_by_id=user.id)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            continue  # moved by someone else meanwhile: nothing public to hold
        db.session.expire(document)
        audit.record(
            "document.changed_after_publication", "document", document.id, actor=user,
            change=change, unpublished=True,
        )  # fmt: skip
        if was_listed:
            records.tombstone_document(document.id, f"changed, waiting for approval: {change}")
        enqueue_after_commit(REINDEX_TASK, document.id)  # out of the search index
        held.append(document.id)
    return held


def skip_review(document: Document, reason: str, *, actor: User | None = None) -> None:
    """Publish the document as soon as its OCR is done, without review (the demo's samples).

    Nothing is committed here; the caller commits.
    """
    document.skip_review = True
    audit.record("document.skip_review", "document", document.id, actor=actor, reason=reason)


def _move(document: Document, from_states: tuple[str, ...], to: str, **values: object) -> None:
    """Set the state with a conditional UPDATE, so two people deciding at once cannot both win.

    ``<to>_at`` is set to now for ``reviewed`` (``checked_at``), ``published`` and ``returned``.

    Raises:
        WorkflowError: someone else moved the document since it was read (rolled back).
    """
    stamp = {"reviewed": "checked_at", "published": "published_at", "returned": "returned_at"}
    now = utcnow()
    result = db.session.execute(
        update(Document)
        .where(Document.id == document.id, Document.status.in_(from_states))
        .values(status=to, updated_at=now, **{stamp[to]: now}, **values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        db.session.rollback()
        db.session.refresh(document)
        raise WorkflowError(
            _not_now(document, _("Someone else changed this document in the meantime."))
        )
    db.session.expire(document)  # read again: the new state and stamps


def _not_now(document: Document, rule: str) -> str:
    return _("%(rule)s It is now: %(state)s.", rule=rule, state=state_label(document.status))


# --- the queue -------------------------------------------------------------------------------


def _latest_jobs() -> Select:
    """(document id, newest job id) of every document with a job."""
    return select(ScanJob.document_id, func.max(ScanJob.id).label("job_id")).group_by(
        ScanJob.document_id
    )


@dataclass
class BranchQueue:
    """What waits for whom in one branch (``branch`` None: documents of no branch)."""

    branch: Branch | None
    #: OCR done: staff of the branch check the text.
    to_check: int = 0
    #: Returned by a reviewer: staff of the branch fix and send again.
    returned: int = 0
    #: Checked: waiting for a reviewer's approval.
    to_approve: int = 0

    @property
    def total(self) -> int:
        """Every document waiting in this branch."""
        return self.to_check + self.returned + self.to_approve


@dataclass
class QueueCounts:
    """The dashboard's "waiting for whom": per branch (the user's first) and in all."""

    branches: list[BranchQueue] = field(default_factory=list)

    @property
    def to_check(self) -> int:
        """Documents whose OCR staff should check, in all branches."""
        return sum(b.to_check for b in self.branches)

    @property
    def returned(self) -> int:
        """Documents returned to staff, in all branches."""
        return sum(b.returned for b in self.branches)

    @property
    def to_approve(self) -> int:
        """Documents waiting for a reviewer, in all branches."""
        return sum(b.to_approve for b in self.branches)


def queue_counts(user: User | None = None) -> QueueCounts:
    """Documents waiting, by branch and state; the branch of ``user`` comes first."""
    latest = _latest_jobs().subquery("latest")
    rows = db.session.execute(
        select(ScanJob.branch_id, Document.status, func.count())
        .select_from(Document)
        .join(latest, latest.c.document_id == Document.id)
        .join(ScanJob, ScanJob.id == latest.c.job_id)
        .where(Document.status.in_(WAITING_STATES))
        .group_by(ScanJob.branch_id, Document.status)
    ).all()
    by_branch: dict[int | None, BranchQueue] = {}
    for branch_id, status, n in rows:
        queue = by_branch.get(branch_id)
        if queue is None:
            branch = db.session.get(Branch, branch_id) if branch_id is not None else None
            queue = by_branch[branch_id] = BranchQueue(branch)
        counter = QUEUE_COUNTERS[status]
        setattr(queue, counter, getattr(queue, counter) + n)
    own = user.branch_id if user is not None else None

    def order(queue: BranchQueue) -> tuple:
        branch = queue.branch
        return (
            branch is None or branch.id != own,  # the user's branch first
            branch is None,  # documents of no branch last
            branch.code if branch is not None else "",
        )

    return QueueCounts(sorted(by_branch.values(), key=order))


def waiting_documents(
    statuses: tuple[str, ...], branch_id: int | None = None, *, limit: int = 200
) -> list[tuple[Document, ScanJob]]:
    """Documents in ``statuses`` with their newest job, oldest waiting first.

    Args:
        statuses: Workflow states to list.
        branch_id: Only this branch's documents (and those of no branch); None: every branch.
        limit: At most this many.
    """
    latest = _latest_jobs().subquery("latest")
    query = (
        select(Document, ScanJob)
        .join(latest, latest.c.document_id == Document.id)
        .join(ScanJob, ScanJob.id == latest.c.job_id)
        .where(Document.status.in_(statuses))
        .order_by(Document.updated_at, Document.id)
        .limit(limit)
    )
    if branch_id is not None:
        query = query.where((ScanJob.branch_id == branch_id) | ScanJob.branch_id.is_(None))
    return [(document, job) for document, job in db.session.execute(query).all()]
