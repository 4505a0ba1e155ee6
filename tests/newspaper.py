"""Generated newspaper pages: boxed articles whose text is a corpus paragraph (exact ground truth).

A page is 2000 x 2600 px at 300 dpi (about A4 landscape-tall newsprint), a masthead, then a grid
of boxed articles (two columns), each a paragraph of ``/work/shared/corpus`` set in DejaVu Sans
at 8 pt. :func:`render_issue_page` returns where each box is, in pixels of the PNG, so a test
can clip an article by its box and knows exactly what it says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
PAGE_SIZE = (2000, 2600)
DPI = 300
MARGIN = 60
MASTHEAD = 260
TEXT_PX = 34
LINE_PX = 46
PADDING = 28
BORDER = 3


@dataclass(frozen=True)
class Article:
    """One boxed article on a generated page: its box (x, y, w, h) and its exact text."""

    box: tuple[int, int, int, int]
    text: str
    lines: tuple[str, ...]

    @property
    def region(self) -> str:
        """The box as ``X,Y,W,H`` for ``--region PAGE:X,Y,W,H``."""
        return ",".join(str(v) for v in self.box)


def paragraphs(corpus: Path, count: int, skip: int = 0) -> list[str]:
    """``count`` corpus paragraphs (Kazakh and Russian) that fit one box, after ``skip``."""
    source = corpus / "paragraphs.public.json"
    if not source.is_file():  # the fixture gives the pages folder
        source = corpus.parent / "paragraphs.public.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    width, height = _box_size(3)
    font = ImageFont.truetype(str(FONT), TEXT_PX)
    chosen: list[str] = []
    seen = 0
    for item in data:
        text = " ".join(item["text"].split())
        if item.get("lang") not in ("kaz", "rus") or not 250 <= len(text) <= 600:
            continue
        lines = wrap(text, font, width - 2 * PADDING)
        if len(lines) * LINE_PX > height - 2 * PADDING:
            continue
        seen += 1
        if seen <= skip:
            continue
        chosen.append(text)
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"the corpus has fewer than {count + skip} paragraphs that fit a box")


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking at spaces to ``width`` pixels."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _box_size(rows: int) -> tuple[int, int]:
    width = (PAGE_SIZE[0] - 3 * MARGIN) // 2
    height = (PAGE_SIZE[1] - MASTHEAD - (rows + 1) * MARGIN) // rows
    return width, height


def render_issue_page(
    path: Path, texts: list[str], title: str = "ДАЛА ЖАҢАЛЫҚТАРЫ"
) -> list[Article]:
    """Write a newspaper page of up to six boxed articles (two columns, three rows) as PNG.

    Returns:
        The articles in the order of ``texts`` (left column top to bottom, then the right).
    """
    assert 1 <= len(texts) <= 6
    image = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 70), title, font=ImageFont.truetype(str(BOLD), 110), fill=0)
    draw.line((MARGIN, MASTHEAD - 30, PAGE_SIZE[0] - MARGIN, MASTHEAD - 30), fill=0, width=6)
    font = ImageFont.truetype(str(FONT), TEXT_PX)
    width, height = _box_size(3)
    articles = []
    for index, text in enumerate(texts):
        column, row = divmod(index, 3)
        x = MARGIN + column * (width + MARGIN)
        y = MASTHEAD + MARGIN + row * (height + MARGIN)
        draw.rectangle((x, y, x + width - 1, y + height - 1), outline=0, width=BORDER)
        lines = wrap(text, font, width - 2 * PADDING)
        for number, line in enumerate(lines):
            draw.text((x + PADDING, y + PADDING + number * LINE_PX), line, font=font, fill=0)
        articles.append(Article((x, y, width, height), text, tuple(lines)))
    image.save(path, dpi=(DPI, DPI))
    return articles
