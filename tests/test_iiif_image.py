"""IIIF Image API 3.0 level 0 (issue 15, item 4): deep zoom tiles of published pages.

The manifest's images carry an ``ImageService3``; its ``info.json`` lists 512-pixel tiles and
scale factors; a tile is the page's region at that scale (checked against the reader's own
full-resolution image, pixel by pixel on average); anything off the grid is refused with a
translated reason, and nothing is served for what the public may not read.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageChops, ImageStat

from mura.app.extensions import db
from mura.app.modules.discovery import iiif_image, reader
from tests.discovery_helpers import Library


@pytest.fixture
def client(library: Library) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


def _path(url: str) -> str:
    return urlsplit(url).path


def _service(client: FlaskClient, library: Library) -> tuple[dict, dict]:
    manifest = client.get(f"/iiif/{library.book_id}/manifest").get_json()
    canvas = manifest["items"][0]
    body = canvas["items"][0]["items"][0]["body"]
    (service,) = body["service"]
    assert service["type"] == "ImageService3" and service["profile"] == "level0"
    return canvas, service


def test_info_json_describes_the_canvas_in_tiles(library: Library, client: FlaskClient) -> None:
    canvas, service = _service(client, library)
    response = client.get(_path(service["id"]))
    assert response.status_code == 303 and response.headers["Location"].endswith("/info.json")
    answer = client.get(_path(service["id"]) + "/info.json")
    assert answer.headers["Content-Type"].startswith("application/ld+json")
    info = answer.get_json()
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == service["id"] and info["type"] == "ImageService3"
    assert info["protocol"] == "http://iiif.io/api/image" and info["profile"] == "level0"
    assert (info["width"], info["height"]) == (canvas["width"], canvas["height"])  # word boxes
    (tiles,) = info["tiles"]
    assert tiles["width"] == 512 and tiles["scaleFactors"][0] == 1
    assert math.ceil(max(info["width"], info["height"]) / tiles["scaleFactors"][-1]) <= 512
    assert info["sizes"] and all(s["width"] <= info["width"] for s in info["sizes"])


def _jpeg(client: FlaskClient, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.data[:200])
    assert response.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(response.data))
    image.load()
    response.close()
    return image


def test_tiles_are_regions_of_the_page_at_their_scale(
    library: Library, client: FlaskClient
) -> None:
    canvas, service = _service(client, library)
    base = _path(service["id"])
    width, height = canvas["width"], canvas["height"]
    # The reader's own image at full resolution (this page is 1748 px wide, under 2600).
    full = _jpeg(client, f"/read/{library.book_id}/1/image/{width}.jpg").convert("L")
    assert full.size == (width, height)
    # Full resolution, second column, second row: OpenSeadragon's request for it.
    tile = _jpeg(client, f"{base}/512,512,512,512/512,512/0/default.jpg").convert("L")
    assert tile.size == (512, 512)
    expected = full.crop((512, 512, 1024, 1024))
    assert ImageStat.Stat(ImageChops.difference(tile, expected)).mean[0] < 8
    # The last column is narrower; at scale factor 2 a tile covers 1024 page pixels.
    x = 1536
    edge = _jpeg(client, f"{base}/{x},0,{width - x},512/{width - x},512/0/default.jpg")
    assert edge.size == (width - x, 512)
    half = _jpeg(client, f"{base}/0,1024,1024,1024/512,/0/default.jpg")
    assert half.size == (512, 512)
    expected = full.crop((0, 1024, 1024, 2048)).resize((512, 512))
    assert ImageStat.Stat(ImageChops.difference(half.convert("L"), expected)).mean[0] < 10
    # The whole page at a listed size, and "max" (this page is no longer than 2600 px).
    small = _jpeg(
        client, f"{base}/full/{math.ceil(width / 8)},{math.ceil(height / 8)}/0/default.jpg"
    )
    assert small.size == (math.ceil(width / 8), math.ceil(height / 8))
    assert _jpeg(client, f"{base}/full/max/0/default.jpg").size == (width, height)
    # A tile is rendered once: the second request reads the cache. The first tile asked at a
    # scale made every tile of that scale (one rendering of the page, cut).
    assert _jpeg(client, f"{base}/512,512,512,512/512,512/0/default.jpg").size == (512, 512)
    (folder,) = (reader.cache_root() / "iiif").glob("1-*")
    made = {path.name for path in folder.glob("*.jpg")}
    level = {tile.name for tile in iiif_image.level_tiles(width, height, 1)}
    assert len(level) == 4 * 5 and level <= made


def test_colour_pages_keep_their_colour(tmp_path: Path) -> None:
    """A colour scan (red words on white) is cut from a colour rendering (PPM), not a gray one."""
    from tests.conftest import make_app
    from tests.test_reader_tiles import publish_big_page

    app = make_app(tmp_path / "home", DEFAULT_ACCESS="public_domain")
    document_id = publish_big_page(app, tmp_path, mode="RGB")
    with app.app_context():
        client = app.test_client()
        # The top left tile at full resolution holds the start of the first red word.
        tile = _jpeg(client, f"/iiif/image/{document_id}/1/0,0,512,512/512,512/0/default.jpg")
        assert tile.mode == "RGB"
        red = sum(1 for r, g, b in tile.getdata() if r > 180 and g < 90 and b < 90)
        assert red > 500, red


@pytest.mark.parametrize(
    "path",
    [
        "100,100,512,512/512,512/0/default.jpg",  # off the grid
        "0,0,512,512/256,256/0/default.jpg",  # a size no scale factor gives
        "0,0,512,512/512,512/90/default.jpg",  # rotation
        "0,0,512,512/512,512/0/gray.jpg",  # quality
        "0,0,512,512/512,512/0/default.png",  # format
        "full/300,/0/default.jpg",  # a size not listed
        "0,0,99999999,1/1,1/0/default.jpg",  # nonsense
        "square/max/0/default.jpg",
    ],
)
def test_anything_but_a_tile_is_refused_with_a_reason(
    library: Library, client: FlaskClient, path: str
) -> None:
    _canvas, service = _service(client, library)
    answer = client.get(f"{_path(service['id'])}/{path}", headers={"Accept-Language": "ru"})
    assert answer.status_code == 400
    assert "info.json" in answer.get_data(as_text=True)
    assert "только" in answer.get_data(as_text=True)  # in the reader's language


def test_no_service_for_what_the_public_may_not_read(library: Library, client: FlaskClient) -> None:
    assert client.get(f"/iiif/image/{library.book_id}/9/info.json").status_code == 404
    assert client.get("/iiif/image/999/1/info.json").status_code == 404
    assert iiif_image.scale_factors(512, 300) == [1]
    assert iiif_image.scale_factors(10_000, 14_000) == [1, 2, 4, 8, 16, 32]


def test_a_600_dpi_newspaper_page_is_never_sent_whole_at_full_size() -> None:
    """An A2 page at 600 dpi (9921 × 14031 px): tiles at full resolution, whole page ≤ 2600 px."""
    from mura.app.models import Page

    page = Page(pdf_file_id=1, width_pt=1190.55, height_pt=1683.72, dpi=600.0)
    width, height = 9921, 14031
    info = iiif_image.info("http://localhost/iiif/image/1/1", page)
    assert (info["width"], info["height"]) == (width, height)
    assert info["tiles"][0]["scaleFactors"] == [1, 2, 4, 8, 16, 32]
    assert all(max(s["width"], s["height"]) <= 2600 for s in info["sizes"])
    biggest = info["sizes"][-1]
    assert biggest["height"] == 2600
    whole = iiif_image.parse(page, "full", "max", "0", "default.jpg")
    assert whole.full and whole.size == (biggest["width"], biggest["height"])
    with pytest.raises(iiif_image.NotATile):
        iiif_image.parse(page, "full", f"{width},{height}", "0", "default.jpg")
    corner = iiif_image.parse(page, "9728,13824,193,207", "193,207", "0", "default.jpg")
    assert corner.scale == 1 and corner.size == (193, 207)
    eighth = iiif_image.parse(page, "8192,12288,1729,1743", "217,", "0", "default.jpg")
    assert eighth.scale == 8 and eighth.size == (217, 218)


def _status(client: FlaskClient, url: str) -> int:
    response = client.get(url)
    response.close()
    return response.status_code


def test_only_tile_requests_that_render_count_against_the_render_limit(tmp_path: Path) -> None:
    """Each scale of a page is rendered once (up to seconds of CPU): those requests are limited
    per client address; tiles already made are not counted."""
    from tests.conftest import make_app
    from tests.test_reader_tiles import publish_big_page

    app = make_app(
        tmp_path / "home", DEFAULT_ACCESS="public_domain", IIIF_RENDER_RATE_LIMIT="2 per minute"
    )
    document_id = publish_big_page(app, tmp_path)
    base = f"/iiif/image/{document_id}/1"
    with app.app_context():
        client = app.test_client()
        assert _status(client, f"{base}/0,0,512,512/512,512/0/default.jpg") == 200
        for x in range(512, 4000, 512):  # the same scale: made already, not counted
            w = min(512, 4000 - x)
            assert _status(client, f"{base}/{x},0,{w},512/{w},512/0/default.jpg") == 200
        assert _status(client, f"{base}/0,0,1024,1024/512,512/0/default.jpg") == 200
        # A third scale rendered within the minute is refused.
        assert _status(client, f"{base}/0,0,2048,2048/512,512/0/default.jpg") == 429
