"""The tally every import keeps (records, contracts): created, updated, unchanged, failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ImportTally:
    """Counts of one import run; ``problems`` holds a dataclass per item that was not imported."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Any] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Items read, good and bad."""
        return self.created + self.updated + self.unchanged + len(self.problems)

    def counts(self) -> dict:
        """The JSON-ready tally (each import adds the ids it touched)."""
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": len(self.problems),
            "problems": [asdict(p) for p in self.problems],
        }
