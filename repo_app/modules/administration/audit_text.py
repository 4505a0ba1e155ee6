"""The audit log in words: each action as a sentence, each detail as a labelled field (issue 16).

Events are stored with codes (``document.access``, ``{"after": "not_public"}``) so that they can
be searched and kept stable across languages; the screen says them in the reader's language.
An action, object type, detail or value without a label here is shown as it is stored (new
ones appear before their label is written), and ``tests/test_i18n_walk.py`` catches that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

#: What each action did, as a sentence.
ACTIONS: dict[str, LazyString] = {
    "auth.login": _l("Signed in."),
    "auth.logout": _l("Signed out."),
    "auth.login_failed": _l("A sign-in failed."),
    "auth.password_change": _l("Changed their own password."),
    "user.create": _l("Created an account."),
    "user.update": _l("Changed an account."),
    "user.password_reset": _l("Reset an account's password."),
    "user.set_password": _l("Set an account's password."),
    "branch.create": _l("Created a branch."),
    "branch.update": _l("Changed a branch."),
    "plan.set": _l("Set a branch's yearly plan."),
    "job.upload": _l("Uploaded scans for OCR."),
    "job.retry": _l("Sent failed pages to OCR again."),
    "document.ocr_done": _l("The OCR of a document finished."),
    "document.submit": _l("Sent a document for approval."),
    "document.publish": _l("Published a document."),
    "document.return": _l("Returned a document for correction."),
    "document.skip_review": _l("Published a document without review."),
    "document.changed_after_publication": _l("A published document changed and awaits approval."),
    "document.access": _l("What the public may see of a document changed."),
    "document.rights_mark": _l("Marked a document's rights."),
    "document.rights_confirm": _l("Confirmed that a document is in the public domain."),
    "article.clip": _l("Clipped an article from an issue."),
    "contract.create": _l("Added a contract."),
    "contract.update": _l("Changed a contract."),
    "contract.expire": _l("A contract expired."),
    "contract.scan": _l("Attached the scan of a signed contract."),
    "contract_template.save": _l("Changed a contract template."),
    "contract_template.reset": _l("Restored the standard contract template."),
    "rights_holder.create": _l("Added a rights holder."),
    "rights_holder.update": _l("Changed a rights holder."),
    "copy_request.status": _l("Changed the status of a copy request."),
    "copy_request.link": _l("Linked a copy request to the catalogue."),
}
#: Searching by a group finds each of its actions (``auth`` finds ``auth.login``…).
ACTION_GROUPS: dict[str, LazyString] = {
    "auth": _l("Signing in and out (all)"),
    "user": _l("Accounts (all)"),
    "document": _l("Documents (all)"),
    "contract": _l("Contracts (all)"),
}
OBJECT_TYPES: dict[str, LazyString] = {
    "user": _l("account"),
    "branch": _l("branch"),
    "plan": _l("plan"),
    "scan_job": _l("upload"),
    "document": _l("document"),
    "contract": _l("contract"),
    "contract_template": _l("contract template"),
    "rights_holder": _l("rights holder"),
    "copy_request": _l("copy request"),
}
#: The names of the details' fields.
FIELDS: dict[str, LazyString] = {
    "username": _l("User name"),
    "display_name": _l("Name"),
    "role": _l("Role"),
    "branch": _l("Branch"),
    "via": _l("Done by"),
    "code": _l("Code"),
    "is_central": _l("Central library"),
    "document_id": _l("Document"),
    "record_id": _l("Catalogue record"),
    "source_document_id": _l("Source issue"),
    "files": _l("Files"),
    "pages": _l("Pages"),
    "title": _l("Title"),
    "name": _l("Name"),
    "number": _l("Number"),
    "before": _l("Before"),
    "after": _l("After"),
    "reason": _l("Reason"),
    "on": _l("Date"),
    "mark": _l("Mark"),
    "changes": _l("Changes"),
    "changed": _l("Changed fields"),
    "values": _l("New values"),
    "comment": _l("Comment"),
    "review": _l("Reviewed"),
    "resubmitted": _l("Sent again"),
    "unpublished": _l("Taken off the public site"),
    "change": _l("Change"),
    "temporary": _l("Temporary"),
    "year": _l("Year"),
    "active": _l("Active"),
    "grants": _l("Rights granted"),
    "status": _l("Status"),
    "starts_on": _l("Start"),
    "ends_on": _l("End"),
    "signed_on": _l("Signed on"),
    "status_reason": _l("Why this status"),
    "remuneration": _l("Remuneration"),
    "notes": _l("Notes"),
    "works": _l("Works"),
    "parties": _l("Parties"),
    "branch_id": _l("Branch"),
    "kind": _l("Kind"),
    "file": _l("File"),
    "size": _l("Size"),
    "lang": _l("Language"),
    "language": _l("Language"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "address": _l("Address"),
    "must_change_password": _l("Must change the password"),
}
#: Stored codes among the values, as words.
VALUES: dict[str, LazyString] = {
    "cli": _l("the command line"),
    "worker": _l("the OCR worker"),
    "online": _l("online"),
    "reading_room": _l("reading room"),
    "record_only": _l("description only"),
    "not_public": _l("not public"),
    "public_domain": _l("public domain"),
    "library_owned": _l("the library holds the rights"),
    "none": _l("no rights of the library's own"),
    "digitize": _l("digitize"),
    "publish_online": _l("publish online"),
    "download": _l("download"),
    "print": _l("print"),
    "draft": _l("draft"),
    "active": _l("active"),
    "expired": _l("expired"),
    "terminated": _l("terminated"),
    "admin": _l("administrator"),
    "staff": _l("staff member"),
    "reviewer": _l("reviewer"),
    "new": _l("new"),
    "accepted": _l("accepted"),
    "scanning": _l("scanning"),
    "declined": _l("declined"),
    "published": _l("published"),
    "heir": _l("heir"),
    "organisation": _l("organisation"),
    "author": _l("author"),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Details whose value lists field names.
FIELD_LISTS = frozenset({"changed"})
#: Details stored as English sentences (the rights rule's reason): quoted as they were written.
QUOTED = frozenset({"reason"})


@dataclass(frozen=True)
class Detail:
    """One labelled field of an event's details."""

    key: str
    label: str
    value: str
    #: Text stored in English by the rule (a document's access reason): shown as quoted.
    quoted: bool = False


def actor_text(username: str | None) -> str:
    """Who did it: a user name, or the command line and the worker in words."""
    if username in ("cli", "worker"):
        return str(VALUES[username])
    return username or ""


def action_text(action: str) -> str:
    """The sentence of ``action`` (the code itself when it has none yet)."""
    label = ACTIONS.get(action) or ACTION_GROUPS.get(action)
    return str(label) if label is not None else action


def object_text(object_type: str | None) -> str:
    """What kind of thing an event is about, in words."""
    if not object_type:
        return ""
    label = OBJECT_TYPES.get(object_type)
    return str(label) if label is not None else object_type


def value_text(value: object) -> str:
    """A detail's value in words: yes/no, numbers in the locale, codes named, lists joined."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_text(k)}: {value_text(v)}" for k, v in sorted(value.items()))
    text = str(value)
    if _ISO_DATE.match(text):  # dates are stored ISO (JSON): shown in the reader's format
        try:
            return format_date(date.fromisoformat(text))
        except ValueError:
            return text
    label = VALUES.get(text)
    return str(label) if label is not None else text


def field_text(key: str) -> str:
    """The label of a detail's field."""
    label = FIELDS.get(key)
    return str(label) if label is not None else key


def details(data: object, action: str = "") -> list[Detail]:
    """An event's details as labelled fields; a change ``[before, after]`` reads "a → b"."""
    if not isinstance(data, dict):
        return [] if data in (None, "", {}) else [Detail("", "", value_text(data))]
    out = []
    for key, value in sorted(data.items(), key=lambda kv: str(kv[0])):
        if key == "changes" and isinstance(value, dict):
            for name, change in sorted(value.items()):
                before, after = change if isinstance(change, list) and len(change) == 2 else (
                    None, change,
                )  # fmt: skip
                out.append(Detail(name, field_text(name), _change(before, after)))
            continue
        if key in FIELD_LISTS and isinstance(value, list):
            out.append(Detail(key, field_text(key), ", ".join(field_text(v) for v in value)))
            continue
        quoted = key in QUOTED and action == "document.access"
        out.append(Detail(key, field_text(key), value_text(value), quoted))
    return out


def _change(before: object, after: object) -> str:
    return f"{value_text(before)} → {value_text(after)}"


def action_choices() -> list[tuple[str, str]]:
    """The audit search's action list: groups first, then each action by its sentence."""
    groups = [(code, str(label)) for code, label in ACTION_GROUPS.items()]
    actions = sorted(((c, str(label)) for c, label in ACTIONS.items()), key=lambda c: c[1])
    return [("", "—"), *groups, *actions]
