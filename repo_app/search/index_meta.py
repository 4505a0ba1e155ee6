"""The small JSON file beside an index that records how its terms were made.

An index is only as good as the analysis that filled it: queries must make the same terms.
``mura-search.json`` in the index folder records the engine, the analysis version
(:data:`~mura.app.search.analysis.ANALYSIS_VERSION`) and the index's common terms (the pairs
of them are indexed as grams, :mod:`mura.app.search.grams`). It is written when the index is
created (before the index itself, so an index never lacks it); a rebuild writes it into the new
folder first, with the common terms of its own collection.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

#: The file's name, in the index folder.
META_FILE = "mura-search.json"
#: What each entry holds for the search page's facets, filters and date order. 2: every facet
#: (decade, year, source, author, subject too) and the sort date, so the page reads no database
#: facts of the matching documents. An index of another version serves the old facets only
#: and asks for ``mura reindex`` (``needs_rebuild``).
FACETS_VERSION = 2


@dataclass(frozen=True)
class IndexMeta:
    """What is recorded about an index.

    Attributes:
        engine: Engine kind, ``whoosh`` or ``tantivy``.
        analysis_version: Analysis the terms were made with; ``None`` if unknown.
        common_terms: Terms whose adjacent pairs are indexed as grams; ``None`` for an index
            made before grams (its phrases are all checked by positions).
        facets_version: What the entries hold for facets (:data:`FACETS_VERSION`); ``None``
            for an index made before every facet was in the index.
    """

    engine: str
    analysis_version: int | None
    common_terms: frozenset[str] | None = None
    facets_version: int | None = None


def read_meta(index_dir: Path) -> IndexMeta | None:
    """Return what is recorded beside the index in ``index_dir``, ``None`` if nothing readable."""
    try:
        raw = json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    version = raw.get("analysis_version")
    common = raw.get("common_terms")
    facets = raw.get("facets_version")
    return IndexMeta(
        engine=str(raw.get("engine", "")),
        analysis_version=version if isinstance(version, int) else None,
        common_terms=frozenset(map(str, common)) if isinstance(common, list) else None,
        facets_version=facets if isinstance(facets, int) else None,
    )


def write_meta(index_dir: Path, meta: IndexMeta) -> None:
    """Record ``meta`` beside the index in ``index_dir`` (atomically; the folder must exist)."""
    raw: dict[str, object] = {"engine": meta.engine, "analysis_version": meta.analysis_version}
    if meta.common_terms is not None:
        raw["common_terms"] = sorted(meta.common_terms)
    if meta.facets_version is not None:
        raw["facets_version"] = meta.facets_version
    tmp = index_dir / f".{META_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(raw, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(index_dir / META_FILE)


def meta_for_new_index(
    index_dir: Path, engine: str, version: int, default_common: frozenset[str]
) -> IndexMeta:
    """Record and return the meta of an index about to be created in ``index_dir``.

    Common terms already recorded there (by a rebuild, from its collection) are kept; otherwise
    the index gets ``default_common``.
    """
    known = read_meta(index_dir)
    common = known.common_terms if known and known.common_terms is not None else default_common
    meta = IndexMeta(engine, version, common, FACETS_VERSION)
    write_meta(index_dir, meta)
    return meta
