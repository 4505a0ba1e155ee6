"""Rights holders and author contracts: saving, the signed scan, expiry, the daily check.

Every change is in the audit log (who, when, what changed) and is followed by
:func:`mura.app.modules.rights.rights.refresh_rights` for the documents it may concern. Nothing is
deleted: a contract ends by expiring or being terminated; a holder stays on file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import (
    Branch,
    CatalogueRecord,
    Contract,
    ContractParty,
    ContractWork,
    RightsHolder,
    User,
)
from mura.app.models.rights import CONTRACT_STATUSES, GRANTS, HOLDER_KINDS, PARTY_ROLES
from mura.app.modules.administration import audit
from mura.app.modules.rights import rights
from mura.app.modules.rights.rights import RightsError

log = logging.getLogger(__name__)

#: Holder fields an administrator edits; contacts are audited by name only, never by value.
HOLDER_FIELDS = ("kind", "name", "birth_year", "death_year", "address", "phone", "email",
                 "identity", "notes")  # fmt: skip
CONTACT_FIELDS = frozenset({"address", "phone", "email", "identity"})
CONTRACT_FIELDS = ("number", "signed_on", "starts_on", "ends_on", "status", "grants",
                   "remuneration", "branch_id", "notes", "status_reason")  # fmt: skip


# --- rights holders ------------------------------------------------------------------------------


def save_holder(
    holder: RightsHolder | None, data: dict, *, actor: User | None = None
) -> RightsHolder:
    """Create or update a rights holder from ``data`` (keys of :data:`HOLDER_FIELDS`); commit.

    Raises:
        RightsError: A missing name or an unknown kind.
    """
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        raise RightsError("a rights holder needs a name", "name")
    if data.get("kind", "person") not in HOLDER_KINDS:
        raise RightsError(f"kind is one of {', '.join(HOLDER_KINDS)}", "kind")
    created = holder is None
    if holder is None:
        holder = RightsHolder(name=name)
        db.session.add(holder)
    changed = []
    for key in HOLDER_FIELDS:
        if key not in data:
            continue
        value = name if key == "name" else data[key]
        if isinstance(value, str) and key not in ("address", "identity", "notes"):
            value = value.strip()
        if getattr(holder, key) != value:
            setattr(holder, key, value)
            changed.append(key)
    db.session.flush()
    if created or changed:
        audit.record(
            "rights_holder.create" if created else "rights_holder.update",
            "rights_holder", holder.id, actor=actor, name=holder.name,
            changed=changed,
            values={k: getattr(holder, k) for k in changed if k not in CONTACT_FIELDS},
        )  # fmt: skip
    db.session.commit()
    if changed and not created:
        # Holders are parties, not the rule's input today; the documents are decided again all
        # the same, so a future rule that reads them (an heir's term) needs nothing more here.
        record_ids = [w.record_id for p in holder.parties for w in p.contract.works]
        rights.refresh_rights(rights.documents_of_records(record_ids), actor=actor)
    return holder


def list_holders() -> list[RightsHolder]:
    """Every rights holder, by name."""
    return list(db.session.scalars(select(RightsHolder).order_by(RightsHolder.name)))


def find_holder(name: str) -> RightsHolder | None:
    """The holder with exactly this name (spaces and case folded), if exactly one."""
    wanted = " ".join(name.split()).casefold()
    found = [h for h in list_holders() if " ".join(h.name.split()).casefold() == wanted]
    return found[0] if len(found) == 1 else None


# --- contracts -----------------------------------------------------------------------------------


@dataclass
class ContractData:
    """A contract as a form or a spreadsheet row gives it.

    ``parties`` are (holder, role) pairs; ``works`` are (record or None, title as written).
    """

    number: str
    starts_on: date | None
    ends_on: date | None = None
    signed_on: date | None = None
    status: str = "draft"
    grants: list[str] = field(default_factory=list)
    remuneration: str = ""
    branch: Branch | None = None
    notes: str = ""
    status_reason: str = ""
    parties: list[tuple[RightsHolder, str]] = field(default_factory=list)
    works: list[tuple[CatalogueRecord | None, str]] = field(default_factory=list)


def check(data: ContractData, contract: Contract | None = None) -> None:
    """Refuse what cannot be a contract.

    Raises:
        RightsError: With the field at fault.
    """
    number = data.number.strip()
    if not number:
        raise RightsError("a contract needs its number", "number")
    clash = db.session.scalar(select(Contract).where(Contract.number == number))
    if clash is not None and clash is not contract:
        raise RightsError(f"contract number {number} is already used", "number")
    if data.starts_on is None:
        raise RightsError("when does the term start?", "starts_on")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise RightsError("the term ends before it starts", "ends_on")
    if data.status not in CONTRACT_STATUSES:
        raise RightsError(f"status is one of {', '.join(CONTRACT_STATUSES)}", "status")
    unknown = set(data.grants) - set(GRANTS)
    if unknown:
        raise RightsError(f"unknown rights: {', '.join(sorted(unknown))}", "grants")
    for _holder, role in data.parties:
        if role not in PARTY_ROLES:
            raise RightsError(f"a party's role is one of {', '.join(PARTY_ROLES)}", "parties")
    if data.status == "active" and not data.parties:
        raise RightsError("an active contract needs at least one rights holder", "parties")
    if data.status == "active" and not data.works:
        raise RightsError("an active contract needs at least one work", "works")


def save_contract(
    contract: Contract | None,
    data: ContractData,
    *,
    actor: User | None = None,
    today: date | None = None,
) -> Contract:
    """Create or update a contract, audit what changed, decide its documents again; commit.

    An ``active`` contract whose last day is already past is saved as ``expired``.

    Raises:
        RightsError: From :func:`check`.
    """
    check(data, contract)
    today = today or rights.library_today()
    created = contract is None
    if contract is None:
        contract = Contract(number=data.number.strip(), starts_on=data.starts_on)
        db.session.add(contract)
        before: dict = {}
        old_records: set[int | None] = set()
    else:
        before = _snapshot(contract)
        old_records = {w.record_id for w in contract.works}
    status = data.status
    if status == "active" and data.ends_on is not None and data.ends_on < today:
        status = "expired"
    values = {
        "number": data.number.strip(),
        "signed_on": data.signed_on,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "status": status,
        "grants": [g for g in GRANTS if g in data.grants],
        "remuneration": data.remuneration.strip(),
        "branch_id": data.branch.id if data.branch else None,
        "notes": data.notes,
        "status_reason": data.status_reason.strip(),
    }
    for key, value in values.items():
        if getattr(contract, key) != value:
            setattr(contract, key, value)
    parties = [(h.id, role) for h, role in data.parties]
    if parties != [(p.holder_id, p.role) for p in contract.parties]:
        contract.parties = [
            ContractParty(holder=h, role=role, position=i)
            for i, (h, role) in enumerate(data.parties)
        ]
    works = [(r.id if r else None, title) for r, title in data.works]
    if works != [(w.record_id, w.title) for w in contract.works]:
        contract.works = [
            ContractWork(record=r, title=(title or (r.full_title if r else ""))[:1000], position=i)
            for i, (r, title) in enumerate(data.works)
        ]
    db.session.flush()
    after = _snapshot(contract)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        audit.record(
            "contract.create" if created else "contract.update",
            "contract", contract.id, actor=actor, number=contract.number, changes=changes,
        )  # fmt: skip
    db.session.commit()
    record_ids = old_records | {w.record_id for w in contract.works}
    rights.refresh_rights(rights.documents_of_records(record_ids), actor=actor, today=today)
    return contract


def _snapshot(contract: Contract) -> dict:
    """A contract's audited state as JSON-ready values."""
    state = {k: getattr(contract, k) for k in CONTRACT_FIELDS}
    for key in ("signed_on", "starts_on", "ends_on"):
        state[key] = state[key].isoformat() if state[key] else None
    state["grants"] = list(state["grants"] or [])
    state["parties"] = [[p.holder_id, p.role] for p in contract.parties]
    state["works"] = [[w.record_id, w.title] for w in contract.works]
    state["scan_file_id"] = contract.scan_file_id
    return state


def attach_scan(
    contract: Contract, stream: BinaryIO, name: str, *, actor: User | None = None
) -> None:
    """Keep the scanned signed contract (a PDF) in the private store; commit.

    Raises:
        RightsError: When the file is not a PDF.
    """
    from mura.app.core import files

    head = stream.read(5)
    stream.seek(0)
    if head != b"%PDF-":
        raise RightsError("the scan must be a PDF", "scan")
    before = contract.scan_file_id
    contract.scan_file = files.keep_stream(stream, "contract_scan", name, "application/pdf")
    db.session.flush()
    audit.record("contract.scan", "contract", contract.id, actor=actor, number=contract.number,
                 before=before, after=contract.scan_file_id, name=name[:200])  # fmt: skip
    db.session.commit()


def list_contracts(status: str | None = None) -> list[Contract]:
    """Contracts, newest term first; only those of ``status`` when given."""
    stmt = select(Contract).order_by(Contract.starts_on.desc(), Contract.id.desc())
    if status:
        stmt = stmt.where(Contract.status == status)
    return list(db.session.scalars(stmt))


def contracts_ending(today: date | None = None, days: int | None = None) -> list[Contract]:
    """Active contracts whose last day falls within ``days`` (default ``CONTRACT_WARNING_DAYS``)."""
    today = today or rights.library_today()
    days = current_app.config.get("CONTRACT_WARNING_DAYS", 30) if days is None else days
    return list(
        db.session.scalars(
            select(Contract)
            .where(
                Contract.status == "active",
                Contract.ends_on.is_not(None),
                Contract.ends_on >= today,
                Contract.ends_on <= today + timedelta(days=days),
            )
            .order_by(Contract.ends_on, Contract.number)
        )
    )


def status_counts() -> dict[str, int]:
    """How many contracts are in each status."""
    rows = db.session.execute(select(Contract.status, func.count()).group_by(Contract.status))
    counts = dict.fromkeys(CONTRACT_STATUSES, 0)
    counts.update({status: n for status, n in rows})
    return counts
