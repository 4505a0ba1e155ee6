"""Who may change what: ONE place decides it for every staff route (issue 18, finding 1).

The rule, for the objects staff work on:

- **read**: every logged-in user of the staff area (staff of any branch, reviewers,
  administrators) reads every branch's documents, pages, records and collections — staff check
  and describe each other's work, reviewers approve it (:func:`can_read`);
- **change**: staff change only their own branch's documents (the branch of the document's
  newest scan job) and documents of no branch; administrators change everything; reviewers
  change nothing but their review decisions (:func:`can_edit`);
- a **catalogue record** is changed by whoever may change every document linked to it (a record
  without documents: any staff), because its description is copied onto those documents
  (:func:`can_edit_record`);
- a **collection** belongs to the branch named in its ``branch`` (a code or a name; empty: no
  branch) and is changed by that branch's staff (:func:`can_edit_collection`).

Routes call these and answer 403; the rights of documents (what the public may read) are
decided elsewhere (:mod:`mura.app.modules.rights.rights`) and never by staff alone.
"""

from __future__ import annotations

from mura.app.models import Branch, CatalogueRecord, Collection, Document, User
from mura.app.modules.digitization import workflow

#: Roles that read the staff screens (and therefore every branch's documents).
STAFF_AREA_ROLES = frozenset({"admin", "staff", "reviewer"})


def can_read(user: User | None, document: Document | None = None) -> bool:
    """Whether ``user`` reads ``document`` (its pages, PDF, text) on the staff screens.

    One rule everywhere: anyone of the staff area reads every branch's documents.
    """
    return user is not None and getattr(user, "role", None) in STAFF_AREA_ROLES


def can_edit(user: User | None, document: Document) -> bool:
    """Whether ``user`` may change ``document`` (its record link, collection, pages, jobs)."""
    return user is not None and user.works_for(workflow.branch_id_of(document))


def can_edit_record(user: User | None, record: CatalogueRecord) -> bool:
    """Whether ``user`` may change (or delete) ``record``: every linked document is theirs."""
    if user is None or user.role not in ("admin", "staff"):
        return False
    return all(can_edit(user, document) for document in record.documents)


def branch_matches(value: str, branch: Branch | None) -> bool:
    """Whether a free-text branch field (a code or a name) names ``branch``."""
    wanted = " ".join((value or "").split()).casefold()
    if not wanted:
        return branch is None
    if branch is None:
        return False
    names = (branch.code, branch.name_kk, branch.name_ru, branch.name_en)
    return any(wanted == " ".join((name or "").split()).casefold() for name in names)


def can_edit_collection(user: User | None, collection: Collection) -> bool:
    """Whether ``user`` may change ``collection`` (titles, cover, order, its documents).

    Staff change the collections of their branch and collections of no branch (an empty
    ``branch``); administrators any.
    """
    return can_own_collection(user, collection.branch)


def can_own_collection(user: User | None, branch_value: str) -> bool:
    """Whether ``user`` may keep a collection whose ``branch`` field says ``branch_value``.

    Checked for the collection as it is and as the form would save it, so staff can neither
    edit another branch's collection nor hand their own to another branch.
    """
    if user is None:
        return False
    if user.is_admin:
        return True
    if user.role != "staff":
        return False
    if not " ".join((branch_value or "").split()):
        return True  # a collection of no branch, as documents of no branch
    return user.branch is not None and branch_matches(branch_value, user.branch)
