"""The sample collection of ``mura demo``: pages rendered here from texts shipped in the package.

Also the demo's branch and accounts with known passwords (printed by ``mura demo``).
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from mura.app import paths
from mura.app.extensions import db
from mura.app.models import Collection, Document
from mura.app.modules.administration.accounts import (
    create_branch,
    create_user,
    get_branch,
    get_user,
    set_password,
)
from mura.app.modules.digitization import workflow
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
from mura.app.modules.rights import rights

SAMPLE = paths.SAMPLE / "documents.json"
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")
DPI = 300
#: Why the sample documents are public: they are written for the demo.
DEMO_RIGHTS_REASON = "Sample texts written for the Mura demo; the library holds all rights."
#: Why they are published without review.
DEMO_REVIEW_REASON = "Sample texts of the Mura demo, rendered from known text: nothing to check."
#: The demo's branch (code, names in kk, ru, en) and accounts (user name, password, role).
DEMO_BRANCH = ("central", "Орталық кітапхана", "Центральная библиотека", "Central library")
DEMO_ACCOUNTS = (("admin", "admin-demo", "admin"), ("staff", "staff-demo", "staff"))
#: Their names as the header shows them (data, so in Kazakh, the demo's language).
DEMO_NAMES = {"admin": "Әкімші (демо)", "staff": "Қызметкер (демо)"}


def create_sample() -> int:
    """Create the sample collection and queue its documents; returns how many were new."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    info = data["collection"]
    collection = db.session.scalar(select(Collection).where(Collection.slug == info["slug"]))
    if collection is None:
        db.session.add(Collection(**info))
        db.session.commit()
    created = 0
    for doc in data["documents"]:
        if db.session.scalar(select(Document.id).where(Document.title == doc["title"])):
            continue
        uploads = [
            Upload(f"page-{n:03d}.png", io.BytesIO(render_page(text, n)))
            for n, text in enumerate(doc["pages"], start=1)
        ]
        fields = DocumentFields(
            doc["title"], doc["doc_type"], doc["authors"], doc["langs"], info["slug"], doc["year"]
        )
        job = ingest(uploads, fields, user=get_user(DEMO_ACCOUNTS[1][0]))
        # The sample texts need no check: published as soon as their OCR is done, even with
        # review required (the product default). Committed long before the first page's OCR.
        workflow.skip_review(job.document, DEMO_REVIEW_REASON)
        db.session.commit()
        # Without rights nothing is public (docs/rights.md); the sample texts are the library's.
        rights.set_mark(job.document_id, "library_owned", DEMO_RIGHTS_REASON)
        created += 1
    return created


def create_demo_accounts() -> list[tuple[str, str | None, str]]:
    """The branch "central", a demo administrator and a demo staff member with known passwords.

    Only for ``mura demo``, so that a person can log in at once. Accounts that exist are left as
    they are (their password may have been changed). Returns (user name, password or None when
    it existed, role) for each.
    """
    branch = get_branch(DEMO_BRANCH[0]) or create_branch(*DEMO_BRANCH, is_central=True)
    made: list[tuple[str, str | None, str]] = []
    for username, password, role in DEMO_ACCOUNTS:
        if get_user(username) is not None:
            made.append((username, None, role))
            continue
        # The demo's well-known passwords would fail the rules for chosen ones (they hold the
        # user name): set them past the rules, as for a generated password.
        user, _generated = create_user(username, role, branch, display_name=DEMO_NAMES[role])
        set_password(user, password)
        db.session.commit()
        made.append((username, password, role))
    return made


def render_page(text: str, number: int) -> bytes:
    """An A5 page at 300 dpi, grey like a scan, as PNG bytes."""
    width, height = 1748, 2480
    image = Image.new("L", (width, height), 246)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(_font("DejaVuSerif.ttf"), 40)
    y = 220
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, width=58):
            draw.text((170, y), line, font=font, fill=25)
            y += 62
        y += 30
    draw.text((width // 2 - 20, height - 200), str(number), font=font, fill=25)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def _font(name: str) -> str:
    for folder in FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    raise FileNotFoundError(f"{name} not found; install fonts-dejavu-core")
