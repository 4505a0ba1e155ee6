"""Page images: load one frame, settle its resolution, encode it for the PDF, prepare the OCR copy.

The visible image of the output page is kept as close to the upload as possible: JPEG data is
passed through unchanged (DCTDecode), PNG pixel data is passed through unchanged (Flate with
PNG predictors), bilevel images stay 1-bit (CCITT G4). Rotation and deskew are not applied to
these pixels but expressed as the placement matrix of the image on the page (see
``geometry.py``), so they cost nothing and lose nothing. Only the grayscale copy that Tesseract
reads is rotated and deskewed.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from .context import PageContext, disk_errors
from .errors import NotAnImage, TruncatedImage
from .inputs import JPEG, PILLOW_ERRORS, PNG, Format, check_pixels, open_image, strict_pillow

log = logging.getLogger(__name__)

#: Declared resolutions outside this range are treated as missing.
MIN_DPI = 50.0
MAX_DPI = 1600.0
DEFAULT_DPI = 300.0

#: Resolutions scanners use, with how unlikely each is for library scans (0 = common).
STANDARD_DPI = {300: 0.0, 400: 0.0, 600: 0.0, 200: 0.5, 240: 0.5, 150: 1.0, 100: 1.0, 1200: 1.0}
#: Paper sizes (inches, portrait) with how unlikely each is. A-sizes two steps apart at
#: double the resolution have the same pixels (A4 at 200 dpi = A6 at 400), hence the priors.
PAPER_INCHES = {
    "A4": ((8.27, 11.69), 0.0),
    "A5": ((5.83, 8.27), 0.0),
    "Letter": ((8.5, 11.0), 0.0),
    "A3": ((11.69, 16.54), 1.0),
    "A6": ((4.13, 5.83), 1.0),
    "Legal": ((8.5, 14.0), 1.0),
}
#: How far (relative) a page may be from a paper size and still count as that paper.
PAPER_TOLERANCE = 0.04

_EXIF_ORIENTATION = 0x0112
#: EXIF Orientation values that are pure rotations -> degrees clockwise to display upright.
_EXIF_ROTATION = {1: 0, 3: 180, 6: 90, 8: 270}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Pillow's ROTATE_n turn counter-clockwise; we count clockwise.
_TRANSPOSE_CW = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@dataclass
class EncodedImage:
    """Encoded pixel data ready to become a PDF image XObject.

    Attributes:
        width: Pixels per row.
        height: Rows.
        data: The stream data, already encoded with ``filter``.
        filter: PDF filter name without the slash: 'DCTDecode', 'FlateDecode', 'CCITTFaxDecode'.
        colorspace: 'DeviceGray', 'DeviceRGB' or 'DeviceCMYK' (the base, when ``palette``).
        bits: Bits per component.
        decode_parms: The filter's /DecodeParms, if any.
        decode: A /Decode array, if any (inverted Adobe CMYK JPEGs).
        palette: Colour table of an Indexed image over ``colorspace``.
        icc: ICC profile to attach (ICCBased colour space), if any.
    """

    width: int
    height: int
    data: bytes
    filter: str
    colorspace: str
    bits: int = 8
    decode_parms: dict[str, int | bool] | None = None
    decode: tuple[float, ...] | None = None
    palette: bytes | None = None
    icc: bytes | None = None


@dataclass(frozen=True)
class PdfImageRef:
    """An image XObject that is copied unchanged from a page of the source PDF.

    Attributes:
        pdf: The source PDF.
        page: 0-based page index.
        name: Resource name of the image on that page, e.g. '/Im0'.
        width: Pixels per row.
        height: Rows.
    """

    pdf: Path
    page: int
    name: str
    width: int
    height: int


@dataclass
class LoadedPage:
    """One page of the source, decoded.

    Attributes:
        pixels: The decoded image, in the orientation it is stored in.
        visible: How the image goes into the output PDF.
        declared_dpi: Resolution (x, y) stated by the file, or None.
        base_rotation: Degrees clockwise the file itself asks for when displayed
            (EXIF Orientation, PDF /Rotate); 0, 90, 180 or 270.
        description: For logs, e.g. 'JPEG 1748x2480 RGB'.
    """

    pixels: Image.Image
    visible: EncodedImage | PdfImageRef
    declared_dpi: tuple[float, float] | None
    base_rotation: int
    description: str


def load_raster(path: Path, fmt: Format, frame: int, ctx: PageContext) -> LoadedPage:
    """Decode frame ``frame`` of an image file and encode its visible copy for the PDF.

    Args:
        path: The image file.
        fmt: Its format, from :func:`inputs.identify`.
        frame: 0-based frame (TIFF page); must be 0 for single-frame formats.
        ctx: The page context (for warnings).

    Raises:
        NotAnImage: There is no such frame.
        TooLarge: The frame has too many pixels.
        TruncatedImage: The image data is incomplete or damaged.
    """
    with open_image(path, fmt) as im, strict_pillow():
        _seek(im, frame)
        check_pixels(im.size)
        orientation = _exif_orientation(im)
        declared = _declared_dpi(im)
        info = dict(im.info)
        try:
            im.load()
        except PILLOW_ERRORS as exc:
            raise TruncatedImage(
                f"The {fmt.name.upper()} image data is incomplete or damaged ({exc})."
            ) from exc
        pixels = im.copy()

    base_rotation = _EXIF_ROTATION.get(orientation, 0)
    visible: EncodedImage | None = None
    if orientation not in _EXIF_ROTATION:
        # A mirrored orientation cannot be a placement matrix of ours; apply it to the pixels.
        pixels = ImageOps.exif_transpose(pixels)
        ctx.warn(f"Applied the image's EXIF orientation {orientation} (mirrored).")
    elif fmt is JPEG:
        visible = jpeg_passthrough(path.read_bytes(), pixels, info)
    elif fmt is PNG:
        visible = png_passthrough(path.read_bytes())
    if visible is None:
        lossy = fmt is JPEG or info.get("compression") in ("jpeg", "tiff_jpeg")
        visible = encode_jpeg(pixels, info) if lossy else encode_lossless(pixels, info)
    if base_rotation:
        ctx.warn(f"The image asks to be shown rotated by {base_rotation} degrees (EXIF).")
    description = f"{fmt.name.upper()} {pixels.width}x{pixels.height} {pixels.mode}"
    return LoadedPage(pixels, visible, declared, base_rotation, description)


def _seek(im: Image.Image, frame: int) -> None:
    try:
        count = getattr(im, "n_frames", 1)  # walks every TIFF directory
    except PILLOW_ERRORS as exc:
        raise TruncatedImage(f"The file's page directory is damaged ({exc}).") from exc
    if not 0 <= frame < count:
        raise NotAnImage(f"The file has no page {frame + 1} (it has {count}).")
    if frame:
        try:
            im.seek(frame)
        except PILLOW_ERRORS as exc:
            raise TruncatedImage(f"Page {frame + 1} of the file cannot be read ({exc}).") from exc


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


def _declared_dpi(im: Image.Image) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    try:
        x, y = (_snap(float(v)) for v in dpi)
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None


def _snap(dpi: float) -> float:
    # PNG stores dots per metre: 300 dpi comes back as 299.9994.
    return float(round(dpi)) if abs(dpi - round(dpi)) < 0.05 else dpi


def resolve_dpi(
    declared: tuple[float, float] | None, size: tuple[int, int], hint: float | None
) -> tuple[tuple[float, float], str | None]:
    """Decide the resolution of a page.

    The file's own resolution wins when it is plausible (MIN_DPI..MAX_DPI); otherwise the
    caller's hint; otherwise a guess from the pixel size (standard paper at a standard
    scanner resolution); otherwise DEFAULT_DPI.

    Args:
        declared: (x, y) DPI stated by the file, or None.
        size: (width, height) in pixels.
        hint: DPI to use when the file states none (or an absurd one), or None.

    Returns:
        The (x, y) resolution and a warning for staff when it was not taken from the file.
    """
    if declared and all(MIN_DPI <= d <= MAX_DPI for d in declared):
        return declared, None
    what = "does not state its resolution" if not declared else "states an absurd resolution"
    if hint is not None and MIN_DPI <= hint <= MAX_DPI:
        return (hint, hint), f"The image {what}; used the given {hint:g} dpi."
    guess = estimate_dpi(size)
    if guess:
        dpi, paper = guess
        return (dpi, dpi), f"The image {what}; assumed {dpi:g} dpi ({paper} paper)."
    return (DEFAULT_DPI, DEFAULT_DPI), f"The image {what}; assumed {DEFAULT_DPI:g} dpi."


def estimate_dpi(size: tuple[int, int]) -> tuple[float, str] | None:
    """Guess the DPI of a scan from its pixel size, assuming a standard paper size.

    Returns:
        (dpi, paper name) of the most likely match, or None when nothing fits.
    """
    short, long = sorted(size)
    matches = []
    for dpi, dpi_prior in STANDARD_DPI.items():
        for paper, ((width_in, height_in), paper_prior) in PAPER_INCHES.items():
            error = max(
                abs(short / dpi - width_in) / width_in, abs(long / dpi - height_in) / height_in
            )
            if error <= PAPER_TOLERANCE:
                matches.append((dpi_prior + paper_prior, error, float(dpi), paper))
    if not matches:
        return None
    _, _, dpi, paper = min(matches)
    return dpi, paper


# --- encoding the visible image ------------------------------------------------------------


def jpeg_passthrough(data: bytes, pixels: Image.Image, info: dict) -> EncodedImage | None:
    """Embed a JPEG file's bytes unchanged (DCTDecode) when PDF readers can show it as is.

    Args:
        data: The whole JPEG file.
        pixels: The decoded image (for size and mode).
        info: Pillow's ``info`` of the JPEG ('adobe', 'icc_profile').

    Returns:
        The encoded image, or None for modes we do not pass through.
    """
    colorspace = {"L": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}.get(pixels.mode)
    if colorspace is None:
        return None
    # Adobe writes CMYK JPEGs inverted; PDF readers expect the /Decode array to say so.
    decode = (1.0, 0.0) * 4 if pixels.mode == "CMYK" and info.get("adobe") else None
    return EncodedImage(
        pixels.width,
        pixels.height,
        data,
        "DCTDecode",
        colorspace,
        decode=decode,
        icc=_usable_icc(info.get("icc_profile"), pixels.mode),
    )


def png_passthrough(data: bytes) -> EncodedImage | None:
    """Embed a PNG's compressed pixel data (IDAT) unchanged, as Flate with PNG predictors.

    Works for non-interlaced gray (1-8 bit), RGB (8 bit) and palette images without
    transparency; returns None for anything else (alpha, 16 bit, interlaced, broken).
    """
    if not data.startswith(_PNG_SIGNATURE):
        return None
    header = palette = icc = None
    idat: list[bytes] = []
    pos = len(_PNG_SIGNATURE)
    try:
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            body = data[pos + 8 : pos + 8 + length]
            pos += 12 + length
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"PLTE":
                palette = body
            elif kind == b"tRNS":
                return None
            elif kind == b"iCCP":
                icc = zlib.decompress(body.split(b"\x00", 1)[1][1:])
            elif kind == b"IDAT":
                idat.append(body)
            elif kind == b"IEND":
                break
    except (struct.error, zlib.error, IndexError):
        return None
    if header is None or not idat:
        return None
    width, height, depth, color, _, _, interlace = header
    supported = (color == 0 and depth in (1, 2, 4, 8)) or (color == 2 and depth == 8)
    supported = supported or (color == 3 and depth in (1, 2, 4, 8) and palette is not None)
    if interlace or not supported:
        return None
    colors = 3 if color == 2 else 1
    mode = {0: "L", 2: "RGB", 3: "P"}[color]
    return EncodedImage(
        width,
        height,
        b"".join(idat),
        "FlateDecode",
        "DeviceRGB" if color in (2, 3) else "DeviceGray",
        bits=depth,
        decode_parms={
            "Predictor": 15,
            "Colors": colors,
            "BitsPerComponent": depth,
            "Columns": width,
        },
        palette=palette if color == 3 else None,
        icc=None if color == 3 else _usable_icc(icc, mode),
    )


def encode_lossless(pixels: Image.Image, info: dict | None = None) -> EncodedImage:
    """Encode an image without loss: bilevel as CCITT G4, others as Flate with PNG predictors."""
    flat = flatten(pixels)
    if flat.mode == "1":
        return encode_g4(flat)
    buffer = io.BytesIO()
    flat.save(buffer, "PNG", compress_level=6)
    encoded = png_passthrough(buffer.getvalue())
    if encoded is None:  # pragma: no cover - Pillow writes plain non-interlaced PNGs
        raise RuntimeError("Pillow wrote a PNG that cannot be embedded")
    return replace(encoded, icc=_usable_icc((info or {}).get("icc_profile"), flat.mode))


def encode_jpeg(pixels: Image.Image, info: dict | None = None, quality: int = 90) -> EncodedImage:
    """Encode an image that came from lossy data (JPEG in TIFF, mirrored JPEG) as JPEG again."""
    flat = flatten(pixels)
    if flat.mode == "1":
        return encode_g4(flat)
    buffer = io.BytesIO()
    flat.save(buffer, "JPEG", quality=quality)
    encoded = jpeg_passthrough(buffer.getvalue(), flat, {})
    assert encoded is not None
    return replace(encoded, icc=_usable_icc((info or {}).get("icc_profile"), flat.mode))


def encode_g4(bilevel: Image.Image) -> EncodedImage:
    """Encode a mode '1' image as one CCITT Group 4 strip (via libtiff)."""
    buffer = io.BytesIO()
    bilevel.save(buffer, "TIFF", compression="group4", tiffinfo={278: bilevel.height})
    with Image.open(io.BytesIO(buffer.getvalue())) as tiff:
        offsets, counts = tiff.tag_v2[273], tiff.tag_v2[279]
        photometric = tiff.tag_v2.get(262, 0)
    if len(offsets) != 1:  # pragma: no cover - RowsPerStrip = height gives one strip
        raise RuntimeError("libtiff wrote more than one G4 strip")
    data = buffer.getvalue()[offsets[0] : offsets[0] + counts[0]]
    return EncodedImage(
        bilevel.width,
        bilevel.height,
        data,
        "CCITTFaxDecode",
        "DeviceGray",
        bits=1,
        decode_parms={
            "K": -1,
            "Columns": bilevel.width,
            "Rows": bilevel.height,
            # With BlackIsZero the G4 "white" runs hold the 0 (black) samples.
            "BlackIs1": photometric == 1,
        },
    )


def _usable_icc(icc: bytes | None, mode: str) -> bytes | None:
    """The ICC profile if its colour space matches the image mode, else None."""
    want = {"L": b"GRAY", "RGB": b"RGB ", "CMYK": b"CMYK"}.get(mode)
    if not icc or want is None or len(icc) < 128 or icc[16:20] != want:
        return None
    return icc


# --- pixels for analysis and OCR ----------------------------------------------------------


def flatten(pixels: Image.Image) -> Image.Image:
    """Return the image in mode '1', 'L' or 'RGB': alpha composited on white, 16 bit scaled."""
    mode = pixels.mode
    if mode in ("1", "L", "RGB"):
        return pixels
    if mode.startswith("I;16") or mode == "I":
        return pixels.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("LA", "La", "RGBA", "RGBa", "PA") or (
        mode == "P" and "transparency" in pixels.info
    ):
        rgba = pixels.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba)
        return flat.convert("L" if mode.startswith("L") else "RGB")
    if mode == "F":
        return pixels.convert("L")
    return pixels.convert("RGB")


def to_gray(pixels: Image.Image) -> Image.Image:
    """8-bit grayscale copy of an image (mode 'L'), for analysis and OCR."""
    flat = flatten(pixels)
    return flat if flat.mode == "L" else flat.convert("L")


def square_pixels(gray: Image.Image, dpi: tuple[float, float]) -> tuple[Image.Image, float]:
    """Resample an image with different x and y resolutions to square pixels.

    Returns:
        The image (unchanged when x and y agree within 1%) and its resolution.
    """
    x_dpi, y_dpi = dpi
    target = max(x_dpi, y_dpi)
    if abs(x_dpi - y_dpi) <= 0.01 * target:
        return gray, x_dpi
    size = (round(gray.width * target / x_dpi), round(gray.height * target / y_dpi))
    return gray.resize(size, Image.Resampling.BILINEAR), target


def transpose(image: Image.Image, clockwise: int) -> Image.Image:
    """Rotate an image by a multiple of 90 degrees clockwise, losslessly."""
    clockwise %= 360
    return image.transpose(_TRANSPOSE_CW[clockwise]) if clockwise else image


def deskew(gray: Image.Image, angle: float) -> Image.Image:
    """Rotate a grayscale image by ``angle`` degrees counter-clockwise about its centre.

    The size stays the same; uncovered corners are filled with white.
    """
    if not angle:
        return gray
    return gray.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)


def clean(gray: Image.Image) -> Image.Image:
    """Clean the OCR copy of a page: remove speckles and stretch the contrast.

    Only Tesseract sees the result; the visible page keeps the original scan.
    """
    return ImageOps.autocontrast(gray.filter(ImageFilter.MedianFilter(3)), cutoff=(1, 0.5))


def otsu_threshold(gray: Image.Image) -> int:
    """The gray level that best splits a page into ink and paper (Otsu's method).

    Values above the threshold are paper. Computed from the histogram: a few milliseconds
    for a page of any size.
    """
    histogram = gray.histogram()[:256]
    total = sum(histogram)
    weighted_total = sum(level * count for level, count in enumerate(histogram))
    best, best_between = 127, -1.0
    below = weighted_below = 0
    for level, count in enumerate(histogram):
        below += count
        weighted_below += level * count
        above = total - below
        if not below or not above:
            continue
        # Between-class variance times total**2, the form that needs no division by it.
        between = (weighted_total * below - weighted_below * total) ** 2 / (below * above)
        if between > best_between:
            best, best_between = level, between
    return best


def binarize(gray: Image.Image) -> Image.Image:
    """A bilevel copy of a grayscale page, split at its Otsu threshold.

    Tesseract reads a bilevel page about 11% faster than a grayscale one (it then skips its
    own thresholding and reads the lines from the bilevel image) with the same accuracy on
    the corpus; see :func:`mura.workers.pipeline.page.prepare`.
    """
    threshold = otsu_threshold(gray)
    return gray.point([0 if v <= threshold else 255 for v in range(256)], mode="1")


def write_pnm(image: Image.Image, out: Path) -> Path:
    """Write an image as uncompressed PGM/PBM: the quickest format for Tesseract to read."""
    with disk_errors():
        image.save(out, "PPM")
    return out
