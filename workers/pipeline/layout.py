"""Skew angle and 'sideways' test of a page from projection profiles of a small copy.

Text lines make the row profile (ink per row) of a page sharp when the lines are horizontal,
and the column profile sharp when the page lies on its side. We rotate a copy of about 75 dpi
over a range of angles and score the sharpness of the profile (sum of squared differences of
neighbouring rows): coarse steps on a copy of half that size, fine steps around the best of
them on the 75 dpi copy. About 50 small rotations cost 10-40 ms, far less than Tesseract's
orientation detection (0.5-0.7 s a page), which is therefore run only when this test (or the
OCR confidence afterwards) says the page is not upright, and a probe cannot tell.
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

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Layout:
    """What the profiles say about a page.

    The scores of one orientation (horizontal or vertical) compare with each other, not with
    those of the other: only the orientation of the text lines is measured finely.

    Attributes:
        sideways: The text lines run down the page: it must be turned by 90 or 270.
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

    sideways: bool
    horizontal_angle: float
    horizontal_score: float
    vertical_angle: float
    vertical_score: float
    level_score: float
    upright_score: float

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
BLANK = Layout(False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


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
    # A coarse step still moves the far end of a row of the half-size copy by 2 pixels.
    half = small.reduce(2)
    h_angle, h_score, level = _search(half, fill)
    # Turned a quarter counter-clockwise, text lines running down the page run across.
    # Most pages are upright: a rough look suffices unless the lines do run down the page.
    across = small.transpose(Image.Transpose.ROTATE_90)
    across_half = across.reduce(2)
    v_angle, v_score, upright = _search(across_half, fill, coarse=2 * COARSE_STEP)
    sideways = v_score > SIDEWAYS_RATIO * h_score
    if sideways:
        v_angle, v_score, upright = _search(across_half, fill)
        v_angle, v_score, upright = _refine(across, fill, v_angle)
    else:
        h_angle, h_score, level = _refine(small, fill, h_angle)
    return Layout(
        sideways=sideways,
        horizontal_angle=round(h_angle, 2),
        horizontal_score=h_score,
        vertical_angle=round(v_angle, 2),
        vertical_score=v_score,
        level_score=level,
        upright_score=upright,
    )


def text_band(page: Image.Image, dpi: float, lines: int, width: float) -> Box | None:
    """A few text lines from the middle of an upright, level page, to be read as a sample.

    Args:
        page: The page (any mode), its text lines running across.
        dpi: Its resolution.
        lines: How many lines to take.
        width: The largest share of the page width to take, about the middle of a column.

    Returns:
        The box (left, top, right, bottom) in pixels of ``page``, None on a blank page.
    """
    factor = max(1, round(dpi / ANALYSIS_DPI))
    small = analysis_copy(page.convert("L"), dpi)
    if small is None:
        return None
    # Over a third of the page, the gaps between words do not line up; only the gutters
    # between columns stay empty. Take the widest column, so that the sample holds whole lines.
    middle = small.crop((0, small.height // 3, small.width, 2 * small.height // 3))
    columns = middle.resize((middle.width, 1), Image.Resampling.BOX).tobytes()
    found = _joined(_runs(columns, 0.15), max(2, small.width // 100))
    if not found:
        return None
    left, right = max(found, key=lambda run: run[1] - run[0])
    cut = max(0.0, (right - left) - width * small.width) / 2
    left, right = round(left + cut), round(right - cut)
    strip = small.crop((left, 0, right, small.height))
    rows = strip.resize((1, strip.height), Image.Resampling.BOX).tobytes()
    found = _runs(rows, 0.25)
    if not found:
        return None
    first = max(0, (len(found) - lines) // 2)
    chosen = found[first : first + lines]
    pad = max(1, max(end - start for start, end in chosen) // 2)
    top, bottom = max(0, chosen[0][0] - pad), min(small.height, chosen[-1][1] + pad)
    return (left * factor, top * factor, right * factor, bottom * factor)


def _runs(profile: bytes, share: float) -> list[tuple[int, int]]:
    """Runs (start, end) of a profile above ``share`` of the way from its floor to its top.

    The floor is the 5th percentile: the white corners a deskew rotation leaves are whiter
    than the paper and must not count as the background.
    """
    low = sorted(profile)[len(profile) // 20]
    threshold = low + share * (max(profile) - low)
    runs, start = [], None
    for i, value in enumerate(profile):
        if value > threshold and start is None:
            start = i
        elif value <= threshold and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(profile)))
    return runs


def _joined(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Runs with the gaps narrower than ``gap`` between them closed."""
    if not runs:  # a profile without ink: the middle of the page is blank
        return []
    joined = [runs[0]]
    for start, end in runs[1:]:
        if start - joined[-1][1] < gap:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _percentile(image: Image.Image, fraction: float) -> int:
    histogram = image.histogram()
    wanted, seen = fraction * sum(histogram), 0
    for value, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return value
    return 255


def _search(
    small: Image.Image, fill: int, coarse: float = COARSE_STEP
) -> tuple[float, float, float]:
    """Best angle in coarse steps over +-MAX_SKEW.

    Returns:
        The best angle, its score, and the score without rotation.
    """
    level = _sharpness(small, 0.0, fill)
    angle, score = _best(small, fill, 0.0, MAX_SKEW, coarse, known=(0.0, level))
    return angle, score, level


def _refine(small: Image.Image, fill: int, coarse: float) -> tuple[float, float, float]:
    """Best angle in fine steps around a coarse one.

    Returns:
        The best angle, its score, and the score without rotation.
    """
    level = _sharpness(small, 0.0, fill)
    score = _sharpness(small, coarse, fill) if coarse else level
    span = COARSE_STEP - FINE_STEP
    angle, score = _best(small, fill, coarse, span, FINE_STEP, (coarse, score))
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
