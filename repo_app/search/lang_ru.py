"""Russian stemming: the Snowball Russian stemmer, through PyStemmer.

Snowball's Russian algorithm folds the inflections of nouns, adjectives and verbs
(``библиотека`` ``библиотеке`` ``библиотеками`` -> ``библиотек``). PyStemmer runs the C
``libstemmer`` (about a microsecond a word) and imports nothing of a search engine, so the
analysis stays the same for every engine; Whoosh's own pure-Python Snowball port would tie the
analysis to Whoosh and run about twenty times slower.

Mura folds ``ё`` to ``е`` before stemming, as Snowball expects. Known limits: Snowball does
not know irregular forms (``люди`` / ``человек``) and cuts some words too short (``учащимися``
-> ``уча``), the same for the query and the page.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import Stemmer

_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # A PyStemmer object must not be shared by threads: one per thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("russian")
    return stemmer


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the Snowball stem of a lowercase Russian word."""
    return _stemmer().stemWord(word)
