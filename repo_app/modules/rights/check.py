"""The daily rights check: what a contract's expiry does, and every document decided again.

Run by Celery beat (``mura.workers.tasks.check_rights``, hourly) and by
``mura contracts refresh``. A contract whose last day has passed becomes ``expired``
(audited); then :func:`mura.app.modules.rights.rights.refresh_rights` decides every document's
access again with :func:`~mura.app.modules.rights.rights.decide`: documents that only the ended
contract covered stop being public (withdrawn for OAI harvesters, out of the search index,
never deleted); those a new contract covers come back.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import Contract
from mura.app.modules.administration import audit
from mura.app.modules.rights import rights
from mura.app.modules.rights.contracts import contracts_ending

log = logging.getLogger(__name__)


def expire_contracts(today: date) -> list[Contract]:
    """Set ``expired`` on active contracts whose last day is before ``today``; commit."""
    ended = list(
        db.session.scalars(
            select(Contract).where(
                Contract.status == "active",
                Contract.ends_on.is_not(None),
                Contract.ends_on < today,
            )
        )
    )
    for contract in ended:
        contract.status = "expired"
        audit.record("contract.expire", "contract", contract.id, number=contract.number,
                     ends_on=contract.ends_on.isoformat(), on=today.isoformat(),
                     via="rights check")  # fmt: skip
    db.session.commit()
    return ended


def run_rights_check(today: date | None = None) -> dict:
    """The periodic check: expire ended contracts, decide every document again.

    Documents whose contract ended are withdrawn (never deleted); those that a new contract
    covers come back. Returns a JSON-ready report.
    """
    today = today or rights.library_today()
    expired = expire_contracts(today)
    changes = rights.refresh_rights(None, today=today, via="rights check")
    ending = contracts_ending(today)
    report = {
        "today": today.isoformat(),
        "expired": [c.number for c in expired],
        "changed": [
            {"document_id": c.document_id, "before": c.before, "after": c.after} for c in changes
        ],
        "ending_soon": [
            {"number": c.number, "ends_on": c.ends_on.isoformat() if c.ends_on else None}
            for c in ending
        ],
    }
    if expired or changes:
        log.info("rights check %s: %s", today, report)
    return report
