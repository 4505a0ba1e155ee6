"""The publication rule: what a document's rights allow, computed and never typed by hand.

:func:`decide` is the rule, a pure function of plain facts and a date (table-tested in
``tests/test_rights_rule.py``). Everything else here feeds it and keeps its result:

- :func:`load_facts` reads the facts of many documents in a few queries;
- :func:`refresh_rights` decides again and writes the result on the document (``access``,
  ``access_reason``, ``access_download``, ``access_print``, ``rights_uri``), so lists, OAI-PMH
  and the search index filter in SQL (:mod:`mura.app.modules.rights.visibility`); a document whose
  description stops being public is withdrawn (OAI tombstone, out of the index), one whose text
  becomes public or stops being public is indexed again;
- :func:`set_mark` records an administrator's public-domain / library-owned / none mark;
- a flush hook gives every new document its access at once (``MURA_DEFAULT_ACCESS``).

The rule, in order (docs/rights.md):

1. marked public domain → online (Public Domain Mark);
2. every creator of its catalogue record died more than 70 years before this year → a *proposal*
   only (``RightsDecision.proposal``): catalogue data is typed and imported by staff, so it opens
   nothing until an administrator confirms it (:func:`confirm_public_domain`, which marks the
   document public domain, audited); the rest of the rule decides meanwhile;
3. marked library-owned → online (rightsstatements.org InC);
4. active contracts in force today that cover its record → the most the contracts grant
   together: ``publish_online`` → online; else ``reading_room`` → reading room; else the
   description only (``record_only``); download and print as granted (InC);
5. no mark at all and ``MURA_DEFAULT_ACCESS`` is ``public_domain`` / ``library_owned`` → as 1 / 3;
6. otherwise not public, with every reason why.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mura.app.extensions import db
from mura.app.models import (
    SOURCE_TYPES,
    Contract,
    ContractWork,
    Document,
    DocumentRights,
    RecordAgent,
    User,
)
from mura.app.models.base import utcnow
from mura.app.models.record import CREATOR_ROLES
from mura.app.models.rights import GRANTS, MARKS
from mura.app.modules.administration import audit
from mura.app.modules.rights import visibility

log = logging.getLogger(__name__)

#: rightsstatements.org "In Copyright": contract, library-owned and reading-room documents.
IN_COPYRIGHT = "http://rightsstatements.org/vocab/InC/1.0/"
#: Creative Commons Public Domain Mark 1.0, in the form Europeana and EDM harvesters expect.
PUBLIC_DOMAIN_MARK = "http://creativecommons.org/publicdomain/mark/1.0/"
#: Copyright lasts for the author's life and this many years (Kazakhstan, Kyrgyzstan: 70).
COPYRIGHT_YEARS = 70
#: Says a reason: ``_(message, **values)``. The stored reason (``access_reason``, the audit log,
#: OAI) is English (:func:`english`); a screen passes Flask-Babel's ``gettext`` to show the same
#: reason in the reader's language (:func:`reason_in_locale`). The parameter is called ``_`` so
#: that ``pybabel extract`` finds every message of the rule.
Say = Callable[..., str]


def english(message: str, **values: object) -> str:
    """A message as written in the source, its ``%(name)s`` fields filled (as gettext does)."""
    return message % values if values else message


def _grant_label(grant: str, _: Say) -> str:
    labels = {
        "digitize": _("digitize"),
        "publish_online": _("publish online"),
        "reading_room": _("reading room"),
        "download": _("download"),
        "print": _("print"),
    }
    return labels.get(grant, grant)


_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DIED = re.compile(r"^\s*(d\.|died|ум\.|умер|қайт|ө\.|†)", re.IGNORECASE)
_CHUNK = 500


# --- the rule (pure) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractFacts:
    """What the rule needs of one contract that covers the document's record."""

    number: str
    status: str
    starts_on: date
    ends_on: date | None
    grants: frozenset[str]

    def in_force(self, today: date) -> bool:
        """Active, started, and not past its last day (``ends_on`` None: indefinite)."""
        return (
            self.status == "active"
            and self.starts_on <= today
            and (self.ends_on is None or today <= self.ends_on)
        )


@dataclass(frozen=True)
class DocumentFacts:
    """Everything the rule looks at for one document.

    Attributes:
        mark: The administrator's mark (``public_domain``, ``library_owned``, ``none``) or None.
        mark_reason: Why it was marked.
        default_mark: ``MURA_DEFAULT_ACCESS``, for documents without a mark.
        death_years: One entry per creator of the catalogue record, None where not known to
            have died (a living author, no dates, a corporate body). Empty: no creator known.
        contracts: The contracts that cover the document's catalogue record, in any status.
        has_record: Whether the document belongs to a catalogue record (contracts cover those).
        is_source: A newspaper or journal issue (``SOURCE_TYPES``): a source its articles are
            clipped from, never public by ``DEFAULT_ACCESS`` alone, only when decided (a mark,
            a contract, its authors' death dates).
    """

    mark: str | None = None
    mark_reason: str = ""
    default_mark: str = "none"
    death_years: tuple[int | None, ...] = ()
    contracts: tuple[ContractFacts, ...] = ()
    has_record: bool = True
    is_source: bool = False


@dataclass(frozen=True)
class RightsDecision:
    """What the public may do with a document, and why (for staff and the audit log)."""

    status: str
    download: bool
    print: bool
    reason: str
    rights_uri: str
    #: A public-domain finding from the catalogue (every author died over 70 years ago) that no
    #: administrator has confirmed yet: shown on the rights screen, it opens nothing by itself.
    proposal: str = ""

    @property
    def listed(self) -> bool:
        """Whether the public sees the description."""
        return self.status in visibility.LISTED_ACCESS


def decide(facts: DocumentFacts, today: date, _: Say = english) -> RightsDecision:
    """The publication rule (see the module docstring). Pure: same facts, same answer.

    ``_`` says the reasons: English by default (what is stored), ``gettext`` for a screen.
    """
    if facts.mark == "public_domain":
        return _open(
            PUBLIC_DOMAIN_MARK, _("Public domain (marked): %(why)s", why=facts.mark_reason)
        )
    decision = _decide_unconfirmed(facts, today, _)
    died = public_domain_since_death(facts.death_years, today)
    if died is None:
        return decision
    proposal = _(
        "Public domain: the author died in %(died)s, more than %(years)s years before %(year)s",
        died=died, years=COPYRIGHT_YEARS, year=today.year,
    )  # fmt: skip
    return replace(decision, proposal=proposal)


def _decide_unconfirmed(facts: DocumentFacts, today: date, _: Say) -> RightsDecision:
    """Rules 3 to 6: what holds while the authors' dates are not confirmed by an administrator."""
    if facts.mark == "library_owned":
        return _open(
            IN_COPYRIGHT, _("The library holds the rights: %(why)s", why=facts.mark_reason)
        )
    in_force = [c for c in facts.contracts if c.in_force(today)]
    if in_force:
        return _by_contracts(in_force, _)
    if facts.mark is None and facts.is_source:
        return RightsDecision("not_public", False, False, _why_not(facts, today, _), "")
    if facts.mark is None and facts.default_mark == "public_domain":
        return _open(PUBLIC_DOMAIN_MARK, _("No mark: public domain by default (DEFAULT_ACCESS)"))
    if facts.mark is None and facts.default_mark == "library_owned":
        return _open(IN_COPYRIGHT, _("No mark: the library's own by default (DEFAULT_ACCESS)"))
    return RightsDecision("not_public", False, False, _why_not(facts, today, _), "")


def public_domain_since_death(death_years: Sequence[int | None], today: date) -> int | None:
    """The last creator's death year if every creator died over 70 years ago, else None."""
    if not death_years or any(year is None for year in death_years):
        return None
    last = max(year for year in death_years if year is not None)
    return last if today.year - last > COPYRIGHT_YEARS else None


def death_year(dates: str) -> int | None:
    """The year of death in a catalogue heading's dates: "1890-1950", "ум. 1950"; else None.

    "1950-" (living, or not known dead) and a lone birth year give None.
    """
    years = [int(y) for y in _YEAR.findall(dates or "")]
    if len(years) >= 2:
        return years[1]
    if len(years) == 1 and _DIED.match(dates):
        return years[0]
    return None


def _open(uri: str, reason: str) -> RightsDecision:
    return RightsDecision("online", True, True, reason, uri)


def _by_contracts(contracts: list[ContractFacts], _: Say) -> RightsDecision:
    grants = frozenset().union(*(c.grants for c in contracts))
    terms = "; ".join(
        _("contract %(number)s (%(term)s)", number=c.number, term=_term(c, _)) for c in contracts
    )
    granted = ", ".join(_grant_label(g, _) for g in GRANTS if g in grants) or _("nothing listed")
    reason = f"{terms[0].upper()}{terms[1:]}: {granted}"
    if "publish_online" in grants:
        return RightsDecision(
            "online", "download" in grants, "print" in grants, reason, IN_COPYRIGHT
        )
    if "reading_room" in grants:
        return RightsDecision("reading_room", False, "print" in grants, reason, IN_COPYRIGHT)
    # Signed for the work but neither online nor in the reading room (digitization only): the
    # catalogue description is public anyway; the copy stays with staff.
    return RightsDecision("record_only", False, False, reason, IN_COPYRIGHT)


def _day(day: date, _: Say) -> str:
    """A date in a reason: ISO when stored (English), the reader's format on a screen."""
    if _ is english:
        return day.isoformat()
    from flask_babel import format_date

    return format_date(day, "short")


def _term(contract: ContractFacts, _: Say) -> str:
    end = _day(contract.ends_on, _) if contract.ends_on else _("indefinite")
    return f"{_day(contract.starts_on, _)} – {end}"


def _why_not(facts: DocumentFacts, today: date, _: Say) -> str:
    parts = []
    if facts.is_source and facts.mark is None:
        parts.append(_("An issue is a source for its articles: public only when marked"))
    if facts.mark == "none":
        why = facts.mark_reason or _("no reason")
        parts.append(_("Marked: no rights of the library's own (%(why)s)", why=why))
    else:
        parts.append(_("No public-domain or library-owned mark"))
    if not facts.death_years:
        parts.append(_("no author with known dates"))
    elif any(year is None for year in facts.death_years):
        parts.append(_("an author is living or their year of death is unknown"))
    else:
        last = max(y for y in facts.death_years if y is not None)
        if public_domain_since_death(facts.death_years, today) is None:
            parts.append(
                _(
                    "the author died in %(died)s: public domain from %(year)s",
                    died=last,
                    year=last + COPYRIGHT_YEARS + 1,
                )  # fmt: skip
            )
        else:
            parts.append(
                _(
                    "the author died in %(died)s: public domain proposed, waiting for an "
                    "administrator's confirmation",
                    died=last,
                )
            )
    if not facts.has_record:
        parts.append(_("no catalogue record, so no contract can cover it"))
    elif not facts.contracts:
        parts.append(_("no contract covers its catalogue record"))
    for contract in facts.contracts:
        parts.append(_not_in_force(contract, today, _))
    return "; ".join(parts)


def _not_in_force(contract: ContractFacts, today: date, _: Say) -> str:
    number = contract.number
    if contract.status == "draft":
        return _("contract %(number)s is a draft", number=number)
    if contract.status == "terminated":
        return _("contract %(number)s was terminated", number=number)
    if contract.status == "expired" or (contract.ends_on and contract.ends_on < today):
        end = _day(contract.ends_on, _) if contract.ends_on else "?"
        return _("contract %(number)s ended on %(day)s", number=number, day=end)
    day = _day(contract.starts_on, _)
    return _("contract %(number)s starts on %(day)s", number=number, day=day)


# --- facts from the database ---------------------------------------------------------------------


def library_today() -> date:
    """Today in the library's time zone (``RIGHTS_TIMEZONE``): a contract's last day is local."""
    return datetime.now(ZoneInfo(current_app.config.get("RIGHTS_TIMEZONE") or "UTC")).date()


def default_mark() -> str:
    """``DEFAULT_ACCESS`` checked: an unknown value counts as ``none`` (never open by mistake)."""
    value = str(current_app.config.get("DEFAULT_ACCESS") or "none").strip()
    return value if value in MARKS else "none"


def load_facts(document_ids: Sequence[int]) -> dict[int, DocumentFacts]:
    """The facts of each of ``document_ids`` that exists, in four queries per 500 documents."""
    result: dict[int, DocumentFacts] = {}
    default = default_mark()
    for chunk in _chunks(sorted(set(document_ids))):
        rows = db.session.execute(
            select(Document.id, Document.record_id, Document.doc_type).where(Document.id.in_(chunk))
        ).all()
        marks = {
            m.document_id: m
            for m in db.session.scalars(
                select(DocumentRights).where(DocumentRights.document_id.in_(chunk))
            )
        }
        record_ids = sorted({r for _, r, _t in rows if r is not None})
        deaths = _death_years(record_ids)
        contracts = _contracts_of(record_ids)
        for document_id, record_id, doc_type in rows:
            mark = marks.get(document_id)
            result[document_id] = DocumentFacts(
                mark=mark.mark if mark else None,
                mark_reason=mark.reason if mark else "",
                default_mark=default,
                death_years=deaths.get(record_id, ()) if record_id else (),
                contracts=contracts.get(record_id, ()) if record_id else (),
                has_record=record_id is not None,
                is_source=doc_type in SOURCE_TYPES,
            )
    return result


def _death_years(record_ids: list[int]) -> dict[int, tuple[int | None, ...]]:
    found: dict[int, list[int | None]] = defaultdict(list)
    if not record_ids:
        return {}
    agents = db.session.execute(
        select(RecordAgent.record_id, RecordAgent.kind, RecordAgent.dates)
        .where(RecordAgent.record_id.in_(record_ids), RecordAgent.role.in_(CREATOR_ROLES))
        .order_by(RecordAgent.record_id, RecordAgent.position)
    )
    for record_id, kind, dates in agents:
        # A corporate body does not die: its works need a mark or a contract.
        found[record_id].append(death_year(dates) if kind == "person" else None)
    return {k: tuple(v) for k, v in found.items()}


def _contracts_of(record_ids: list[int]) -> dict[int, tuple[ContractFacts, ...]]:
    found: dict[int, list[ContractFacts]] = defaultdict(list)
    if not record_ids:
        return {}
    rows = db.session.execute(
        select(ContractWork.record_id, Contract)
        .join(Contract, Contract.id == ContractWork.contract_id)
        .where(ContractWork.record_id.in_(record_ids))
        .order_by(Contract.starts_on, Contract.id)
    )
    for record_id, contract in rows:
        facts = contract_facts(contract)
        if facts not in found[record_id]:
            found[record_id].append(facts)
    return {k: tuple(v) for k, v in found.items()}


def contract_facts(contract: Contract) -> ContractFacts:
    """A contract row as the rule sees it."""
    return ContractFacts(
        number=contract.number,
        status=contract.status,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        grants=frozenset(contract.grants or ()),
    )


def _facts_of_new(document: Document) -> DocumentFacts:
    """Facts of a document being inserted (its record may be pending in the same flush)."""
    record = document.record
    record_id = document.record_id or (record.id if record is not None else None)
    deaths: tuple[int | None, ...] = ()
    if record is not None:
        deaths = tuple(
            death_year(a.dates) if a.kind == "person" else None
            for a in record.agents
            if a.role in CREATOR_ROLES
        )
    elif record_id is not None:
        deaths = _death_years([record_id]).get(record_id, ())
    contracts = _contracts_of([record_id]).get(record_id, ()) if record_id else ()
    return DocumentFacts(
        default_mark=default_mark(),
        death_years=deaths,
        contracts=contracts,
        has_record=record_id is not None,
        is_source=document.doc_type in SOURCE_TYPES,
    )


# --- keeping the result on the document ----------------------------------------------------------


@dataclass
class AccessChange:
    """A document whose access changed in a refresh."""

    document_id: int
    before: str
    after: str
    reason: str


def apply_decision(document: Document, decision: RightsDecision) -> bool:
    """Write ``decision`` on ``document``; True if anything changed (nothing is committed)."""
    values = {
        "access": decision.status,
        "access_reason": decision.reason,
        "access_download": decision.download,
        "access_print": decision.print,
        "rights_uri": decision.rights_uri,
    }
    changed = {k: v for k, v in values.items() if getattr(document, k) != v}
    if not changed:
        return False
    if "access" in changed:
        document.access_changed_at = utcnow()
    for name, value in changed.items():
        setattr(document, name, value)
    return True


def refresh_rights(
    document_ids: Iterable[int] | None = None,
    *,
    today: date | None = None,
    reindex: bool = True,
    actor: User | None = None,
    via: str | None = None,
) -> list[AccessChange]:
    """Decide again for ``document_ids`` (all documents when None), keep the result, commit.

    A document whose description stops being public is withdrawn (OAI tombstone, search index);
    one whose full text becomes or stops being public is indexed again (unless ``reindex`` is
    False: the caller re-indexes). Every change of access is in the audit log. Idempotent: a
    second run with the same facts and day changes nothing.

    Args:
        document_ids: Which documents; None for every document (the periodic check).
        today: The day to decide for (tests move the clock); default: :func:`library_today`.
        reindex: Whether to update the search index for documents whose text access changed.
        actor: Who caused it, for the audit log (default: the request's user, if any).
        via: How it came about, for the audit log ("rights check"); default: the request or CLI.

    Returns:
        The documents whose access level changed.
    """
    from mura.app.modules.catalogue import records
    from mura.app.modules.discovery import search as search_service

    today = today or library_today()
    if document_ids is None:
        ids = list(db.session.scalars(select(Document.id).order_by(Document.id)))
    else:
        ids = sorted(set(document_ids))
    changes: list[AccessChange] = []
    withdrawn: dict[int, str] = {}
    to_index: list[int] = []
    for chunk in _chunks(ids):
        facts = load_facts(chunk)
        for document in db.session.scalars(select(Document).where(Document.id.in_(chunk))):
            decision = decide(facts[document.id], today)
            was_listed, was_public = visibility.is_listed(document), visibility.is_public(document)
            before = document.access
            if not apply_decision(document, decision):
                continue
            if before != decision.status:
                changes.append(AccessChange(document.id, before, decision.status, decision.reason))
                audit.record(
                    "document.access", "document", document.id, actor=actor,
                    before=before, after=decision.status, reason=decision.reason,
                    on=today.isoformat(), **({"via": via} if via else {}),
                )  # fmt: skip
            if was_listed and not visibility.is_listed(document):
                withdrawn[document.id] = decision.reason
            elif was_public != visibility.is_public(document):
                to_index.append(document.id)
    db.session.commit()
    for document_id, reason in withdrawn.items():
        records.withdraw_document(document_id, f"rights: {reason}"[:2000])
    if reindex:
        for document_id in to_index:
            try:
                search_service.index_document(document_id)
            except Exception:  # the access is committed; `mura reindex` or the next change fixes it
                log.exception("document %s: re-indexing after a rights change failed", document_id)
    return changes


def documents_of_records(record_ids: Iterable[int | None]) -> list[int]:
    """Ids of the documents of these catalogue records."""
    wanted = sorted({r for r in record_ids if r is not None})
    if not wanted:
        return []
    return list(db.session.scalars(select(Document.id).where(Document.record_id.in_(wanted))))


# --- marks ---------------------------------------------------------------------------------------


class RightsError(ValueError):
    """A mark or contract that cannot be saved; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def set_mark(
    document_id: int, mark: str | None, reason: str = "", *, actor: User | None = None
) -> RightsDecision:
    """Mark a document public domain, library-owned or ``none``; ``None`` removes the mark.

    A public-domain or library-owned mark needs a reason (what the decision rests on). The
    change is audited and the document's access recomputed at once (committed).

    Raises:
        RightsError: No such document, an unknown mark, or a missing reason.
    """
    document = db.session.get(Document, document_id)
    if document is None:
        raise RightsError(f"no document {document_id}", "document")
    if mark is not None and mark not in MARKS:
        raise RightsError(f"unknown mark {mark!r}: one of {', '.join(MARKS)}", "mark")
    reason = " ".join((reason or "").split())
    if mark in ("public_domain", "library_owned") and not reason:
        raise RightsError("say why (the reason is kept with the mark)", "reason")
    row = db.session.scalar(select(DocumentRights).where(DocumentRights.document_id == document_id))
    before = {"mark": row.mark, "reason": row.reason} if row else {"mark": None, "reason": ""}
    if mark is None:
        if row is not None:
            db.session.delete(row)
    else:
        if row is None:
            row = DocumentRights(document_id=document_id)
            db.session.add(row)
        row.mark, row.reason = mark, reason
        row.set_by = _actor_name(actor)
        row.set_at = utcnow()
    after = {"mark": mark, "reason": reason if mark else ""}
    if before != after:
        audit.record("document.rights_mark", "document", document_id, actor=actor,
                     before=before, after=after)  # fmt: skip
    db.session.flush()
    refresh_rights([document_id], actor=actor)
    return status_of(document_id)


def confirm_public_domain(document_id: int, *, actor: User | None = None) -> RightsDecision:
    """An administrator confirms the public-domain proposal of the catalogue (rule 2).

    The proposal becomes the document's public-domain mark (its reason quoted, who confirmed
    it kept), so later catalogue changes neither take it back nor need confirming again; an
    administrator removes the mark to undo it. Audited as ``document.rights_confirm``; the
    access is recomputed and committed. Callers check the role (the admin screens, the CLI).

    Raises:
        RightsError: No such document, or no proposal to confirm (the dates changed since).
    """
    proposal = status_of(document_id).proposal
    if not proposal:
        raise RightsError(
            f"document {document_id}: nothing to confirm (no public-domain proposal)", "mark"
        )
    audit.record("document.rights_confirm", "document", document_id, actor=actor,
                 proposal=proposal)  # fmt: skip
    return set_mark(document_id, "public_domain", f"Confirmed: {proposal}", actor=actor)


@dataclass
class Proposal:
    """A document the catalogue proposes as public domain, waiting for an administrator."""

    document_id: int
    title: str
    proposal: str


def proposals(limit: int = 50, scan: int = 5000, *, _: Say = english) -> list[Proposal]:
    """Unconfirmed public-domain proposals of the newest documents (the rights dashboard).

    Bounded work for one page view: the ``scan`` newest documents that have a catalogue
    record and no public-domain mark are decided, at most ``limit`` proposals returned.
    """
    today = library_today()
    marked = select(DocumentRights.document_id).where(DocumentRights.mark == "public_domain")
    ids = list(
        db.session.scalars(
            select(Document.id)
            .where(Document.record_id.is_not(None), Document.id.not_in(marked))
            .order_by(Document.id.desc())
            .limit(scan)
        )
    )
    found: list[Proposal] = []
    for chunk in _chunks(ids):
        facts = load_facts(chunk)
        for document_id in chunk:
            proposal = decide(facts[document_id], today, _).proposal if document_id in facts else ""
            if proposal:
                title = db.session.get(Document, document_id).title
                found.append(Proposal(document_id, title, proposal))
                if len(found) >= limit:
                    return found
    return found


def status_of(document_id: int, today: date | None = None, *, _: Say = english) -> RightsDecision:
    """The decision for one document today, from the facts (not the stored columns)."""
    facts = load_facts([document_id])
    if document_id not in facts:
        raise RightsError(f"no document {document_id}", "document")
    return decide(facts[document_id], today or library_today(), _)


def reasons_in_locale(document_ids: Sequence[int]) -> dict[int, str]:
    """Why each document is (not) public, in the reader's language, decided now from the facts.

    The stored ``access_reason`` is English (the audit log and harvesters keep one wording);
    screens show this instead. Four queries per 500 documents (:func:`load_facts`).
    """
    from flask_babel import gettext

    today = library_today()
    return {i: decide(f, today, gettext).reason for i, f in load_facts(document_ids).items()}


def describe(document_id: int, *, _: Say = english) -> dict:
    """A document's rights as JSON-ready data (``mura rights --json``, the admin page).

    The admin page passes ``gettext`` as ``_`` for the reasons in the reader's language.
    """
    document = db.session.get(Document, document_id)
    if document is None:
        raise RightsError(f"no document {document_id}", "document")
    mark = db.session.scalar(
        select(DocumentRights).where(DocumentRights.document_id == document_id)
    )
    decision = status_of(document_id, _=_)
    return {
        "document_id": document.id,
        "title": document.title,
        **asdict(decision),
        "stored_status": document.access,
        "public": visibility.is_public(document),
        "listed": visibility.is_listed(document),
        "has_pdf": document.pdf_file_id is not None,
        "mark": mark.mark if mark else None,
        "mark_reason": mark.reason if mark else "",
        "mark_set_by": mark.set_by if mark else "",
        "record_id": document.record_id,
    }


def _actor_name(actor: User | None) -> str:
    if actor is not None:
        return actor.username
    from flask import has_request_context

    if has_request_context():
        from flask_login import current_user

        if current_user.is_authenticated:
            return current_user.username
        return ""
    return "cli"


# --- new documents -------------------------------------------------------------------------------


def _initial_access(session: Session, flush_context: object, instances: object) -> None:
    """Every new document gets its access in the flush that inserts it."""
    new = [obj for obj in session.new if isinstance(obj, Document)]
    if not new:
        return
    today = library_today()
    with session.no_autoflush:
        for document in new:
            apply_decision(document, decide(_facts_of_new(document), today))


def init_app(app: Flask) -> None:
    """Give new documents their access on insert; decide again when their record changes."""
    from flask_sqlalchemy.session import Session as session_class

    from mura.app.modules.catalogue import records

    if not event.contains(session_class, "before_flush", _initial_access):
        event.listen(session_class, "before_flush", _initial_access)
    records.documents_described.connect(_after_description_changed)


def _after_description_changed(sender: object, *, document_ids: list[int]) -> None:
    """A new record, or new author dates, may change what the rights allow (docs/rights.md)."""
    refresh_rights(document_ids, reindex=False)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
