"""Files of an upload form sent back with an error, kept for the next try (issue 16 item 9).

A browser never fills a file field again: when the server sends the upload form back (no
title, no language ticked), the scans chosen would have to be found and chosen again. They are
kept here instead, under an unguessable token the form carries, for the same user only, for
:data:`HOLD_HOURS`; the next send of the form uses them with any newly chosen files, and a
successful upload releases them. Bad files are never held: an error about the files names them
and staff choose again.

They live in ``WORK_DIR/held-uploads`` (scratch space of this machine): a next request that
lands on another machine finds nothing and the form asks for the files again, which loses
nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

#: How long held files wait for the next try; older ones are removed at the next hold.
HOLD_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class HeldFile:
    """One held file: the name it was chosen under and where its bytes are."""

    name: str
    path: Path


def hold(files: list[tuple[str, BinaryIO]], user_id: int) -> str | None:
    """Keep these files for ``user_id``'s next try; returns the token (None: nothing to keep)."""
    if not files:
        return None
    _sweep()
    token = secrets.token_urlsafe(24)
    folder = _root() / token
    folder.mkdir(parents=True)
    names = []
    for n, (name, stream) in enumerate(files):
        stream.seek(0)
        with open(folder / f"{n:04d}", "wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
        names.append(name)
    manifest = {"user_id": user_id, "names": names, "held_at": time.time()}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return token


def held(token: str | None, user_id: int) -> list[HeldFile]:
    """The files held under ``token`` for ``user_id`` (none for another user or a bad token)."""
    folder = _folder(token)
    if folder is None:
        return []
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return []
    if manifest.get("user_id") != user_id:
        return []
    files = [HeldFile(str(name), folder / f"{n:04d}") for n, name in enumerate(manifest["names"])]
    return [f for f in files if f.path.is_file()]


def release(token: str | None, user_id: int) -> None:
    """Forget ``user_id``'s files held under ``token`` (another user's token is left alone)."""
    found = held(token, user_id)
    if found:
        shutil.rmtree(found[0].path.parent, ignore_errors=True)


def _folder(token: str | None) -> Path | None:
    if not token or not _TOKEN.match(token):
        return None
    folder = _root() / token
    return folder if folder.is_dir() else None


def _root() -> Path:
    return Path(current_app.config["WORK_DIR"]) / "held-uploads"


def _sweep() -> None:
    """Remove what waited longer than :data:`HOLD_HOURS` (a form never sent again)."""
    root = _root()
    if not root.is_dir():
        return
    cutoff = time.time() - HOLD_HOURS * 3600
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
