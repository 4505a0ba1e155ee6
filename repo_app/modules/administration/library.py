"""The library's own name, address and contacts: one place for every page, OAI-PMH and IIIF.

Mura used to say "Mura" and ``admin@mura.local`` everywhere (issue 16). Administrators now set
the name in each interface language, the address, the contact e-mail and phone on a screen
(``/admin/library``) or with ``mura settings set``; each value is a row of
``library_settings``. A key without a row falls back on its ``MURA_LIBRARY_*`` setting (so a
deployment can give them in the environment or ``mura.cfg``), and the name on Mura's own.
Every change is audited. The values are read once per request (:func:`current`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from mura.app.extensions import db
from mura.app.models import LibrarySetting, User
from mura.app.modules.administration import audit

#: The keys, each with its config setting (``MURA_LIBRARY_NAME_KK``...) and its longest value.
KEYS: dict[str, tuple[str, int]] = {
    "name_kk": ("LIBRARY_NAME_KK", 300),
    "name_ru": ("LIBRARY_NAME_RU", 300),
    "name_en": ("LIBRARY_NAME_EN", 300),
    "address": ("LIBRARY_ADDRESS", 500),
    "email": ("LIBRARY_EMAIL", 300),
    "phone": ("LIBRARY_PHONE", 60),
}
#: What the site is called when no name is set at all.
FALLBACK_NAME = "Mura"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-.\s]{3,60}$")


class SettingsError(ValueError):
    """A value that cannot be saved; ``field`` names the key at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class LibraryInfo:
    """The library's settings as the pages, OAI-PMH and IIIF use them."""

    name_kk: str = ""
    name_ru: str = ""
    name_en: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""

    def name(self, locale: str | None = None) -> str:
        """The name in ``locale``, else in any language it has, else Mura's own."""
        names = (getattr(self, f"name_{locale}", ""), self.name_kk, self.name_ru, self.name_en)
        return next((name for name in names if name), FALLBACK_NAME)

    @property
    def has_name(self) -> bool:
        """Whether a name was set (else the pages keep Mura's own wording)."""
        return bool(self.name_kk or self.name_ru or self.name_en)


def defaults() -> dict[str, str]:
    """The values from the app's config (``MURA_LIBRARY_*``)."""
    config = current_app.config
    return {key: str(config.get(setting) or "").strip() for key, (setting, _max) in KEYS.items()}


def stored() -> dict[str, str]:
    """The values set in the database (keys that have a row)."""
    rows = db.session.scalars(select(LibrarySetting).where(LibrarySetting.key.in_(KEYS)))
    return {row.key: row.value for row in rows}


def load() -> LibraryInfo:
    """The settings now: a stored value, else the config's."""
    values = {**defaults(), **stored()}
    return LibraryInfo(**values)


def current() -> LibraryInfo:
    """The settings, read once per request or app context (every page's header uses them)."""
    if not has_app_context():
        raise RuntimeError("library settings need an app context")
    info = g.get("mura_library")
    if info is None:
        try:
            info = load()
        except SQLAlchemyError:  # an error page while the database is away still renders
            db.session.rollback()
            info = LibraryInfo(**defaults())
        g.mura_library = info
    return info


def site_name(locale: str) -> str:
    """What the pages call the site: the library's name, else Mura's own (translated)."""
    from flask_babel import gettext as _

    info = current()
    return info.name(locale) if info.has_name else _("Mura")


def validate(key: str, value: str) -> str:
    """The value as it is stored (spaces trimmed).

    Raises:
        SettingsError: An unknown key, a value too long, or an e-mail or phone number that
            cannot be one.
    """
    from flask_babel import gettext as _

    if key not in KEYS:
        raise SettingsError(_("Unknown setting “%(key)s”.", key=key), "key")
    value = " ".join(value.split()) if key != "address" else value.strip()
    longest = KEYS[key][1]
    if len(value) > longest:
        raise SettingsError(_("At most %(n)d characters.", n=longest), key)
    if key == "email" and value and not _EMAIL.match(value):
        raise SettingsError(_("This is not an e-mail address."), key)
    if key == "phone" and value and not _PHONE.match(value):
        raise SettingsError(_("A phone number has digits, spaces and + ( ) - only."), key)
    return value


def update(values: dict[str, str], actor: User | None = None) -> dict[str, list[str]]:
    """Save the given keys (every one checked first; none saved if one is wrong). Commits.

    An empty value is stored too: it hides the config's default (an administrator cleared it).

    Returns:
        What changed: ``{key: [before, after]}`` (also what the audit log keeps).
    """
    cleaned = {key: validate(key, value) for key, value in values.items()}
    before = load()
    rows = {row.key: row for row in db.session.scalars(select(LibrarySetting))}
    changed: dict[str, list[str]] = {}
    for key, value in cleaned.items():
        old = getattr(before, key)
        if old == value:
            continue
        if key in rows:
            rows[key].value = value
        else:
            db.session.add(LibrarySetting(key=key, value=value))
        changed[key] = [old, value]
    if changed:
        audit.record("library.update", "library", None, actor=actor, **changed)
    db.session.commit()
    g.pop("mura_library", None)
    return changed
