"""Tesseract: installed languages, orientation detection, and the one OCR run of a page.

Tesseract runs as a subprocess with ``OMP_THREAD_LIMIT=1`` (one process per core is the
fast configuration, see docs/design-notes.md) and an explicit timeout. Errors are sorted as the
pipeline needs them: killed by our timeout -> OcrTimeout; killed by a signal (OOM killer) or
no disk space -> TransientError; any other failure -> OcrFailed with the tail of stderr.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .context import PageContext, disk_is_low
from .errors import BadLanguage, OcrFailed, OcrTimeout, TransientError

log = logging.getLogger(__name__)

TESSERACT = "tesseract"
#: OSD results below this confidence are ignored (OCRmyPDF's default threshold).
ORIENTATION_CONFIDENCE = 14.0
#: Tesseract needs this long just to start and load a model; less is not worth trying.
_MIN_RUN_S = 0.5
_LANG_RE = re.compile(r"^[A-Za-z0-9_]+$")
_WCONF_RE = re.compile(r"x_wconf (\d+)")
_BBOX_RE = re.compile(r"bbox (\d+) (\d+) (\d+) (\d+)")


@dataclass(frozen=True)
class Orientation:
    """Tesseract's orientation and script detection (``--psm 0``).

    Attributes:
        rotate: Degrees clockwise that make the page upright (0, 90, 180, 270).
        confidence: Tesseract's orientation confidence (about 0-50; > 14 is trustworthy).
        script: Script name, e.g. 'Cyrillic'.
    """

    rotate: int
    confidence: float
    script: str | None = None


@dataclass(frozen=True)
class Word:
    """A word of an hOCR file: its box in pixels (x0, y0, x1, y1) and confidence 0-100."""

    box: tuple[int, int, int, int]
    confidence: int


@dataclass(frozen=True)
class OcrOutput:
    """The files of one Tesseract run and what the hOCR says about the words.

    Attributes:
        text_path: Plain text (``.txt``).
        hocr_path: hOCR (``.hocr``); coordinates are pixels of the OCR image.
        pdf_path: Text-only PDF page (``.pdf``, invisible text, no image).
        word_count: Words in the hOCR.
        mean_confidence: Mean word confidence 0-100, or None without words.
    """

    text_path: Path
    hocr_path: Path
    pdf_path: Path
    word_count: int
    mean_confidence: float | None


def tesseract_env() -> dict[str, str]:
    """Environment for Tesseract: one OpenMP thread, since we run one process per core."""
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


@functools.lru_cache(maxsize=1)
def installed_languages() -> frozenset[str]:
    """Languages whose traineddata Tesseract finds (``tesseract --list-langs``)."""
    proc = run_tool([TESSERACT, "--list-langs"], timeout=30, what="Tesseract")
    lines = proc.stdout.splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


def check_languages(langs: str) -> str:
    """Validate a Tesseract language string such as 'kaz+rus'.

    Returns:
        The string, stripped of blanks.

    Raises:
        BadLanguage: Empty, malformed, or names a language that is not installed.
    """
    langs = langs.strip()
    parts = langs.split("+") if langs else []
    if not parts or not all(_LANG_RE.match(p) for p in parts):
        raise BadLanguage(f"'{langs}' is not a valid OCR language list (e.g. 'kaz+rus').")
    available = installed_languages() - {"osd"}
    missing = [p for p in parts if p not in available]
    if missing:
        raise BadLanguage(
            f"OCR language {', '.join(missing)} is not installed"
            f" (installed: {', '.join(sorted(available))})."
        )
    return langs


def run_tool(args: list[str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    """Run a command line tool and sort its failures into our error types.

    Args:
        args: Command and arguments.
        timeout: Seconds before the tool is killed.
        what: Name of the tool for messages.

    Raises:
        OcrTimeout: It ran longer than ``timeout``.
        TransientError: It was killed by a signal or is missing on this machine.
        OcrFailed: It exited with an error.
    """
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=tesseract_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OcrTimeout(f"{what} took longer than the {timeout:.0f} s left for the page.") from exc
    except FileNotFoundError as exc:
        raise TransientError(f"{what} is not installed on this worker ({args[0]}).") from exc
    if proc.returncode < 0:
        number = -proc.returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else "?"
        raise TransientError(f"{what} was killed by signal {number} ({name}).")
    if proc.returncode != 0:
        raise OcrFailed(f"{what} failed (exit {proc.returncode}): {stderr_tail(proc.stderr)}")
    return proc


def stderr_tail(stderr: str, lines: int = 3) -> str:
    """The last few non-empty lines of a tool's stderr, joined for one message."""
    tail = [line.strip() for line in stderr.splitlines() if line.strip()][-lines:]
    return " / ".join(tail) or "no message"


def detect_orientation(image: Path, dpi: float, ctx: PageContext) -> Orientation | None:
    """Ask Tesseract how the page is oriented (``--psm 0``).

    Args:
        image: The page (a reduced copy is fine: OSD needs ~150 dpi).
        dpi: Resolution of ``image``.
        ctx: Page context (deadline).

    Returns:
        The orientation, or None when Tesseract cannot tell (too few characters, a blank
        page); failing to detect is never an error of the page.
    """
    args = [TESSERACT, str(image), "stdout", "--psm", "0", "--dpi", str(round(dpi))]
    try:
        proc = run_tool(
            args, timeout=max(_MIN_RUN_S, ctx.remaining()), what="Orientation detection"
        )
    except OcrFailed as exc:
        log.info("page %d: no orientation: %s", ctx.page + 1, exc)
        return None
    return parse_osd(proc.stdout)


def parse_osd(stdout: str) -> Orientation | None:
    """Parse the report of ``tesseract IMAGE stdout --psm 0``."""
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in stdout.splitlines())
        if value
    )
    try:
        rotate = int(fields["Rotate"]) % 360
        confidence = float(fields["Orientation confidence"])
    except (KeyError, ValueError):
        return None
    return Orientation(rotate, confidence, fields.get("Script"))


def recognize(image: Path, base: Path, langs: str, dpi: float, ctx: PageContext) -> OcrOutput:
    """One Tesseract run writing text, hOCR and a text-only PDF page at once.

    Args:
        image: The upright, deskewed page (PGM/PBM).
        base: Output path without extension; Tesseract adds .txt, .hocr and .pdf.
        langs: Checked language string, e.g. 'kaz+rus'.
        dpi: Resolution of ``image``; sets the PDF page size and Tesseract's size heuristics.
        ctx: Page context (deadline).

    Raises:
        OcrTimeout, OcrFailed, TransientError: See :func:`run_tool`; OcrFailed (or
            TransientError when the disk is full) also when an output file is missing.
    """
    args = [
        TESSERACT, str(image), str(base),
        "--dpi", str(round(dpi)),
        "--psm", "3",
        "-l", langs,
        "-c", "textonly_pdf=1",
        "-c", "page_separator=",
        "txt", "hocr", "pdf",
    ]  # fmt: skip
    run_tool(args, timeout=max(_MIN_RUN_S, ctx.remaining()), what="Tesseract")
    text_path, hocr_path, pdf_path = (base.with_suffix(s) for s in (".txt", ".hocr", ".pdf"))
    check_outputs(
        [text_path, hocr_path, pdf_path], nonempty=[hocr_path, pdf_path], what="Tesseract"
    )
    word_count, mean_confidence = hocr_word_stats(hocr_path)
    return OcrOutput(text_path, hocr_path, pdf_path, word_count, mean_confidence)


def read_words(image: Path, base: Path, langs: str, dpi: float, ctx: PageContext) -> list[Word]:
    """Words of a small image read as one block of lines (``--psm 6``, hOCR only).

    For the orientation probe: a few lines of the page, cheap to read.

    Raises:
        OcrTimeout, OcrFailed, TransientError: See :func:`run_tool` and :func:`recognize`.
    """
    args = [
        TESSERACT, str(image), str(base),
        "--dpi", str(round(dpi)),
        "--psm", "6",
        "-l", langs,
        "hocr",
    ]  # fmt: skip
    run_tool(args, timeout=max(_MIN_RUN_S, ctx.remaining()), what="Tesseract")
    hocr_path = base.with_suffix(".hocr")
    check_outputs([hocr_path], nonempty=[hocr_path], what="Tesseract")
    return hocr_words(hocr_path)


def check_outputs(paths: list[Path], nonempty: list[Path], what: str) -> None:
    """Make sure a tool really wrote its output files.

    Raises:
        TransientError: A file is missing and the disk is (nearly) full.
        OcrFailed: A file is missing or empty.
    """
    bad = [p for p in paths if not p.is_file()] + [
        p for p in nonempty if p.is_file() and p.stat().st_size == 0
    ]
    if not bad:
        return
    names = ", ".join(p.name for p in bad)
    if disk_is_low(bad[0].parent):
        raise TransientError(f"{what} could not write {names}: the disk is full.")
    raise OcrFailed(f"{what} did not produce {names}.")


def hocr_word_stats(hocr: Path) -> tuple[int, float | None]:
    """Count the words of an hOCR file and average their confidence (``x_wconf``).

    Returns:
        (word count, mean confidence 0-100 or None without words).
    """
    titles = _word_titles(hocr)
    confidences = [int(m.group(1)) for t in titles if (m := _WCONF_RE.search(t))]
    if not confidences:
        return len(titles), None
    return len(titles), sum(confidences) / len(confidences)


def hocr_words(hocr: Path) -> list[Word]:
    """The words of an hOCR file that have a box and a confidence."""
    words = []
    for title in _word_titles(hocr):
        box, conf = _BBOX_RE.search(title), _WCONF_RE.search(title)
        if box and conf:
            x0, y0, x1, y1 = (int(v) for v in box.groups())
            words.append(Word((x0, y0, x1, y1), int(conf.group(1))))
    return words


def _word_titles(hocr: Path) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        tree = etree.parse(str(hocr), parser)
    except etree.XMLSyntaxError as exc:
        raise OcrFailed(f"Tesseract wrote a broken hOCR file ({exc}).") from exc
    return tree.xpath("//*[@class='ocrx_word']/@title")
