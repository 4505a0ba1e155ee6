"""Printable contract drafts in Kazakh and Russian, from templates the library can edit.

The shipped templates are ``templates/contracts/draft_<lang>.html``; a library's own version is
kept in ``MURA_HOME/contract_templates/draft_<lang>.html`` and wins when present. Templates are
written by administrators, so they are rendered in Jinja's sandbox and given plain data only
(never ORM objects): a template can print fields, not reach the database or the app.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from mura.app import paths
from mura.app.models import Contract
from mura.app.models.rights import GRANTS
from mura.app.modules.rights import rights

#: Draft languages: Kazakh and Russian, the languages of contracts in Kazakhstan and Kyrgyzstan.
LANGUAGES = ("kk", "ru")
SHIPPED = paths.TEMPLATES / "contracts"
GRANT_NAMES = {
    "kk": {
        "digitize": "шығарманы цифрландыру (электрондық көшірмесін жасау)",
        "publish_online": "шығарманы Интернет желісінде жалпыға қолжетімді ету",
        "reading_room": "шығарманы тек Кітапхананың оқу залдарында оқуға беру",
        "download": "оқырмандарға электрондық көшірмені жүктеп алуға рұқсат ету",
        "print": "оқырмандарға электрондық көшірмені басып шығаруға рұқсат ету",
    },
    "ru": {
        "digitize": "воспроизведение произведения в электронной форме (оцифровка)",
        "publish_online": "доведение произведения до всеобщего сведения в сети Интернет",
        "reading_room": "предоставление произведения только в читальных залах Библиотеки",
        "download": "разрешение читателям скачивать электронную копию",
        "print": "разрешение читателям распечатывать электронную копию",
    },
}


class DraftError(ValueError):
    """A template that cannot be saved or rendered, with the reason."""


def template_path(lang: str) -> Path:
    """Where the library's own template of ``lang`` is kept (it may not exist)."""
    _check_lang(lang)
    return Path(current_app.config["HOME"]) / "contract_templates" / f"draft_{lang}.html"


def template_text(lang: str) -> tuple[str, bool]:
    """The template of ``lang`` and whether it is the library's own (else the shipped one)."""
    own = template_path(lang)
    if own.is_file():
        return own.read_text(encoding="utf-8"), True
    return (SHIPPED / f"draft_{lang}.html").read_text(encoding="utf-8"), False


def save_template(lang: str, text: str) -> None:
    """Keep the library's version of a template, after checking that it compiles.

    Raises:
        DraftError: When the text is not a valid Jinja template.
    """
    try:
        _environment().parse(text)
    except TemplateError as exc:
        raise DraftError(f"the template has an error: {exc}") from exc
    path = template_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old or the new template, never half of one


def reset_template(lang: str) -> None:
    """Go back to the shipped template of ``lang``."""
    template_path(lang).unlink(missing_ok=True)


def render_draft(contract: Contract, lang: str) -> Markup:
    """The body of the printable draft of ``contract`` in ``lang`` (HTML, escaped fields).

    Raises:
        DraftError: When the library's template fails at rendering.
    """
    text, _own = template_text(lang)
    try:
        return Markup(_environment().from_string(text).render(**draft_context(contract, lang)))
    except TemplateError as exc:
        raise DraftError(f"the {lang} template failed: {exc}") from exc


def draft_context(contract: Contract, lang: str) -> dict:
    """What a draft template may use: plain strings, lists and dicts."""
    branch = contract.branch
    library = branch.name_in(lang) if branch is not None else ""
    return {
        "contract": {
            "number": contract.number,
            "signed_on": _day(contract.signed_on),
            "starts_on": _day(contract.starts_on),
            "ends_on": _day(contract.ends_on),
            "status": contract.status,
            "remuneration": contract.remuneration,
            "notes": contract.notes,
        },
        "parties": [
            {
                "name": p.holder.name,
                "role": p.role,
                "kind": p.holder.kind,
                "birth_year": p.holder.birth_year,
                "death_year": p.holder.death_year,
                "address": p.holder.address,
                "identity": p.holder.identity,
                "phone": p.holder.phone,
                "email": p.holder.email,
            }
            for p in contract.parties
        ],
        "works": [
            {
                "title": w.title or (w.record.full_title if w.record else ""),
                "record_id": w.record_id,
            }
            for w in contract.works
        ],
        "grants": [GRANT_NAMES[lang][g] for g in GRANTS if g in (contract.grants or [])],
        "library": library,
        "today": _day(rights.library_today()),
    }


def _day(value: object) -> str:
    return value.strftime("%d.%m.%Y") if value is not None else ""  # type: ignore[attr-defined]


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise DraftError(f"drafts are in {', '.join(LANGUAGES)}, not {lang!r}")
