"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN.

Only presentation attributes are used (no ``style``), so the Content-Security-Policy of the
app (``default-src 'self'``) holds. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import format_decimal, format_percent
from markupsafe import Markup, escape

WIDTH = 560
BAR_AREA = 180
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f")


def bar_chart(
    values: Sequence[tuple[str, float]], title: str, *, colour: str = COLOURS[0]
) -> Markup:
    """Vertical bars, one per ``(label, value)``, with the value above each bar.

    Args:
        values: the bars, left to right.
        title: what the chart shows (its accessible name and tooltip).
        colour: the fill of the bars.
    """
    count = max(len(values), 1)
    top = max((v for _label, v in values), default=0) or 1
    slot = WIDTH / count
    bar = slot * 0.7
    parts = [_open(title, BAR_AREA + 50)]
    for i, (label, value) in enumerate(values):
        height = BAR_AREA * value / top
        x = i * slot + (slot - bar) / 2
        y = 20 + BAR_AREA - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
        centre = x + bar / 2
        parts.append(_text(centre, y - 4, _number(value)))
        parts.append(_text(centre, 20 + BAR_AREA + 16, label))
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(parts: Sequence[tuple[str, float]], title: str) -> Markup:
    """One horizontal bar split by share (e.g. Kazakh / other pages), with a legend."""
    total = sum(v for _label, v in parts) or 1
    out = [_open(title, 40 + 20 * len(parts))]
    x = 0.0
    for i, (label, value) in enumerate(parts):
        width = WIDTH * value / total
        colour = COLOURS[i % len(COLOURS)]
        share = 100 * value / total
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="24" fill="{colour}">'
            f"<title>{escape(label)}: {_percent(share)}</title></rect>"
        )
        x += width
        legend_y = 44 + 20 * i
        out.append(f'<rect x="0" y="{legend_y - 11}" width="12" height="12" fill="{colour}"/>')
        out.append(
            _text(18, legend_y, f"{label}: {_number(value)} ({_percent(share)})", anchor="start")
        )
    out.append("</svg>")
    return Markup("".join(out))


def _open(title: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}" '
        f'fill="#222">{escape(text)}</text>'
    )


def _number(value: float) -> str:
    """A count or a figure in the reader's format (``1 234``, ``7,5`` in kk and ru)."""
    return format_decimal(value)


def _percent(share: float) -> str:
    """A share of 0–100 in the reader's format, one decimal (``7,8 %`` in ru, ``7.8%`` in en)."""
    return format_percent(share / 100, "#,##0.0%")
