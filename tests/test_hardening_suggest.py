""" "Did you mean" offers only words of public documents (issue 18, finding 6), on both engines.

A withdrawn or unpublished document is removed from the index (``services.search.
index_document``), but both engines keep a removed entry's terms in their dictionaries, counted
by ``doc_frequency``, until its segment is merged: the suggestion used to offer them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, SearchEngine, open_engine

PUBLIC = "Облыстық мұражай жылдық есебі"
#: The only text holding "кітапхана".
WITHDRAWN = "Ауылдық кітапхана туралы"
TYPO = "кітапхона"


def _entry(doc_id: int, title: str) -> DocumentEntry:
    return DocumentEntry(doc_id, title, [], "book", ["kaz"], None, 2000)


@pytest.fixture(params=ENGINE_KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchEngine]:
    texts = {11: PUBLIC, 21: WITHDRAWN, 22: PUBLIC}
    loader = lambda ids: {i: texts[i] for i in ids if i in texts}  # noqa: E731
    with open_engine(request.param, tmp_path / "index", loader) as opened:
        # One batch: the entries share a segment, so removing one deletes it in place.
        opened.index_documents(
            [
                (_entry(1, "Есеп"), [PageEntry(11, 1, PUBLIC)]),
                (_entry(2, "Мұрағат хаттамасы"), [PageEntry(21, 1, WITHDRAWN)]),
            ]
        )
        yield opened


def test_a_withdrawn_documents_words_are_never_suggested(engine: SearchEngine) -> None:
    assert engine.suggest(TYPO) == "кітапхана"  # while it is public
    engine.remove_document(2)  # withdrawn, unpublished or deleted: out of the index
    assert engine.search("кітапхана").total == 0
    assert engine.suggest(TYPO) is None


def test_words_a_document_no_longer_holds_are_not_suggested(engine: SearchEngine) -> None:
    engine.index_document(_entry(2, "Есеп"), [PageEntry(22, 1, PUBLIC)])  # its text changed
    assert engine.suggest(TYPO) is None


def test_a_removed_documents_word_counts_as_unknown(engine: SearchEngine) -> None:
    # The word is public again in a new document: suggested from it, counted once.
    engine.remove_document(2)
    engine.index_document(_entry(3, "Жаңа"), [PageEntry(31, 1, "Қалалық кітапхана")])
    assert engine.suggest(TYPO) == "кітапхана"
    engine.remove_document(3)
    assert engine.suggest(TYPO) is None
