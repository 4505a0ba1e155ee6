"""Errors of the page pipeline.

Two families, because the caller treats them differently:

* :class:`PageError` -- the input page itself is bad (empty file, not an image, damaged data,
  OCR that fails on it). Retrying will not help; the page fails with ``code`` (stable, for
  machines) and ``reason`` (one clear English sentence, shown to staff).
* :class:`TransientError` -- trouble of the machine, not of the page (disk full, Tesseract
  killed by a signal, out of memory). Worth retrying later.
"""

from __future__ import annotations

__all__ = [
    "BadLanguage",
    "EmptyFile",
    "NotAnImage",
    "OcrFailed",
    "OcrTimeout",
    "PageError",
    "TooComplex",
    "TooLarge",
    "TooSmall",
    "TransientError",
    "TruncatedImage",
    "UnsupportedFormat",
]


class PageError(Exception):
    """A page that cannot be processed: fails that page only, and says why.

    Attributes:
        code: Stable machine code, one of ``empty_file``, ``not_an_image``,
            ``truncated_image``, ``unsupported_format``, ``too_large``, ``ocr_failed``,
            ``ocr_timeout``, ``bad_language``, ``too_complex``, ``too_small``.
        reason: A clear English sentence for staff, e.g. "The file is empty (0 bytes)."
    """

    default_code = "ocr_failed"

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code or self.default_code

    def __reduce__(self):
        # Keep the code when the exception crosses a process boundary (Celery, multiprocessing).
        return (type(self), (self.reason, self.code))

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class EmptyFile(PageError):
    """The file has no content."""

    default_code = "empty_file"


class NotAnImage(PageError):
    """The content is not an image or PDF that we recognise."""

    default_code = "not_an_image"


class TruncatedImage(PageError):
    """The file is a known format, but its data is incomplete or damaged."""

    default_code = "truncated_image"


class UnsupportedFormat(PageError):
    """A recognised format that the workbench does not accept (GIF, DjVu, encrypted PDF...)."""

    default_code = "unsupported_format"


class TooLarge(PageError):
    """Too many pixels (Pillow's decompression-bomb guard) or too many pages."""

    default_code = "too_large"


class TooComplex(PageError):
    """A PDF page whose content is too big or has too many operators to be read safely.

    A few kilobytes of compressed content can unfold into millions of drawing operators
    (a 21 KB file once drove a worker to 3 GB); such a page is refused before it is parsed.
    """

    default_code = "too_complex"


class TooSmall(PageError):
    """An image too small to make a page (a PDF page must measure at least 3 points a side)."""

    default_code = "too_small"


class OcrFailed(PageError):
    """Tesseract (or another tool) failed on this page or did not produce its output."""

    default_code = "ocr_failed"


class OcrTimeout(PageError):
    """The page took longer than the time allowed for it."""

    default_code = "ocr_timeout"


class BadLanguage(PageError):
    """The OCR language string names a language that is not installed."""

    default_code = "bad_language"


class TransientError(Exception):
    """Trouble worth retrying: out of disk space, a tool killed by a signal, out of memory.

    Attributes:
        reason: What went wrong, in English.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
