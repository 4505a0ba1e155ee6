"""English stemming (for Latin-script words of pages whose languages include ``eng``).

The Snowball English ("Porter 2") stemmer, through PyStemmer, as for Russian
(:mod:`mura.app.search.lang_ru`): ``libraries`` ``library`` -> ``librari``.
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
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Return the Snowball stem of a lowercase English word."""
    return _stemmer().stemWord(word)
