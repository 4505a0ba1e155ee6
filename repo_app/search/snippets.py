"""Short HTML excerpts of a page with the query terms marked.

OCR text is untrusted input: every character of it is escaped, and the only markup in a snippet
is the ``<mark>`` elements added here. Terms are found with the same analysis as the index (the
page's words stemmed by its document's languages), so a search for ``ҚАРАҒАНДЫ`` marks
``Қарағанды`` and ``қарағанды`` alike, and one for ``кітапхана`` marks ``кітапханалардың``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from markupsafe import Markup, escape

from mura.app.search.analysis import DEFAULT_ANALYZER, Analyzer

#: Length of a snippet in characters of page text (about two lines of a results page).
SNIPPET_CHARS = 200
#: How much text to show before the first marked term.
CONTEXT_BEFORE = 60

_SPACE_RE = re.compile(r"\s+")
_ELLIPSIS = "…"


def make_snippet(
    text: str,
    terms: Collection[str],
    *,
    analyzer: Analyzer = DEFAULT_ANALYZER,
    width: int = SNIPPET_CHARS,
    languages: Sequence[str] = (),
) -> Markup:
    """Return about ``width`` characters of ``text`` around the first match, matches marked.

    Args:
        text: The page text (OCR output, untrusted).
        terms: Index terms to mark (a parsed query's ``positive_terms()``).
        analyzer: The analysis the index uses.
        width: Approximate length of the excerpt in characters.
        languages: The OCR languages of the page's document, as given to the index.

    Returns:
        Escaped HTML; matches wrapped in ``<mark>``. Without any match, the start of the page.
    """
    # Matches further than ``width`` after the first one are never shown: not looked for.
    spans = match_spans(text, terms, analyzer, languages, within=width)
    start = _window_start(text, spans[0][0]) if spans else 0
    end = _window_end(text, start, width, spans)
    visible = [(s, e) for s, e in spans if s < end]
    pieces: list[Markup] = [Markup(_ELLIPSIS) if start > 0 else Markup()]
    cursor = start
    for span_start, span_end in visible:
        pieces.append(escape(_squeeze(text[cursor:span_start])))
        pieces.append(Markup("<mark>{}</mark>").format(_squeeze(text[span_start:span_end])))
        cursor = span_end
    pieces.append(escape(_squeeze(text[cursor:end])))
    pieces.append(Markup(_ELLIPSIS) if end < len(text.rstrip()) else Markup())
    return _strip(Markup("").join(pieces))


def match_spans(
    text: str,
    terms: Collection[str],
    analyzer: Analyzer,
    languages: Sequence[str] = (),
    *,
    within: int | None = None,
) -> list[tuple[int, int]]:
    """Return the character spans of the words of ``text`` whose index terms are in ``terms``.

    Only words beginning with the first two letters of some term are stemmed (a stem keeps the
    beginning of its word), so a snippet costs little more than reading the page once.

    Args:
        text: Text to search.
        terms: Index terms.
        analyzer: The analysis that produced ``terms``.
        languages: The OCR languages of the text's document.
        within: Only the matches starting at most this many characters after the first one
            (a snippet's window); default: every match.

    Returns:
        Sorted, non-overlapping ``(start, end)`` offsets: the words as written, inflected.
    """
    if not terms:
        return []
    wanted = frozenset(terms)
    beginnings = {term[:2] for term in wanted}
    spans: list[tuple[int, int]] = []
    for token in analyzer.tokens(text):
        if within is not None and spans and token.start > spans[0][0] + within:
            break
        if token.text[:2] not in beginnings:
            continue
        if token.text not in wanted and wanted.isdisjoint(
            analyzer.word_stems(token.text, languages)
        ):
            continue
        if spans and token.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], token.end))
        else:
            spans.append((token.start, token.end))
    return spans


def _window_start(text: str, first_match: int) -> int:
    start = first_match - CONTEXT_BEFORE
    if start <= 0:
        return 0
    space = _SPACE_RE.search(text, start, first_match)
    return space.end() if space else start


def _window_end(text: str, start: int, width: int, spans: list[tuple[int, int]]) -> int:
    end = start + width
    if end >= len(text):
        return len(text)
    # Never cut a marked word in two; otherwise end at a space rather than inside a word.
    for span_start, span_end in spans:
        if span_start < end < span_end:
            return span_end
    spaces = [space.start() for space in _SPACE_RE.finditer(text, start + width // 2, end)]
    return spaces[-1] if spaces else end


def _squeeze(text: str) -> str:
    return _SPACE_RE.sub(" ", text)


def _strip(snippet: Markup) -> Markup:
    # Whitespace is escaped unchanged, so stripping the markup strips only text.
    return Markup(str(snippet).strip())
