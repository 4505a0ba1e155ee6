"""Where the scan goes on the output page: page size and the image's placement matrix.

The stored image is never resampled for the visible page. Turning it upright (90/180/270)
and deskewing it (a small rotation about the page centre) are one affine matrix in the page's
content stream, the same transformation that was applied with Pillow to the copy Tesseract
read. So the text layer, computed on that copy, lies on the words of the visible scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import TooLarge, TooSmall

Matrix = tuple[float, float, float, float, float, float]

PT_PER_INCH = 72.0
#: A PDF page measures 3 to 14,400 points a side (ISO 32000, page size limits at UserUnit 1).
MIN_PAGE_PT = 3.0
MAX_PAGE_PT = 14400.0
#: Fewer pixels a side is no page scan (and Tesseract cannot even read such a file).
MIN_PAGE_PIXELS = 16
_MM_PER_PT = 25.4 / PT_PER_INCH


@dataclass(frozen=True)
class Placement:
    """Size of the output page and the matrix that draws the stored image on it.

    Attributes:
        width_pt: Page width in points (upright).
        height_pt: Page height in points (upright).
        image_matrix: PDF ``cm`` matrix that maps the image's unit square onto the page.
    """

    width_pt: float
    height_pt: float
    image_matrix: Matrix


def check_page_size(size_px: tuple[int, int], dpi: tuple[float, float]) -> None:
    """Refuse an image whose page, at its resolution, would be smaller or larger than PDF allows.

    An 8 x 8 pixel frame at 300 dpi is a page of 2 x 2 points: qpdf refuses to make it, and
    the page failed with an internal error. Checked before any OCR work.

    Raises:
        TooSmall: A side has fewer than MIN_PAGE_PIXELS or would be under MIN_PAGE_PT.
        TooLarge: A side would be over MAX_PAGE_PT.
    """
    if min(size_px) < MIN_PAGE_PIXELS:
        raise TooSmall(
            f"The image is too small to be a page ({size_px[0]} x {size_px[1]} pixels; a page"
            f" scan has {MIN_PAGE_PIXELS} pixels a side at least)."
        )
    width_pt = size_px[0] * PT_PER_INCH / dpi[0]
    height_pt = size_px[1] * PT_PER_INCH / dpi[1]
    size = (
        f"{size_px[0]} x {size_px[1]} pixels at {dpi[0]:g} x {dpi[1]:g} dpi make a page of"
        f" {width_pt * _MM_PER_PT:.1f} x {height_pt * _MM_PER_PT:.1f} mm"
    )
    if min(width_pt, height_pt) < MIN_PAGE_PT:
        raise TooSmall(
            f"The image is too small to be a page: {size}; a PDF page must measure at least"
            f" {MIN_PAGE_PT * _MM_PER_PT:.2f} mm a side."
        )
    if max(width_pt, height_pt) > MAX_PAGE_PT:
        raise TooLarge(
            f"The image is too large to be a page: {size}; a PDF page may measure at most"
            f" {MAX_PAGE_PT * _MM_PER_PT / 10:.0f} cm a side."
        )


def placement(
    size_px: tuple[int, int], dpi: tuple[float, float], rotation: int, skew_deg: float
) -> Placement:
    """Compute the page size and the image matrix for a stored image.

    Args:
        size_px: (width, height) of the stored image in pixels.
        dpi: Its (x, y) resolution.
        rotation: Degrees clockwise (multiple of 90) that turn the stored image upright.
        skew_deg: Further counter-clockwise rotation about the page centre (deskew), as
            given to Pillow's ``Image.rotate`` for the OCR copy.

    Returns:
        The page size in points and the ``cm`` matrix for ``/Im Do``.
    """
    stored_w = size_px[0] * PT_PER_INCH / dpi[0]
    stored_h = size_px[1] * PT_PER_INCH / dpi[1]
    rotation %= 360
    page_w, page_h = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
    cos, sin = math.cos(math.radians(skew_deg)), math.sin(math.radians(skew_deg))
    cx, cy = page_w / 2, page_h / 2

    def to_page(x: float, y: float) -> tuple[float, float]:
        # (x, y): a point of the stored image in points, y downwards like the pixels.
        if rotation == 90:
            x, y = stored_h - y, x
        elif rotation == 180:
            x, y = stored_w - x, stored_h - y
        elif rotation == 270:
            x, y = y, stored_w - x
        # Counter-clockwise on screen, as Pillow's rotate(), with y pointing down.
        dx, dy = x - cx, y - cy
        x, y = cx + dx * cos + dy * sin, cy - dx * sin + dy * cos
        return x, page_h - y  # PDF's y points up

    # PDF image space: (0, 0) is the bottom-left corner of the image, (0, 1) the top-left.
    x0, y0 = to_page(0.0, stored_h)
    x1, y1 = to_page(stored_w, stored_h)
    x2, y2 = to_page(0.0, 0.0)
    a, b, c, d, e, f = (round(v, 6) for v in (x1 - x0, y1 - y0, x2 - x0, y2 - y0, x0, y0))
    return Placement(page_w, page_h, (a, b, c, d, e, f))
