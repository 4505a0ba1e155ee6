"""MARC relator codes (``aut``, ``edt``…) as role names in the reader's language.

Records keep the code (MARC 21 $4, RUSMARC 7XX $4 carry it as well; OAI and MARC export write it
out); screens say the role. The list holds the roles local-lore catalogues use; another code is
shown as it is stored.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

ROLES: dict[str, LazyString] = {
    "aut": _l("author"),
    "cre": _l("creator"),
    "edt": _l("editor"),
    "red": _l("editor"),
    "trl": _l("translator"),
    "ill": _l("illustrator"),
    "com": _l("compiler"),
    "ctg": _l("cartographer"),
    "cmp": _l("composer"),
    "art": _l("artist"),
    "pht": _l("photographer"),
    "ctb": _l("contributor"),
    "aui": _l("author of the introduction"),
    "aft": _l("author of the afterword"),
    "cwt": _l("commentator"),
    "ive": _l("interviewee"),
    "ivr": _l("interviewer"),
    "pbl": _l("publisher"),
    "prt": _l("printer"),
    "isb": _l("issuing body"),
    "sad": _l("scientific advisor"),
    "rev": _l("reviewer"),
    "nrt": _l("narrator"),
    "trc": _l("transcriber"),
}


def role_name(code: str | None) -> str:
    """The role of relator ``code`` in words (the code itself when unknown)."""
    if not code:
        return ""
    label = ROLES.get(code.strip().lower())
    return str(label) if label is not None else code
