"""IIIF Image API 3.0, level 0, for deep zoom: a page's scan in 512-pixel tiles at every scale.

A viewer (Mirador, the Universal Viewer: OpenSeadragon inside) reads ``info.json`` (size, tile
size, scale factors) and asks only for the tiles of the part of the page on screen at the zoom
shown, so a 600 dpi newspaper page can be read to the letter without loading the whole image.

Level 0 means the server answers only the tiles and sizes its ``info.json`` lists: a tile is the
region ``x,y,w,h`` of the page at full resolution, on the grid of 512 × scale factor pixels,
scaled down by its scale factor (a power of two), and the whole page (region ``full``) at the
sizes listed, none longer than the reader's largest image (``maxWidth``/``maxHeight``; ``max``
is the largest). Anything else is refused
(:class:`NotATile`). So the tiles a page can have are a fixed, small set: the first tile asked
at a scale makes all the tiles of that scale (one ``pdftoppm`` rendering of the page, cut into
tiles), which are then read from ``MURA_HOME/cache/iiif/<page id>-<PDF checksum>/``: the work
of a request, and the disk a page's tiles take, are bounded whatever is asked.

Only pages with their own page PDF and resolution have the service (a failed page is shown by
its placeholder, a static image).
"""

from __future__ import annotations

import fcntl
import math
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import Page, StoredFile
from mura.app.modules.discovery import reader

IMAGE_CONTEXT = "http://iiif.io/api/image/3/context.json"
#: Width and height of a tile in the pixels it is sent in.
TILE = 512
#: Longest side of a whole-page image (region ``full``): the reader's largest image.
MAX_FULL = reader.MAX_WIDTH
#: Longest side of a thumbnail (search results, recent documents, collections): the page
#: scaled to fit a square of this size is one of the whole-page sizes of every service.
THUMB = 160
#: Largest scale factor accepted (a page 2^15 × 512 pixels wide fits in one tile at it).
MAX_SCALE_FACTOR = 2**15
#: One level of one page is rendered at a time in a process (its image may be 400 MB on disk).
_LEVEL_LOCK = threading.Lock()
_REGION_RE = re.compile(r"^(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})$")
_SIZE_RE = re.compile(r"^(\d{1,6})?,(\d{1,6})?$")


class NotATile(ValueError):
    """A request for a region, size, rotation, quality or format this level 0 service lacks."""


@dataclass(frozen=True)
class Tile:
    """One image the service answers: a region of the page and the size it is sent in.

    Attributes:
        region: ``(x, y, w, h)`` in pixels of the page at full resolution.
        size: ``(w, h)`` of the image sent.
        scale: The scale factor (region pixels per image pixel), a power of two.
        full: Whether the region is the whole page.
    """

    region: tuple[int, int, int, int]
    size: tuple[int, int]
    scale: int
    full: bool

    @property
    def name(self) -> str:
        """The tile's file name in the cache."""
        x, y, w, h = self.region
        return f"{x},{y},{w},{h}_{self.size[0]},{self.size[1]}.jpg"


def has_service(page: Page) -> bool:
    """Whether the page has an image service (its own page PDF and its resolution)."""
    return bool(page.pdf_file_id and page.width_pt and page.height_pt and page.dpi)


def scale_factors(width: int, height: int) -> list[int]:
    """1, 2, 4, ... up to the first at which the whole page fits in one tile."""
    factors = [1]
    while max(width, height) / factors[-1] > TILE:
        factors.append(factors[-1] * 2)
    return factors


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The size of the page's thumbnail: the page scaled to fit :data:`THUMB` × :data:`THUMB`.

    A level 0 service cannot scale to ``!160,160``; listing this size in ``sizes`` lets the
    public site (and any viewer) ask for it as ``full/w,h``.
    """
    scale = min(1.0, THUMB / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def whole_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes the whole page is sent in, smallest first, the last one ``max``.

    The page at each scale factor whose image is no longer than :data:`MAX_FULL`, the
    thumbnail (:func:`thumbnail_size`), and the page scaled to fit :data:`MAX_FULL` (the
    ``max`` of ``maxWidth``/``maxHeight``), which is the page itself when it is no larger.
    """
    sizes = {
        (math.ceil(width / f), math.ceil(height / f))
        for f in scale_factors(width, height)
        if max(math.ceil(width / f), math.ceil(height / f)) <= MAX_FULL
    }
    sizes.add(thumbnail_size(width, height))
    scale = min(1.0, MAX_FULL / max(width, height))
    sizes.add((max(1, round(width * scale)), max(1, round(height * scale))))
    return sorted(sizes)


def info(service_id: str, page: Page) -> dict[str, Any]:
    """The ``info.json`` of the page's image service (Image API 3.0, level 0)."""
    width, height = reader.page_size_px(page)
    return {
        "@context": IMAGE_CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": width,
        "height": height,
        "maxWidth": MAX_FULL,
        "maxHeight": MAX_FULL,
        "tiles": [{"width": TILE, "height": TILE, "scaleFactors": scale_factors(width, height)}],
        "sizes": [{"width": w, "height": h} for w, h in whole_sizes(width, height)],
    }


def parse(page: Page, region: str, size: str, rotation: str, quality: str) -> Tile:
    """The tile a request's path asks for.

    Args:
        page: The page (with :func:`has_service`).
        region: ``full`` or ``x,y,w,h``.
        size: ``max``, ``w,h``, ``w,`` or ``,h``.
        rotation: ``0`` only.
        quality: ``default.jpg`` only (quality and format).

    Raises:
        NotATile: For anything that is not one of the service's tiles or sizes.
    """
    if rotation != "0" or quality != "default.jpg":
        raise NotATile("rotation 0, quality default, format jpg only")
    width, height = reader.page_size_px(page)
    if region == "full":
        x, y, w, h = 0, 0, width, height
    else:
        match = _REGION_RE.match(region)
        if not match:
            raise NotATile(f"region {region!r}")
        x, y, w, h = (int(v) for v in match.groups())
    if (x, y, w, h) == (0, 0, width, height):
        sizes = whole_sizes(width, height)
        wanted = _size(size, *sizes[-1])
        for out in sizes:
            if wanted(*out):
                return Tile((x, y, w, h), out, max(1, round(width / out[0])), True)
        raise NotATile(f"full/{size} is not a size of this image")
    wanted = _size(size, w, h)
    factor = 1
    while factor <= MAX_SCALE_FACTOR:
        out = (math.ceil(w / factor), math.ceil(h / factor))
        if _is_tile(x, y, w, h, width, height, factor) and wanted(*out):
            return Tile((x, y, w, h), out, factor, False)
        factor *= 2
    raise NotATile(f"{region}/{size} is not a tile of this image")


def _size(size: str, w: int, h: int):
    """A predicate on a tile's (width, height): whether it is the size asked for.

    ``max`` is ``(w, h)``: the region at full resolution for a tile, the largest whole size
    for the whole page.
    """
    if size == "max":
        return lambda tw, th: (tw, th) == (w, h)
    match = _SIZE_RE.match(size)
    if not match or match.groups() == (None, None):
        raise NotATile(f"size {size!r}")
    sw, sh = (int(v) if v is not None else None for v in match.groups())
    return lambda tw, th: (sw is None or sw == tw) and (sh is None or sh == th)


def _is_tile(x: int, y: int, w: int, h: int, width: int, height: int, factor: int) -> bool:
    """Whether the region is a tile of the grid at ``factor`` (not the whole page)."""
    step = TILE * factor
    return (
        x % step == 0
        and y % step == 0
        and x < width
        and y < height
        and w == min(step, width - x)
        and h == min(step, height - y)
    )


def cached_tile(page: Page, tile: Tile) -> Path | None:
    """The tile's JPEG if it was made already (then sending it costs nothing), else None."""
    target = _folder(page) / tile.name
    return target if target.exists() else None


def _folder(page: Page) -> Path:
    stored = db.session.get(StoredFile, page.pdf_file_id)
    if stored is None:
        raise reader.RenderError(f"page {page.id}: its PDF is not in the database")
    return reader.cache_root() / "iiif" / f"{page.id}-{stored.sha256[:16]}"


def tile_path(page: Page, tile: Tile) -> Path:
    """The tile's JPEG, rendered once from the page PDF and then read from the cache.

    Raises:
        reader.RenderError: When the tile cannot be rendered.
    """
    folder = _folder(page)
    target = folder / tile.name
    if target.exists():
        return target
    stored = db.session.get(StoredFile, page.pdf_file_id)
    folder.mkdir(parents=True, exist_ok=True)
    pdf = files.local_path(stored)
    if tile.full:
        out_w, out_h = tile.size
        _render(pdf, ["-scale-to-x", str(out_w), "-scale-to-y", str(out_h), "-jpeg"], target)
    else:
        _render_level(page, pdf, folder, tile.scale)
    if not target.exists():
        raise reader.RenderError(f"tile {tile.name} was not made")
    return target


def level_tiles(width: int, height: int, scale: int) -> Iterator[Tile]:
    """Every tile of the grid at ``scale`` of a page ``width`` x ``height``, row by row."""
    step = TILE * scale
    for y in range(0, height, step):
        for x in range(0, width, step):
            w, h = min(step, width - x), min(step, height - y)
            yield Tile((x, y, w, h), (math.ceil(w / scale), math.ceil(h / scale)), scale, False)


def _render_level(page: Page, pdf: Path, folder: Path, scale: int) -> None:
    """Make every tile of the page at ``scale`` at once: one ``pdftoppm`` run, then cut.

    Rendering one tile costs as much as rendering the whole page at that scale (``pdftoppm``
    decodes the whole scan for any part of it: 2.5 s of CPU for one 512-pixel tile of a 600 dpi
    A2 page, 1.9 s for the whole page), so the first tile asked of a level makes them all. The
    rendering (a PGM/PPM file) is read one row of tiles at a time, never whole, and one level is
    made at a time in a process (:data:`_LEVEL_LOCK`; a file lock between processes), so
    memory and disk stay bounded whatever is asked at once.
    """
    done = folder / f".level-{scale}"
    if done.exists():
        return
    with _LEVEL_LOCK, open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return
        with tempfile.TemporaryDirectory(dir=folder, prefix=".level-") as scratch:
            prefix = Path(scratch) / "page"
            gray = ["-gray"] if _is_gray(pdf) else []
            _pdftoppm(["-r", f"{page.dpi / scale:.6f}", *gray, str(pdf), str(prefix)])
            rendered = prefix.with_suffix(".pgm" if gray else ".ppm")
            width, height = reader.page_size_px(page)
            rows: dict[int, list[Tile]] = {}
            for tile in level_tiles(width, height, scale):
                rows.setdefault(tile.region[1], []).append(tile)
            with open(rendered, "rb") as handle:
                mode, size = _pnm_header(handle)
                row_bytes = size[0] * len(mode)
                for top, tiles in sorted(rows.items()):
                    count = max(0, min(TILE, size[1] - top // scale))
                    strip = Image.frombytes(mode, (size[0], count), handle.read(count * row_bytes))
                    for tile in tiles:
                        _save_tile(strip, tile, folder / tile.name, Path(scratch))
        done.touch()


def _is_gray(pdf: Path) -> bool:
    """Whether every image of the page PDF is grayscale (then it is rendered in gray)."""
    try:
        listing = subprocess.run(
            ["pdfimages", "-f", "1", "-l", "1", "-list", str(pdf)],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    colours = [line.split()[5] for line in listing.splitlines()[2:] if len(line.split()) > 5]
    return bool(colours) and all(colour == "gray" for colour in colours)


def _pnm_header(handle: BinaryIO) -> tuple[str, tuple[int, int]]:
    """Read a binary PGM (P5) or PPM (P6) header: the image mode and size; the pixels follow."""
    header = handle.read(64)
    match = re.match(rb"P([56])\s+(\d+)\s+(\d+)\s+255\s", header)
    if not match:
        raise reader.RenderError("pdftoppm wrote no PGM/PPM image")
    handle.seek(match.end())
    return ("L" if match.group(1) == b"5" else "RGB"), (int(match.group(2)), int(match.group(3)))


def region_size(box: tuple[int, int, int, int]) -> tuple[int, int]:
    """The size a region is sent in (``max``): itself, or scaled to fit :data:`MAX_FULL`."""
    _x, _y, w, h = box
    scale = min(1.0, MAX_FULL / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def region_path(page: Page, box: tuple[int, int, int, int]) -> Path:
    """One region of the page (``max`` size) as a JPEG, rendered once, then read from the cache.

    Only for the regions articles were clipped from (the view checks): a fixed, small set per
    page, so the work and the disk a page's regions take stay bounded like its tiles.

    Raises:
        reader.RenderError: When the region cannot be rendered.
    """
    folder = _folder(page)
    x, y, w, h = box
    out_w, out_h = region_size(box)
    target = folder / f"region-{x},{y},{w},{h}_{out_w},{out_h}.jpg"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    scale = out_w / w
    options = [
        "-r", f"{page.dpi * scale:.4f}", "-x", str(round(x * scale)), "-y", str(round(y * scale)),
        "-W", str(out_w), "-H", str(out_h), "-jpeg",
    ]  # fmt: skip
    _render(files.local_path(db.session.get(StoredFile, page.pdf_file_id)), options, target)
    return target


def _save_tile(strip: Image.Image, tile: Tile, target: Path, scratch: Path) -> None:
    """Cut ``tile`` out of its row's strip and write it as a JPEG (white past an edge)."""
    left = tile.region[0] // tile.scale
    box = (left, 0, left + tile.size[0], tile.size[1])
    if box[2] <= strip.width and box[3] <= strip.height:
        part = strip.crop(box)
    else:  # the rendering is a pixel short of the page's size
        part = Image.new(strip.mode, tile.size, "white")
        part.paste(strip.crop((left, 0, min(box[2], strip.width), min(box[3], strip.height))))
    scratch_file = scratch / tile.name
    part.save(scratch_file, "JPEG", quality=reader.JPEG_QUALITY)
    scratch_file.replace(target)


def _render(pdf: Path, options: list[str], target: Path) -> None:
    """``pdftoppm`` page 1 of ``pdf`` with ``options`` to the JPEG ``target`` (atomically)."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".render-") as scratch:
        prefix = Path(scratch) / "out"
        _pdftoppm([*options, "-jpegopt", f"quality={reader.JPEG_QUALITY}", str(pdf), str(prefix)])
        produced = prefix.with_suffix(".jpg")
        if not produced.exists() or produced.stat().st_size == 0:
            raise reader.RenderError("pdftoppm wrote no image")
        produced.replace(target)


def _pdftoppm(arguments: list[str]) -> None:
    """Run ``pdftoppm`` on page 1 (one output file, ``-singlefile``).

    Raises:
        reader.RenderError: When pdftoppm is missing, fails or is too slow.
    """
    command = ["pdftoppm", "-f", "1", "-l", "1", "-singlefile", *arguments]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=reader.RENDER_TIMEOUT_S)
    except FileNotFoundError as exc:
        raise reader.RenderError("pdftoppm is not installed (Debian: poppler-utils)") from exc
    except subprocess.TimeoutExpired as exc:
        raise reader.RenderError(f"pdftoppm took longer than {reader.RENDER_TIMEOUT_S} s") from exc
    except subprocess.CalledProcessError as exc:
        raise reader.RenderError(f"pdftoppm failed: {exc.stderr[:300]!r}") from exc
