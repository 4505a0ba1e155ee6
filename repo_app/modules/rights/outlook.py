"""What the public will see of a document once it is published, and what would change that.

Approval publishes a document, but what the public may see is decided by its rights
(:func:`mura.app.modules.rights.rights.decide`): with the default settings, a document with no
catalogue record, contract or rights mark stays hidden after approval. A librarian who reads
"Approved and published" and finds a 404 takes Mura for broken, so the review screens show this
outlook before and at approval: the computed access, why, and the next step that would open it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from mura.app.models import Document
from mura.app.modules.rights import rights

#: What each access level means for a reader, in a sentence.
ACCESS_OUTLOOK = {
    "online": _l("The public will read it online in full (text, pages and PDF)."),
    "reading_room": _l("The public will see its description; the text only in the reading room."),
    "record_only": _l("The public will see its description only, not its text."),
    "not_public": _l("The public will not see it at all: it stays hidden after approval."),
}
#: Steps that can make a hidden document public, and who may take them.
STEP_RECORD = _l("Link it to its catalogue record (the author's dates and contracts then apply).")
STEP_CONTRACT = _l("Add the author's contract that allows publishing online (administrators).")
STEP_MARK = _l("Mark it public domain or held by the library, with the reason (administrators).")
STEP_CONFIRM = _l("Confirm the public-domain finding on its rights page (administrators).")


@dataclass(frozen=True)
class Outlook:
    """The public's view of a document after approval.

    Attributes:
        access: ``online``, ``reading_room``, ``record_only`` or ``not_public``.
        summary: What that means for a reader, translated.
        reason: Why, as the rights rule states it.
        steps: What would open it more (empty when it is online).
    """

    access: str
    summary: str
    reason: str
    steps: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        """Whether the public will not see the document at all."""
        return self.access == "not_public"


def outlook(document: Document) -> Outlook:
    """What the public will see of ``document`` once published (decided now, from the facts)."""
    from flask_babel import gettext

    decision = rights.status_of(document.id, _=gettext)
    steps: list[str] = []
    if decision.status != "online":
        if decision.proposal:
            steps.append(str(STEP_CONFIRM))
        if document.record_id is None:
            steps.append(str(STEP_RECORD))
        steps += [str(STEP_CONTRACT), str(STEP_MARK)]
    return Outlook(
        decision.status,
        str(ACCESS_OUTLOOK.get(decision.status, decision.status)),
        decision.reason,
        steps,
    )
