"""What an uploaded file is: its type from magic bytes, its page count, and whether it is usable.

:func:`inspect_upload` is called once per uploaded file, before any page is processed. It is
cheap (headers, TIFF directories and PDF cross-reference only; no image is decoded) and never
raises: a file that cannot be used at all is reported as one page that will fail with a reason.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error

import pikepdf
from PIL import Image, TiffImagePlugin

from .errors import (
    EmptyFile,
    NotAnImage,
    PageError,
    TooLarge,
    TruncatedImage,
    UnsupportedFormat,
)

log = logging.getLogger(__name__)

#: Most pages one file may contribute (TIFF frames, PDF pages).
MAX_PAGES = 2000

#: How many bytes of the head are enough to recognise every format below.
_HEAD_BYTES = 1024

ACCEPTED = "TIFF, JPEG, PNG, JPEG 2000, WebP, BMP or PDF"

#: What Pillow raises, or warns under :func:`strict_pillow`, on damaged image data.
PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct_error, UserWarning)


@dataclass(frozen=True)
class Format:
    """A file format recognised from its magic bytes.

    Attributes:
        name: Short name: 'png', 'jpeg', 'tiff', 'pdf', 'jp2', 'webp', 'bmp', or an
            unsupported one ('gif', 'djvu', ...).
        mime: MIME type.
        kind: 'image', 'tiff' or 'pdf' when accepted, None when not.
        pillow: Pillow's format name, for Image.open(formats=...).
    """

    name: str
    mime: str
    kind: str | None
    pillow: str | None = None


PNG = Format("png", "image/png", "image", "PNG")
JPEG = Format("jpeg", "image/jpeg", "image", "JPEG")
TIFF = Format("tiff", "image/tiff", "tiff", "TIFF")
PDF = Format("pdf", "application/pdf", "pdf")
JP2 = Format("jp2", "image/jp2", "image", "JPEG2000")
WEBP = Format("webp", "image/webp", "image", "WEBP")
BMP = Format("bmp", "image/bmp", "image", "BMP")


@dataclass(frozen=True)
class UploadInfo:
    """What :func:`inspect_upload` found out about a file.

    Attributes:
        kind: 'image', 'tiff', 'pdf', or 'invalid' when the whole file is unusable.
        pages: Number of pages the file contributes; 1 for an invalid file.
        mime: MIME type sniffed from the content (not from the name).
        error_code: PageError code when the file is unusable, else None.
        error_reason: Sentence for staff when the file is unusable, else None.
    """

    kind: str
    pages: int
    mime: str
    error_code: str | None = None
    error_reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file can be processed page by page."""
        return self.error_code is None


def sniff(head: bytes) -> Format | None:
    """Recognise a file format from the first bytes of a file.

    Args:
        head: At least the first 1024 bytes (fewer if the file is shorter).

    Returns:
        The format, or None when the bytes match nothing known.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return Format("bigtiff", "image/tiff", None)
    if b"%PDF-" in head[:_HEAD_BYTES]:
        return PDF
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return JP2
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"BM"):
        return BMP
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Format("gif", "image/gif", None)
    if head.startswith(b"AT&TFORM") and head[12:15] == b"DJV":
        return Format("djvu", "image/vnd.djvu", None)
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"heim"):
        return Format("heif", "image/heif", None)
    if head.startswith(b"8BPS"):
        return Format("psd", "image/vnd.adobe.photoshop", None)
    if head.startswith(b"PK\x03\x04"):
        return Format("zip", "application/zip", None)
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def identify(path: Path) -> Format:
    """Recognise an accepted format of ``path`` or raise the PageError that explains why not.

    Raises:
        EmptyFile, NotAnImage, UnsupportedFormat: The file cannot be used.
        OSError: The file cannot be read.
    """
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head:
        raise EmptyFile("The file is empty (0 bytes).")
    fmt = sniff(head)
    if fmt is None:
        if _looks_like_text(head):
            raise NotAnImage(
                f"The file is not an image or a PDF: it contains text. Please upload {ACCEPTED}."
            )
        raise NotAnImage(f"The file is not an image or a PDF that we recognise ({ACCEPTED}).")
    if fmt.kind is None:
        raise UnsupportedFormat(
            f"{fmt.name.upper()} files are not supported; please upload {ACCEPTED}."
        )
    return fmt


def check_pixels(size: tuple[int, int]) -> None:
    """Apply Pillow's decompression-bomb limit to one frame or page of ``size`` pixels.

    Uses ``Image.MAX_IMAGE_PIXELS`` at the level where Pillow refuses to open a file
    (twice the limit); the application can change the limit in one place.

    Raises:
        TooLarge: The image has too many pixels.
    """
    limit = Image.MAX_IMAGE_PIXELS
    pixels = size[0] * size[1]
    if limit and pixels > 2 * limit:
        raise TooLarge(
            f"The image is too large ({size[0]} x {size[1]} pixels, {pixels / 1e6:.0f} megapixels;"
            f" the limit is {2 * limit / 1e6:.0f} megapixels)."
        )


@contextmanager
def strict_pillow() -> Iterator[None]:
    """Treat Pillow's warnings about damaged data (e.g. a cut TIFF directory) as errors.

    Pillow only warns about some broken files and goes on with missing data; the result must
    not depend on the process's warning filters. The decompression-bomb warning is ignored
    (see :func:`check_pixels`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def open_image(path: Path, fmt: Format) -> Image.Image:
    """Open an image file with Pillow (headers only), as the format its magic bytes say.

    Pillow's decompression-bomb warning (between one and two times the limit) is not an
    error here; above twice the limit the image is refused.

    Raises:
        TooLarge: Too many pixels.
        TruncatedImage: Pillow cannot even read the header.
    """
    try:
        with strict_pillow():
            return Image.open(path, formats=[fmt.pillow] if fmt.pillow else None)
    except Image.DecompressionBombError as exc:
        raise TooLarge(f"The image is too large: {exc}") from exc
    except PILLOW_ERRORS as exc:
        raise TruncatedImage(
            f"The {fmt.name.upper()} file is damaged and cannot be read ({exc})."
        ) from exc


def _check_png(im: Image.Image) -> None:
    # verify() walks every chunk and checks its CRC without inflating the pixels.
    try:
        im.verify()
    except PILLOW_ERRORS as exc:
        raise TruncatedImage(f"The PNG file is incomplete or damaged ({exc}).") from exc


def _check_jpeg(path: Path) -> None:
    # A JPEG ends with the EOI marker; a cut file does not. Some writers pad after it.
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    if b"\xff\xd9" not in tail:
        raise TruncatedImage("The JPEG file is incomplete (it ends before the end of the image).")


def _tiff_frames(im: TiffImagePlugin.TiffImageFile, size: int) -> int:
    """Count TIFF frames, checking each one's pixel count and that its data lies in the file."""
    frames = 0
    while True:
        check_pixels(im.size)
        tags = im.tag_v2
        offsets = tags.get(273) or tags.get(324) or ()
        counts = tags.get(279) or tags.get(325) or ()
        ends = [o + c for o, c in zip(offsets, counts, strict=False)]
        if ends and max(ends) > size:
            raise TruncatedImage(
                f"The TIFF file is incomplete: the data of page {frames + 1} "
                "lies beyond the end of the file."
            )
        frames += 1
        if frames > MAX_PAGES:
            raise TooLarge(f"The TIFF file has more than {MAX_PAGES} pages.")
        try:
            im.seek(frames)
        except EOFError:
            return frames


def _inspect_image(path: Path, fmt: Format) -> int:
    with open_image(path, fmt) as im, strict_pillow():
        check_pixels(im.size)
        if fmt is TIFF:
            try:
                return _tiff_frames(im, path.stat().st_size)
            except PILLOW_ERRORS as exc:
                raise TruncatedImage(f"The TIFF file is damaged ({exc}).") from exc
        if fmt is PNG:
            _check_png(im)
        elif fmt is JPEG:
            _check_jpeg(path)
    return 1


def open_pdf(path: Path) -> pikepdf.Pdf:
    """Open a PDF with pikepdf, turning its errors into PageErrors.

    Raises:
        UnsupportedFormat: The PDF needs a password.
        TruncatedImage: The PDF is damaged beyond qpdf's repair.
    """
    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise UnsupportedFormat(
            "The PDF is protected by a password; please upload it without the password."
        ) from exc
    except pikepdf.PdfError as exc:
        raise TruncatedImage(f"The PDF file is damaged and cannot be read ({exc}).") from exc


def _inspect_pdf(path: Path) -> int:
    with open_pdf(path) as pdf:
        try:
            count = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise TruncatedImage(f"The PDF's page tree is damaged ({exc}).") from exc
    if count == 0:
        raise EmptyFile("The PDF has no pages.")
    if count > MAX_PAGES:
        raise TooLarge(f"The PDF has {count} pages; at most {MAX_PAGES} are accepted per file.")
    return count


def inspect_upload(path: Path) -> UploadInfo:
    """Tell what an uploaded file is and how many pages it contributes. Never raises.

    The type comes from the content (magic bytes), not from the name. Images are opened
    for their headers only; PNG chunks are CRC-checked, JPEGs checked for their end marker,
    TIFF frames counted and their data offsets checked against the file size; PDFs are opened
    with pikepdf for their page count.

    Args:
        path: The uploaded file.

    Returns:
        The kind ('image', 'tiff', 'pdf') and page count, or kind 'invalid' with one page,
        ``error_code`` and ``error_reason`` when the file cannot be used at all.
    """
    mime = "application/octet-stream"
    try:
        fmt = identify(path)
        mime = fmt.mime
        pages = _inspect_pdf(path) if fmt is PDF else _inspect_image(path, fmt)
        return UploadInfo(kind=fmt.kind or "invalid", pages=pages, mime=mime)
    except PageError as exc:
        if exc.code == "not_an_image" and "contains text" in exc.reason:
            mime = "text/plain"
        return UploadInfo("invalid", 1, mime, exc.code, exc.reason)
    except MemoryError:
        return UploadInfo("invalid", 1, mime, "too_large", "The file is too large to be examined.")
    except Exception as exc:
        log.warning("inspect_upload(%s) failed", path, exc_info=True)
        return UploadInfo("invalid", 1, mime, "not_an_image", f"The file cannot be read ({exc}).")
