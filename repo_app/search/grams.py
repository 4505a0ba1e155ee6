"""Common grams: two adjacent common words indexed as one term, so their phrase is one lookup.

A phrase query needs the positions of its words in every entry holding them all. For a phrase
of two words that are each on a large share of the pages (``"және мен"``, ``"кітапхана
қарағанды"`` in a collection of Karaganda library reports), that means reading positions on
most of the index: 134 ms at a million pages with tantivy, and seconds with Whoosh. A phrase
with one rare word is cheap already: the engines walk the rare word's few entries and check
positions only there.

So an index also holds, in a separate field, one *gram* term for each pair of adjacent terms
that are both *common* (``және_мен``): a two-word phrase of common words becomes a plain term
query, exactly equivalent (a gram is in an entry if and only if the two terms are adjacent in
it), and a longer phrase checks positions only on the entries holding its grams.

Which terms are common is a property of the index, recorded beside it
(:mod:`mura.app.search.index_meta`): function words of Mura's languages for a new index, and
the terms on at least :data:`COMMON_SHARE` of the pages of a sample when ``mura reindex``
builds one (:func:`sample_common_terms`). Indexing and queries read the same recorded list, so
changing it needs a rebuild, never a code change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

from mura.app.search.analysis import Analyzer
from mura.app.search.query import Clause

#: Joins the two terms of a gram; analysis never puts it inside a term (letters and digits only).
GRAM_JOIN = "_"
#: A term on at least this share of the sampled pages is common.
COMMON_SHARE = 0.05
#: At most this many sampled common terms (the most frequent first).
MAX_COMMON_TERMS = 400
#: Fewer sampled pages than this say too little: the function words alone are used.
MIN_SAMPLE_PAGES = 200
#: A phrase pair whose words have more term combinations than this is checked by positions.
MAX_PAIR_GRAMS = 16

# Frequent function words of Mura's languages (folded; one-letter words are never indexed).
_FUNCTION_WORDS = {
    "kaz": "және мен бен пен да де та те бұл ол осы сол үшін деп бір жылы туралы бойынша арқылы "
    "сияқты еді екен болып болды бар жоқ әр әрі немесе тағы ең өте кейін дейін барлық өз біз "
    "олар оның онда сондай ақ ал бірақ қарай",
    "kir": "жана менен үчүн бул ал анын деп болуп боюнча дагы ошол бир жылы",
    "rus": "на не что как по ко из об за от до для это он она они его ее их но же бы то все так "
    "при года год также был была были было",
    "eng": "the of and to in is for on with by as at from that",
}


def default_common_terms(analyzer: Analyzer) -> frozenset[str]:
    """Return the common terms of a new index: the function words, as each language indexes them."""
    terms: set[str] = set()
    for words in _FUNCTION_WORDS.values():
        for word in words.split():
            folded = analyzer.fold(word)
            if folded:
                terms.add(folded)
                terms.update(analyzer.alternatives(folded))
    return frozenset(terms)


def sample_common_terms(
    pages: Iterable[tuple[str, Sequence[str]]], analyzer: Analyzer
) -> frozenset[str]:
    """Return the common terms of a collection from a sample of its pages.

    Args:
        pages: ``(text, OCR languages)`` of sampled pages (a few thousand are plenty).
        analyzer: The index's analysis.

    Returns:
        The function words and every term on at least :data:`COMMON_SHARE` of the pages (the
        :data:`MAX_COMMON_TERMS` most frequent), or the function words alone when the sample
        has fewer than :data:`MIN_SAMPLE_PAGES` pages.
    """
    frequency: Counter[str] = Counter()
    count = 0
    for text, languages in pages:
        count += 1
        frequency.update(set(analyzer.index_terms(text, languages)))
    common = set(default_common_terms(analyzer))
    if count >= MIN_SAMPLE_PAGES:
        least = COMMON_SHARE * count
        common.update(term for term, n in frequency.most_common(MAX_COMMON_TERMS) if n >= least)
    return frozenset(common)


def index_grams(terms: Sequence[str], common: frozenset[str]) -> list[str]:
    """Return the grams of a text's terms (in order): each adjacent pair of common terms."""
    return [
        f"{first}{GRAM_JOIN}{second}"
        for first, second in pairwise(terms)
        if first in common and second in common
    ]


def phrase_grams(clause: Clause, common: frozenset[str]) -> list[tuple[str, ...] | None]:
    """Return, for each adjacent pair of a phrase's words, the grams any one of which matches it.

    A pair gets ``None`` when it cannot be answered from grams: a combination of its words'
    terms is not a pair of common terms, a word has near misses (scored lower than the exact
    word, which a gram cannot tell apart), or the combinations are too many. Such a pair is
    checked by positions. A two-word phrase whose pair has grams matches exactly the entries
    holding one of them.
    """
    words = list(zip(clause.positions, clause.near_positions, strict=True))
    pairs: list[tuple[str, ...] | None] = []
    for first, second in pairwise(words):
        split = _split(first, second, common)
        pairs.append(split[0] if split and not split[1] else None)
    return pairs


#: The grams of a two-word phrase's combinations of common terms, and its other combinations.
SplitPair = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]


def split_pair(clause: Clause, common: frozenset[str]) -> SplitPair | None:
    """Split a two-word phrase that grams answer only in part (``grams.phrase_grams``: None).

    The phrase matches where some combination of its words' terms is adjacent: a combination
    of two common terms is found by its gram, the others by positions, and those are rarer
    (``орталық`` is common, its Latin spelling ``ortalyq`` is not). ``None`` when no
    combination, or every one, has a gram, when a word has near misses, or when the
    combinations are too many.
    """
    if len(clause.positions) != 2:
        return None
    first, second = zip(clause.positions, clause.near_positions, strict=True)
    split = _split(first, second, common)
    return split if split and split[0] and split[1] else None


def _split(
    first: tuple[Sequence[str], Sequence[str]],
    second: tuple[Sequence[str], Sequence[str]],
    common: frozenset[str],
) -> SplitPair | None:
    """Partition the term combinations of two adjacent words into grams and the others.

    ``first`` and ``second`` are a word's exact terms and near misses. ``None`` when a word has
    near misses or no term, or when the combinations are more than :data:`MAX_PAIR_GRAMS`.
    """
    (terms, near), (next_terms, next_near) = first, second
    if near or next_near or not terms or not next_terms:
        return None
    if len(terms) * len(next_terms) > MAX_PAIR_GRAMS:
        return None
    with_grams: list[str] = []
    positional: list[tuple[str, str]] = []
    for a in terms:
        for b in next_terms:
            if a in common and b in common:
                with_grams.append(f"{a}{GRAM_JOIN}{b}")
            else:
                positional.append((a, b))
    return tuple(with_grams), tuple(positional)
