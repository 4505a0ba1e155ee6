"""Importing the contract register a library keeps in a spreadsheet (CSV or XLSX).

One row per contract; the columns (docs/rights.md) are recognised by their English names or
the Russian and Kazakh headings libraries use. Works are matched to catalogue records by
external id, then by exact title; rights holders by exact name (new ones are created). Each bad
row is reported with its row number (as the spreadsheet shows it: the header is row 1) and the
reason, and the good rows are imported all the same. A row whose number exists updates that
contract, so a register can be imported again after corrections.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from mura.app.core.import_tally import ImportTally
from mura.app.extensions import db
from mura.app.models import Branch, CatalogueRecord, Contract, RightsHolder, User
from mura.app.models.rights import GRANTS
from mura.app.modules.rights import contracts
from mura.app.modules.rights.rights import RightsError

#: Column -> headings that name it (case and spaces ignored). The first is the canonical one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "№", "номер", "нөмірі", "номер договора", "шарт нөмірі"),
    "signed_on": ("signed_on", "signed", "дата подписания", "дата договора", "қол қойылған күні"),
    "starts_on": ("starts_on", "start", "начало", "дата начала", "басталуы"),
    "ends_on": ("ends_on", "end", "окончание", "дата окончания", "срок до", "аяқталуы"),
    "status": ("status", "статус", "мәртебесі"),
    "holders": (
        "holders",
        "rights holders",
        "правообладатели",
        "правообладатель",
        "автор",
        "құқық иелері",
    ),  # fmt: skip
    "works": ("works", "произведения", "произведение", "шығармалар"),
    "rights": ("rights", "права", "передаваемые права", "құқықтар"),
    "remuneration": ("remuneration", "вознаграждение", "сыйақы"),
    "branch": ("branch", "филиал", "библиотека", "кітапхана"),
    "notes": ("notes", "примечание", "примечания", "ескертпе"),
}
REQUIRED = ("number", "starts_on", "holders", "works")
#: Words in the "rights" column, in any of the languages, -> grant.
GRANT_WORDS = {
    "digitize": "digitize", "digitise": "digitize", "оцифровка": "digitize",
    "цифрландыру": "digitize",
    "publish_online": "publish_online", "online": "publish_online", "publish": "publish_online",
    "интернет": "publish_online", "онлайн": "publish_online",
    "reading_room": "reading_room", "reading room": "reading_room", "читальный зал": "reading_room",
    "оқу залы": "reading_room",
    "download": "download", "скачивание": "download", "жүктеу": "download",
    "print": "print", "печать": "print", "басып шығару": "print",
}  # fmt: skip
#: Words in an empty-looking end date that mean "no end".
INDEFINITE = {"", "indefinite", "бессрочно", "бессрочный", "мерзімсіз", "-", "—"}
STATUS_WORDS = {
    "draft": "draft", "черновик": "draft", "жоба": "draft",
    "active": "active", "действует": "active", "действующий": "active", "күшінде": "active",
    "expired": "expired", "истёк": "expired", "истек": "expired", "мерзімі өтті": "expired",
    "terminated": "terminated", "расторгнут": "terminated", "бұзылды": "terminated",
}  # fmt: skip
ROLE_WORDS = {
    "author": "author", "автор": "author",
    "heir": "heir", "наследник": "heir", "мұрагер": "heir",
    "organisation": "organisation", "organization": "organisation", "организация": "organisation",
    "ұйым": "organisation",
}  # fmt: skip
_ROLE = re.compile(r"^(?P<name>.+?)\s*\((?P<role>[^()]+)\)\s*$")
_SPLIT = re.compile(r"\s*[;\n]\s*")


class RowError(ValueError):
    """What is wrong with one row."""


@dataclass
class RowProblem:
    """A row that was not imported: its row number in the spreadsheet and why."""

    row: int
    reason: str
    number: str = ""


@dataclass
class ContractImportReport(ImportTally):
    """What an import did; ``contract_ids`` lists the contracts created or updated."""

    problems: list[RowProblem] = field(default_factory=list)
    contract_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready form (``mura contracts import --json``)."""
        return {**self.counts(), "contract_ids": self.contract_ids}


def import_contracts(
    data: bytes, filename: str = "", *, actor: User | None = None
) -> ContractImportReport:
    """Import a contract register (CSV or XLSX bytes); see the module docstring.

    Args:
        data: The file's bytes.
        filename: Its name; ``.xlsx`` or the zip signature means XLSX, anything else CSV.
        actor: Who imports, for the audit log (default: the request's user).
    """
    report = ContractImportReport()
    try:
        rows = read_rows(data, filename)
        header = _header(rows[0] if rows else [])
    except RowError as exc:
        report.problems.append(RowProblem(1, str(exc)))
        return report
    for number, cells in enumerate(rows[1:], start=2):
        if not any(str(c or "").strip() for c in cells):
            continue  # blank lines between blocks of a register are common
        values = {name: cells[i] if i < len(cells) else None for name, i in header.items()}
        contract_number = _text(values.get("number"))
        try:
            _import_row(values, report, actor)
        except (RowError, RightsError) as exc:
            db.session.rollback()
            reason = exc.message if isinstance(exc, RightsError) else str(exc)
            report.problems.append(RowProblem(number, reason, contract_number))
    return report


def read_rows(data: bytes, filename: str = "") -> list[list[object]]:
    """The rows of a CSV (UTF-8 or cp1251; comma, semicolon or tab) or of an XLSX first sheet.

    Raises:
        RowError: When the file is neither.
    """
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251")  # Excel "CSV" on a Russian-locale Windows
    if not text.strip():
        raise RowError("the file is empty")
    first = text.splitlines()[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RowError(f"not a readable XLSX file: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _header(cells: list[object]) -> dict[str, int]:
    aliases = {_fold(a): name for name, names in COLUMNS.items() for a in names}
    header: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = aliases.get(_fold(_text(cell)))
        if name and name not in header:
            header[name] = i
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RowError(
            f"missing column(s): {', '.join(missing)} (the first row must name the columns)"
        )
    return header


def _import_row(values: dict, report: ContractImportReport, actor: User | None) -> None:
    number = _text(values.get("number"))
    if not number:
        raise RowError("no contract number")
    signed_on = _date(values.get("signed_on"), "signed_on")
    starts_on = _date(values.get("starts_on"), "starts_on") or signed_on
    ends_raw = values.get("ends_on")
    ends_on = None if _fold(_text(ends_raw)) in INDEFINITE else _date(ends_raw, "ends_on")
    status = _status(values.get("status"))
    grants = _grants(values.get("rights"))
    works = [match_work(item) for item in _items(values.get("works"))]
    if not works:
        raise RowError("no works: name the catalogue records (external id or exact title)")
    holders = [_holder(item) for item in _items(values.get("holders"))]
    if not holders:
        raise RowError("no rights holder")
    branch = _branch(_text(values.get("branch")))
    existing = db.session.scalar(select(Contract).where(Contract.number == number))
    data = contracts.ContractData(
        number=number,
        starts_on=starts_on,
        ends_on=ends_on,
        signed_on=signed_on,
        status=status,
        grants=grants,
        remuneration=_text(values.get("remuneration")),
        branch=branch,
        notes=_text(values.get("notes")) if values.get("notes") is not None else "",
        parties=[(h, role) for h, role in holders],
        works=works,
    )
    if existing is not None:
        data.status_reason = existing.status_reason
        if values.get("notes") is None:
            data.notes = existing.notes
    contracts.check(data, existing)
    # Only now, with the row known to be good, are new holders kept.
    data.parties = [
        (
            h
            if h.id
            else contracts.save_holder(None, {"name": h.name, "kind": h.kind}, actor=actor),
            r,
        )
        for h, r in holders
    ]
    before = contracts._snapshot(existing) if existing is not None else None
    contract = contracts.save_contract(existing, data, actor=actor)
    if existing is None:
        report.created += 1
    elif contracts._snapshot(contract) != before:
        report.updated += 1
    else:
        report.unchanged += 1
    report.contract_ids.append(contract.id)


# --- cells ---------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # "12" typed in a number cell
    return " ".join(str(value).split())


def _fold(value: str) -> str:
    return " ".join(value.casefold().replace("_", " ").split())


def _date(value: object, column: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowError(f"{column}: not a date: {text!r} (use 2024-03-15 or 15.03.2024)")


def _status(value: object) -> str:
    text = _fold(_text(value))
    if not text:
        return "active"  # a register lists signed contracts
    if text not in STATUS_WORDS:
        raise RowError(f"status: unknown {text!r} (draft, active, expired, terminated)")
    return STATUS_WORDS[text]


def _grants(value: object) -> list[str]:
    found: list[str] = []
    for word in re.split(r"\s*[,;\n]\s*", _text(value)):
        if not word:
            continue
        grant = GRANT_WORDS.get(_fold(word))
        if grant is None:
            raise RowError(f"rights: unknown {word!r} ({', '.join(GRANTS)})")
        found.append(grant)
    return [g for g in GRANTS if g in found]


def _items(value: object) -> list[str]:
    return [item for item in _SPLIT.split(str(value or "").strip()) if item.strip()]


def match_work(item: str) -> tuple[CatalogueRecord, str]:
    """The record a line of a contract's works names, and the title to keep on the contract.

    "#12" is Mura's record number; otherwise the external id, else the exact title.

    Raises:
        RowError: No record, or several with that title.
    """
    text = " ".join(item.split())
    if re.fullmatch(r"#\d+", text):
        record = db.session.get(CatalogueRecord, int(text[1:]))
        if record is None:
            raise RowError(f"work {text!r}: no catalogue record {text}")
        return record, record.full_title
    return _work(text)


def _work(item: str) -> tuple[CatalogueRecord, str]:
    """A catalogue record by external id, else by exact title (case and spaces ignored)."""
    text = " ".join(item.split())
    record = db.session.scalar(select(CatalogueRecord).where(CatalogueRecord.external_id == text))
    if record is not None:
        return record, record.full_title
    # SQLite cannot fold Cyrillic case in SQL: compare in Python on the few same-length titles.
    wanted = text.casefold()
    candidates = db.session.scalars(
        select(CatalogueRecord).where(func.length(CatalogueRecord.title) <= len(text))
    )
    found = [
        r for r in candidates if wanted in (r.title.casefold(), r.full_title.casefold())
    ]  # fmt: skip
    if len(found) > 1:
        raise RowError(f"work {text!r}: {len(found)} catalogue records have this title; use ids")
    if not found:
        raise RowError(f"work {text!r}: no catalogue record with this external id or title")
    return found[0], text


def _holder(item: str) -> tuple[RightsHolder, str]:
    """A holder "Name (role)"; an unknown name gives a new, not yet saved, holder."""
    match = _ROLE.match(item.strip())
    name, role = (match["name"], match["role"]) if match else (item.strip(), "author")
    role_code = ROLE_WORDS.get(_fold(role))
    if role_code is None:
        raise RowError(f"holder {name!r}: unknown role {role!r} (author, heir, organisation)")
    holder = contracts.find_holder(name)
    if holder is None:
        kind = "organisation" if role_code == "organisation" else "person"
        holder = RightsHolder(name=" ".join(name.split()), kind=kind)
    return holder, role_code


def _branch(text: str) -> Branch | None:
    if not text:
        return None
    wanted = text.casefold()
    for branch in db.session.scalars(select(Branch)):
        names = (branch.code, branch.name_kk, branch.name_ru, branch.name_en)
        if wanted in (n.casefold() for n in names if n):
            return branch
    raise RowError(f"branch: no branch {text!r} (its code or name)")
