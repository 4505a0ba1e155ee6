"""IIIF Image API 3.0, level 0, for deep zoom: a page's scan in 512-pixel tiles at every scale.

A viewer (Mirador, the Universal Viewer: OpenSeadragon inside) reads ``info.json`` (size, tile
size, scale factors) and asks only for the tiles of the part of the page on screen at the zoom
shown, so a 600 dpi newspaper page can be read to the letter without loading the whole image.

Level 0 means the server answers only the tiles and sizes its ``info.json`` lists: a tile is the
region ``x,y,w,h`` of the page at full resolution, on the grid of 512 × scale factor pixels,
scaled down by its scale factor (a power of two), and the whole page (region ``full``) at the
sizes listed, none longer than the reader's largest image (``maxWidth``/``maxHeight``; ``max``
is the largest). Anything else is refused
(:class:`NotATile`). So the tiles a page can have are a fixed, small set, each rendered once
(``pdftoppm`` renders just that region of the page PDF at that scale) and then read from
``MURA_HOME/cache/iiif/<page id>-<PDF checksum>/``: the work of a request, and the disk a
page's tiles take, are bounded whatever is asked.

Only pages with their own page PDF and resolution have the service (a failed page is shown by
its placeholder, a static image).
"""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_app.extensions import db
from repo_app.models import Page, StoredFile
from repo_app.services import files, reader

IMAGE_CONTEXT = "http://iiif.io/api/image/3/context.json"
#: Width and height of a tile in the pixels it is sent in.
TILE = 512
#: Longest side of a whole-page image (region ``full``): the reader's largest image.
MAX_FULL = reader.MAX_WIDTH
#: Largest scale factor accepted (a page 2^15 × 512 pixels wide fits in one tile at it).
MAX_SCALE_FACTOR = 2**15
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


def whole_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes the whole page is sent in, smallest first, the last one ``max``.

    The page at each scale factor whose image is no longer than :data:`MAX_FULL`, and the page
    scaled to fit :data:`MAX_FULL` (the ``max`` of ``maxWidth``/``maxHeight``), which is the
    page itself when it is no larger.
    """
    sizes = {
        (math.ceil(width / f), math.ceil(height / f))
        for f in scale_factors(width, height)
        if max(math.ceil(width / f), math.ceil(height / f)) <= MAX_FULL
    }
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


def _size(size: str, w: int, h: int):  # noqa: ANN202
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


def tile_path(page: Page, tile: Tile) -> Path:
    """The tile's JPEG, rendered once from the page PDF and then read from the cache.

    Raises:
        reader.RenderError: When the tile cannot be rendered.
    """
    stored = db.session.get(StoredFile, page.pdf_file_id)
    if stored is None:
        raise reader.RenderError(f"page {page.id}: its PDF is not in the database")
    folder = reader.cache_root() / "iiif" / f"{page.id}-{stored.sha256[:16]}"
    target = folder / tile.name
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    x, y, _w, _h = tile.region
    out_w, out_h = tile.size
    if tile.full:
        geometry = ["-scale-to-x", str(out_w), "-scale-to-y", str(out_h)]
    else:
        dpi = page.dpi / tile.scale
        geometry = ["-r", f"{dpi:.6f}", "-x", str(x // tile.scale), "-y", str(y // tile.scale)]
        geometry += ["-W", str(out_w), "-H", str(out_h)]
    _render(files.local_path(stored), geometry, target)
    return target


def _render(pdf: Path, geometry: list[str], target: Path) -> None:
    """``pdftoppm`` page 1 of ``pdf`` with ``geometry`` to a JPEG at ``target`` (atomically)."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".render-") as scratch:
        prefix = Path(scratch) / "out"
        command = [
            "pdftoppm", "-f", "1", "-l", "1", *geometry,
            "-jpeg", "-jpegopt", f"quality={reader.JPEG_QUALITY}",
            "-singlefile", str(pdf), str(prefix),
        ]  # fmt: skip
        try:
            subprocess.run(
                command, check=True, capture_output=True, timeout=reader.RENDER_TIMEOUT_S
            )
        except FileNotFoundError as exc:
            raise reader.RenderError("pdftoppm is not installed (Debian: poppler-utils)") from exc
        except subprocess.TimeoutExpired as exc:
            raise reader.RenderError(
                f"pdftoppm took longer than {reader.RENDER_TIMEOUT_S} s"
            ) from exc
        except subprocess.CalledProcessError as exc:
            raise reader.RenderError(f"pdftoppm failed: {exc.stderr[:300]!r}") from exc
        produced = prefix.with_suffix(".jpg")
        if not produced.exists() or produced.stat().st_size == 0:
            raise reader.RenderError("pdftoppm wrote no image")
        produced.replace(target)
