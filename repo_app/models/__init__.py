"""Database models, one module per aggregate. Importing this package registers them all."""

from repo_app.models.audit import AuditEvent
from repo_app.models.collection import Collection
from repo_app.models.copy_request import REQUEST_STATUSES, CopyRequest
from repo_app.models.document import DOC_TYPES, Document
from repo_app.models.lease import WorkerLease
from repo_app.models.page import PAGE_STATES, Page
from repo_app.models.plan import PLAN_FIELDS, Plan
from repo_app.models.record import CatalogueRecord, RecordAgent, RecordSubject
from repo_app.models.rights import (
    Contract,
    ContractParty,
    ContractWork,
    DocumentRights,
    RightsHolder,
)
from repo_app.models.scan_job import JOB_STATES, ScanJob
from repo_app.models.stored_file import StoredFile
from repo_app.models.tombstone import OaiTombstone
from repo_app.models.user import ROLES, Branch, User

__all__ = [
    "DOC_TYPES",
    "JOB_STATES",
    "PAGE_STATES",
    "CatalogueRecord",
    "Collection",
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
    # which worker runs each round of a periodic duty (workers/sweeper.py)
    "WorkerLease",
]
