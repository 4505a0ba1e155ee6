"""Realistic, reproducible OCR page text and document layout for the search benchmark.

Words come from the shared corpus (``../shared/corpus``: real Kazakh library reports); Kazakh
word forms are made by adding suffix chains with vowel harmony; a long tail of rare words (names,
places) is made by splicing corpus words; OCR confusions (е/с, и/н, ң/н, Latin look-alikes,
dropped and doubled letters) turn some tokens into variants. Word choice, collections and years
are Zipf-distributed. Every page is generated from its own seed, so any page's text can be made
again on demand (the benchmark's page-text store) without keeping millions of pages in memory.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: The shared test material (MURA_SHARED, as for the tests; else beside the repository).
SHARED = Path(os.environ.get("MURA_SHARED") or Path(__file__).resolve().parents[2] / "shared")
CORPUS = SHARED / "corpus"

WORDS_PER_PAGE = 300
WORDS_PER_LINE = 9
#: Share of tokens with one OCR confusion.
OCR_ERROR_RATE = 0.03
#: Share of Kazakh tokens that get a suffix chain.
INFLECTED_RATE = 0.45

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_BACK = set("аоұыу")
_FRONT = set("әөүіеи")
# Suffix slots (plural, possessive, case), back and front variants, most frequent first.
_SUFFIXES = {
    "back": (
        ("лар", "дар", "тар"),
        ("ы", "сы", "ымыз", "ың", "ыңыз", "лары"),
        ("ның", "ға", "да", "дан", "ды", "мен", "дың", "қа", "на", "нда", "тан", "нан", "ты",
         "ны", "тың", "та", "дағы", "ғы", "менен", "нан"),
    ),
    "front": (
        ("лер", "дер", "тер"),
        ("і", "сі", "іміз", "ің", "іңіз", "лері"),
        ("нің", "ге", "де", "ден", "ді", "мен", "дің", "ке", "не", "нде", "тен", "нен", "ті",
         "ні", "тің", "те", "дегі", "гі", "менен", "нен"),
    ),
}  # fmt: skip
# OCR confusions: Cyrillic letter -> what the recogniser read instead.
_CONFUSIONS = {
    "е": "сё",
    "с": "е",
    "и": "нй",
    "н": "ип",
    "ң": "н",
    "і": "i1l",
    "а": "a",
    "о": "o0",
    "р": "p",
    "ы": "ь",
    "ш": "щ",
    "ұ": "у",
    "қ": "к",
    "ө": "о",
    "ү": "у",
    "ғ": "г",
}
_COLLECTIONS = 60
_TABLE_SLOTS = 4_000_000
_FIRST_YEAR, _LAST_YEAR = 1900, 2025
_DOC_TYPES = (
    # (doc_type, probability, min pages, max pages)
    ("book", 0.22, 40, 320),
    ("newspaper_article", 0.5, 1, 4),
    ("journal_article", 0.22, 2, 16),
    ("book_article", 0.06, 3, 30),
)
_LANGUAGES = ((("kaz",), 0.6), (("kaz", "rus"), 0.2), (("rus",), 0.15), (("kir",), 0.05))


def corpus_words() -> Counter[str]:
    """Count the words of the shared corpus (page ground truths and public paragraphs)."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("pages/*.gt.txt"))]
    paragraphs = CORPUS / "paragraphs.public.json"
    if paragraphs.exists():
        texts += [p["text"] for p in json.loads(paragraphs.read_text(encoding="utf-8"))]
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word.lower() for word in _WORD_RE.findall(text))
    return counts


def _harmony(word: str) -> str | None:
    for letter in reversed(word):
        if letter in _BACK:
            return "back"
        if letter in _FRONT:
            return "front"
    return None


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


class Lexicon:
    """Word forms with Zipf weights; draws a page's words in one C-level call.

    Args:
        seed: Seed of the lexicon (the forms and their ranks).
        rare_words: How many spliced rare words (names, places) to add to the corpus words.
    """

    def __init__(self, seed: int = 7, rare_words: int = 30_000) -> None:
        rng = random.Random(seed)
        base = [word for word, _ in corpus_words().most_common()]
        spliced = set()
        while len(spliced) < rare_words:
            a, b = rng.choice(base), rng.choice(base)
            if len(a) > 3 and len(b) > 3:
                spliced.add(a[: len(a) // 2 + 1] + b[len(b) // 2 :])
        tail = sorted(spliced - set(base))
        rng.shuffle(tail)
        words = base + tail
        inflected = set(base)
        self.base = base
        forms: list[str] = []
        weights: list[float] = []
        for word, weight in zip(words, _zipf_weights(len(words), 1.0), strict=True):
            # Corpus words get Kazakh suffix chains; the spliced tail (names) stays as is.
            harmony = _harmony(word) if len(word) > 3 and word in inflected else None
            forms.append(word)
            if harmony is None:
                weights.append(weight)
                continue
            weights.append(weight * (1 - INFLECTED_RATE))
            chains = list(self._chains(harmony))
            chain_weights = _zipf_weights(len(chains), 1.1)
            total = sum(chain_weights)
            for chain, chain_weight in zip(chains, chain_weights, strict=True):
                forms.append(word + chain)
                weights.append(weight * INFLECTED_RATE * chain_weight / total)
        self.forms = forms
        self._build_tables(forms, weights)

    def _build_tables(self, forms: list[str], weights: list[float]) -> None:
        """Split the forms into a lookup table (frequent forms) and a bisected tail.

        Drawing from a table by a uniform index is ten times quicker than bisecting cumulative
        weights over 200,000 forms; forms too rare for one slot of the table form the tail.
        """
        total = sum(weights)
        table: list[str] = []
        tail: list[str] = []
        tail_weights: list[float] = []
        for form, weight in zip(forms, weights, strict=True):
            slots = round(weight / total * _TABLE_SLOTS)
            if slots:
                table.extend([form] * slots)
            else:
                tail.append(form)
                tail_weights.append(weight)
        self._table = table
        self._tail = tail
        self._tail_cum = list(itertools.accumulate(tail_weights))
        self._tail_share = sum(tail_weights) / total

    @staticmethod
    def _chains(harmony: str) -> list[str]:
        plural, possessive, case = _SUFFIXES[harmony]
        chains = list(case) + list(possessive) + list(plural)
        chains += [p + c for p in plural[:1] + possessive[:2] for c in case[:8]]
        chains += [pl + po + c for pl in plural[:1] for po in ("ы", "і")[:1] for c in case[:4]]
        return chains

    def draw(self, rng: random.Random, k: int) -> list[str]:
        """Return ``k`` word forms drawn by their Zipf weights."""
        words = rng.choices(self._table, k=k)
        if not self._tail:
            return words
        # Positions drawn from the tail: gaps between them are geometric (Bernoulli process).
        position = int(rng.expovariate(self._tail_share))
        while position < k:
            words[position] = rng.choices(self._tail, cum_weights=self._tail_cum)[0]
            position += 1 + int(rng.expovariate(self._tail_share))
        return words


def ocr_confuse(word: str, rng: random.Random) -> str:
    """Return ``word`` with one OCR confusion: a look-alike, a dropped or a doubled letter."""
    spots = [i for i, letter in enumerate(word) if letter in _CONFUSIONS]
    roll = rng.random()
    if spots and roll < 0.7:
        i = rng.choice(spots)
        return word[:i] + rng.choice(_CONFUSIONS[word[i]]) + word[i + 1 :]
    i = rng.randrange(len(word))
    if roll < 0.9 and len(word) > 3:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


class PageText:
    """Makes the text of any page from the page number alone.

    Args:
        lexicon: Word forms to draw from.
        seed: Seed of the collection; page ``n`` uses ``seed * 10**9 + n``.
    """

    def __init__(self, lexicon: Lexicon, seed: int = 11) -> None:
        self.lexicon = lexicon
        self.seed = seed

    def __call__(self, page_no: int) -> str:
        """Return the OCR text of page ``page_no``: lines of words, punctuation, errors."""
        rng = random.Random(self.seed * 1_000_000_000 + page_no)
        words = self.lexicon.draw(rng, WORDS_PER_PAGE + rng.randrange(-60, 60))
        for i in rng.sample(range(len(words)), int(len(words) * OCR_ERROR_RATE)):
            words[i] = ocr_confuse(words[i], rng)
        lines = []
        capital = True
        for start in range(0, len(words), WORDS_PER_LINE):
            line = words[start : start + WORDS_PER_LINE]
            if capital:
                line[0] = line[0].capitalize()
            capital = rng.random() < 0.3
            if capital:
                line[-1] += "."
            elif rng.random() < 0.3:
                line[rng.randrange(len(line))] += ","
            if rng.random() < 0.08 and len(line[-1]) > 5:  # hyphenated at the line's end
                cut = len(line[-1]) // 2
                line[-1] = line[-1][:cut] + "-\n" + line[-1][cut:]
            lines.append(" ".join(line))
        return "\n".join(lines)


@dataclass(frozen=True)
class DocSpec:
    """One generated document: its metadata and the numbers of its pages."""

    document_id: int
    title: str
    authors: tuple[str, ...]
    doc_type: str
    languages: tuple[str, ...]
    collection: str
    year: int
    first_page: int
    page_count: int

    def page_numbers(self) -> range:
        """Global page numbers of the document (page ids, and seeds of their texts)."""
        return range(self.first_page, self.first_page + self.page_count)


def collection_names() -> list[str]:
    """Collection slugs, most used first."""
    return [f"coll-{i:02d}" for i in range(_COLLECTIONS)]


def layout(total_pages: int, lexicon: Lexicon, seed: int = 5) -> list[DocSpec]:
    """Return documents whose pages add up to ``total_pages``.

    Document types follow library practice (many short newspaper articles, fewer long books);
    collections and years are Zipf-distributed (a few big collections, recent years commoner).
    """
    rng = random.Random(seed)
    collections = collection_names()
    collection_cw = list(itertools.accumulate(_zipf_weights(len(collections), 1.1)))
    years = list(range(_LAST_YEAR, _FIRST_YEAR - 1, -1))
    year_cw = list(itertools.accumulate(_zipf_weights(len(years), 0.7)))
    type_cw = list(itertools.accumulate(p for _, p, _, _ in _DOC_TYPES))
    lang_cw = list(itertools.accumulate(p for _, p in _LANGUAGES))
    docs: list[DocSpec] = []
    page = 1
    while page <= total_pages:
        doc_type, _, low, high = _DOC_TYPES[bisect.bisect(type_cw, rng.random() * type_cw[-1])]
        count = min(int(rng.triangular(low, high, low)), total_pages - page + 1)
        title_words = lexicon.draw(rng, rng.randint(2, 7))
        docs.append(
            DocSpec(
                document_id=len(docs) + 1,
                title=" ".join(title_words).capitalize(),
                authors=tuple(
                    rng.choice(lexicon.base).capitalize() for _ in range(rng.randint(0, 2))
                ),
                doc_type=doc_type,
                languages=_LANGUAGES[bisect.bisect(lang_cw, rng.random() * lang_cw[-1])][0],
                collection=rng.choices(collections, cum_weights=collection_cw)[0],
                year=rng.choices(years, cum_weights=year_cw)[0],
                first_page=page,
                page_count=count,
            )
        )
        page += count
    return docs
