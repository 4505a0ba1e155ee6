"""Database models, one module per aggregate. Importing this package registers them all."""

from mura.app.models.article import ArticleRegion
from mura.app.models.audit import AuditEvent
from mura.app.models.collection import Collection
from mura.app.models.collection_item import CollectionItem
from mura.app.models.copy_request import REQUEST_STATUSES, CopyRequest
from mura.app.models.document import ARTICLE_TYPES, DOC_TYPES, SOURCE_TYPES, Document
from mura.app.models.lease import WorkerLease
from mura.app.models.page import PAGE_STATES, Page
from mura.app.models.plan import PLAN_FIELDS, Plan
from mura.app.models.record import CatalogueRecord, RecordAgent, RecordSubject
from mura.app.models.rights import (
    Contract,
    ContractParty,
    ContractWork,
    DocumentRights,
    RightsHolder,
)
from mura.app.models.scan_job import JOB_STATES, ScanJob
from mura.app.models.settings import MAIL_STATES, LibrarySetting, OutgoingMail
from mura.app.models.stored_file import StoredFile
from mura.app.models.tombstone import OaiTombstone
from mura.app.models.user import ROLES, Branch, User

__all__ = [
    "DOC_TYPES",
    "JOB_STATES",
    "PAGE_STATES",
    "CatalogueRecord",
    "Collection",
    "CollectionItem",
    "Document",
    "OaiTombstone",
    "Page",
    "RecordAgent",
    "RecordSubject",
    "ScanJob",
    "StoredFile",
    # accounts and audit (docs: administration)
    "ROLES",
    "AuditEvent",
    "Branch",
    "User",
    # rights and author contracts (docs/rights.md)
    "Contract",
    "ContractParty",
    "ContractWork",
    "DocumentRights",
    "RightsHolder",
    # digital copy requests of readers (discovery)
    "REQUEST_STATUSES",
    "CopyRequest",
    # digitization plans of branches (docs/report.md)
    "PLAN_FIELDS",
    "Plan",
    # which worker runs each round of a periodic duty (workers/periodic.py)
    "WorkerLease",
    # articles clipped from issues (docs/workflow.md)
    "ARTICLE_TYPES",
    "SOURCE_TYPES",
    "ArticleRegion",
    # the library's name and contacts, outgoing mail (docs/deployment.md)
    "MAIL_STATES",
    "LibrarySetting",
    "OutgoingMail",
]
