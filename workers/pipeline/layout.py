"""Skew angle and 'sideways' test of a page from projection profiles of a small copy.

Text lines make the row profile (ink per row) of a page sharp when the lines are horizontal,
and the column profile sharp when the page lies on its side. We rotate a copy of about 75 dpi
over a range of angles and score the sharpness of the profile (sum of squared differences of
neighbouring rows). About 50 small rotations cost ~50-150 ms, far less than Tesseract's
orientation detection (0.5-1.5 s a page), which is therefore run only when this test (or the
OCR confidence afterwards) says the page is not upright.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat

#: Working resolution of the analysis copy.
ANALYSIS_DPI = 75.0
#: Largest skew searched for (degrees either way).
MAX_SKEW = 6.0
COARSE_STEP = 0.5
FINE_STEP = 0.1
#: Skews smaller than this are left alone.
MIN_SKEW = 0.1
#: The best angle must sharpen the profile by this factor over no rotation to be believed.
MIN_GAIN = 1.03
#: The page counts as sideways when its column profile is this much sharper than its rows'.
SIDEWAYS_RATIO = 1.5
#: Pages whose gray levels (1st to 99th percentile) span less than this are blank.
MIN_CONTRAST = 40


@dataclass(frozen=True)
class Layout:
    """What the profiles say about a page.

    Attributes:
        horizontal_angle: Counter-clockwise rotation (degrees) that makes rows of text
            level when the lines run across the page.
        horizontal_score: Sharpness of the row profile at that angle.
        vertical_angle: The same for text lines running down the page (the page lies on
            its side), measured after turning it a quarter; after turning the page by 90 or
            270 degrees this is its skew.
        vertical_score: Sharpness of the column profile at that angle.
        level_score: Sharpness of the row profile without rotation.
        upright_score: Sharpness of the column profile without rotation.
    """

    horizontal_angle: float
    horizontal_score: float
    vertical_angle: float
    vertical_score: float
    level_score: float
    upright_score: float

    @property
    def sideways(self) -> bool:
        """True when the text lines run down the page: it must be turned by 90 or 270."""
        return self.vertical_score > SIDEWAYS_RATIO * self.horizontal_score

    def skew(self, rotation: int) -> float:
        """The deskew angle (counter-clockwise degrees) after turning the page by ``rotation``.

        Returns 0 when the angle is tiny or the profile gives no clear answer (blank page,
        picture).
        """
        if rotation % 180:
            angle, best, level = self.vertical_angle, self.vertical_score, self.upright_score
        else:
            angle, best, level = self.horizontal_angle, self.horizontal_score, self.level_score
        gain = best / level if level else 0.0
        if abs(angle) < MIN_SKEW or gain < MIN_GAIN:
            return 0.0
        return angle


#: What a blank page says: nothing to turn, nothing to straighten.
BLANK = Layout(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def analysis_copy(gray: Image.Image, dpi: float) -> Image.Image | None:
    """Small, inverted (ink is bright) copy of a grayscale page for the profile search.

    Returns:
        The copy, or None for a blank page (too little contrast to hold any text).
    """
    factor = max(1, round(dpi / ANALYSIS_DPI))
    small = gray.reduce(factor) if factor > 1 else gray
    low, high = _percentile(small, 0.01), _percentile(small, 0.99)
    if high - low < MIN_CONTRAST:
        return None
    return ImageOps.invert(ImageOps.autocontrast(small, cutoff=1))


def estimate_layout(gray: Image.Image, dpi: float) -> Layout:
    """Estimate skew and whether the page lies on its side.

    Args:
        gray: The page in mode 'L', upright as far as the file knows.
        dpi: Its resolution.

    Returns:
        The best angles and scores for horizontal and vertical text lines.
    """
    small = analysis_copy(gray, dpi)
    if small is None:
        return BLANK
    # Corners uncovered by a rotation get the page's mean value, so they add few edges.
    fill = round(ImageStat.Stat(small).mean[0])
    h_angle, h_score, level = _search(small, fill)
    # Turned a quarter counter-clockwise, text lines running down the page run across.
    # Most pages are upright: a rough look suffices unless the lines do run down the page.
    across = small.transpose(Image.Transpose.ROTATE_90)
    v_angle, v_score, upright = _search(across, fill, coarse=2 * COARSE_STEP, fine=False)
    if v_score > SIDEWAYS_RATIO * h_score:
        v_angle, v_score, upright = _search(across, fill)
    return Layout(
        horizontal_angle=round(h_angle, 2),
        horizontal_score=h_score,
        vertical_angle=round(v_angle, 2),
        vertical_score=v_score,
        level_score=level,
        upright_score=upright,
    )


def _percentile(image: Image.Image, fraction: float) -> int:
    histogram = image.histogram()
    wanted, seen = fraction * sum(histogram), 0
    for value, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return value
    return 255


def _search(
    small: Image.Image, fill: int, coarse: float = COARSE_STEP, fine: bool = True
) -> tuple[float, float, float]:
    """Best angle: coarse steps over +-MAX_SKEW, then (if ``fine``) fine steps around it.

    Returns:
        The best angle, its score, and the score without rotation.
    """
    level = _sharpness(small, 0.0, fill)
    angle, score = _best(small, fill, 0.0, MAX_SKEW, coarse, known=(0.0, level))
    if fine:
        angle, score = _best(small, fill, angle, coarse - FINE_STEP, FINE_STEP, (angle, score))
    return angle, score, level


def _best(
    small: Image.Image,
    fill: int,
    centre: float,
    span: float,
    step: float,
    known: tuple[float, float],
) -> tuple[float, float]:
    best = known
    steps = round(span / step)
    for k in range(-steps, steps + 1):
        if k == 0:
            continue
        angle = centre + k * step
        score = _sharpness(small, angle, fill)
        if score > best[1]:
            best = (angle, score)
    return best


def _sharpness(small: Image.Image, angle: float, fill: int) -> float:
    """Sum of squared differences of neighbouring row means after rotating by ``angle``."""
    # Nearest-neighbour is 8x faster than bilinear here and the row means smooth it out.
    rotated = small.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=fill)
    rows = rotated.resize((1, rotated.height), Image.Resampling.BOX).tobytes()
    return float(sum((b - a) ** 2 for a, b in zip(rows, rows[1:], strict=False)))
