"""Thumbnails on the public lists, collection covers, search within a collection (issue 16).

The published library (tests/discovery_helpers.py) is public; a test that needs a document the
public may not read changes its access for the test and puts it back.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.models import Document
from mura.app.modules.discovery import iiif_image
from tests.discovery_helpers import Library

IMG_RE = re.compile(
    r'<a href="([^"]*)" class="thumb"[^>]*><img src="([^"]+)" width="(\d+)" height="(\d+)"'
    r' loading="lazy"[^>]*alt="([^"]+)"'
)


@pytest.fixture
def client(library: Library) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


@pytest.fixture
def reading_room_book(library: Library) -> Iterator[int]:
    """The book, listed for its description only while the test runs."""
    with library.app.app_context():
        document = db.session.get(Document, library.book_id)
        document.access = "reading_room"
        db.session.commit()
    try:
        yield library.book_id
    finally:
        with library.app.app_context():
            db.session.get(Document, library.book_id).access = "online"
            db.session.commit()


def thumbs(html: str) -> dict[int, tuple[str, str, int, int, str]]:
    """The thumbnails of a page by document id: (link, src, width, height, alt)."""
    found = {}
    for href, src, width, height, alt in IMG_RE.findall(html):
        document_id = int(re.search(r"/iiif/image/(\d+)/", src).group(1))
        found[document_id] = (href, src, int(width), int(height), alt)
    return found


def test_thumbnails_on_the_home_page_are_sized_and_served_with_an_etag(
    library: Library, client: FlaskClient
) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    found = thumbs(html)
    assert set(found) == {library.book_id, library.article_id}
    href, src, width, height, alt = found[library.book_id]
    assert src.startswith(f"/iiif/image/{library.book_id}/1/full/") and src.endswith(
        "/0/default.jpg"
    )
    assert max(width, height) == iiif_image.THUMB and alt.startswith("Page 1 of")
    response = client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(response.data)).size == (width, height)  # no layout shift
    response.close()
    etag = response.headers["ETag"]
    assert "public" in response.headers["Cache-Control"]
    again = client.get(src, headers={"If-None-Match": etag})
    again.close()
    assert again.status_code == 304
    # The size is one the image service lists.
    info = client.get(f"/iiif/image/{library.book_id}/1/info.json").get_json()
    assert {"width": width, "height": height} in info["sizes"]


def test_a_thumbnail_is_not_a_render_of_the_tile_bucket(library: Library) -> None:
    # 20 tiles a minute would leave a search page with broken images: thumbnails do not count.
    app = library.app
    limit = app.config["IIIF_RENDER_RATE_LIMIT"]
    app.config["IIIF_RENDER_RATE_LIMIT"] = "1 per minute"
    try:
        with app.app_context():
            client = app.test_client()
            html = client.get("/recent?lang=en").get_data(as_text=True)
            found = thumbs(html).values()
            srcs = [src for _h, src, *_ in found]
            assert len(srcs) == 2
            for _h, _src, width, height, _alt in found:  # both are rendered by this test
                for made in (library.home / "cache" / "iiif").glob(f"*/*_{width},{height}.jpg"):
                    made.unlink()
            for src in srcs:
                response = client.get(src, environ_base={"REMOTE_ADDR": "10.9.9.9"})
                response.close()
                assert response.status_code == 200
            db.session.remove()
    finally:
        app.config["IIIF_RENDER_RATE_LIMIT"] = limit


def test_search_results_show_the_hit_page_and_author_year_type(
    library: Library, client: FlaskClient
) -> None:
    html = client.get("/search", query_string={"q": "кітапхана", "lang": "en"}).get_data(
        as_text=True
    )
    found = thumbs(html)
    assert set(found) == {library.book_id, library.article_id}
    href, src, *_ = found[library.book_id]
    seq = int(re.search(r"/iiif/image/\d+/(\d+)/", src).group(1))
    assert href.startswith(f"/read/{library.book_id}/{seq}")
    metas = re.findall(r'<span class="meta doc-meta">([^<]*)</span>', html)
    assert "Book, 2023 · Әлімжанов С." in metas
    assert any(m.startswith("Newspaper article") and "Сейітов, Бауыржан" in m for m in metas)


def test_no_thumbnail_of_a_document_the_public_may_not_read(
    library: Library, client: FlaskClient, reading_room_book: int
) -> None:
    for url in ("/?lang=en", "/recent?lang=en", f"/collections/{library.collection_slug}?lang=en"):
        html = client.get(url).get_data(as_text=True)
        assert "Қарағанды кітапханалары" in html  # the description stays listed
        assert reading_room_book not in thumbs(html), url
        assert f"/iiif/image/{reading_room_book}/" not in html
    # ... and its image is not served (the view decides too, not only the list).
    size = "160,226"
    assert (
        client.get(f"/iiif/image/{reading_room_book}/1/full/{size}/0/default.jpg").status_code
        == 404
    )


def test_collection_page_has_a_cover_thumbnails_and_a_search_box(
    library: Library, client: FlaskClient
) -> None:
    html = client.get(f"/collections/{library.collection_slug}?lang=en").get_data(as_text=True)
    cover = re.search(r'id="collection-cover" src="([^"]+)"', html).group(1)
    assert cover.startswith(f"/iiif/image/{library.book_id}/1/full/")  # the first document's page
    assert set(thumbs(html)) == {library.book_id, library.article_id}
    form = re.search(r'<form class="search in-collection".*?</form>', html, re.S).group()
    assert 'action="/search"' in form
    assert f'name="collection" value="{library.collection_slug}"' in form
    listing = client.get("/collections?lang=en").get_data(as_text=True)
    assert cover in listing


def test_search_within_a_collection_keeps_to_it(library: Library, client: FlaskClient) -> None:
    args = {"q": "кітапхана", "collection": library.collection_slug, "lang": "en"}
    html = client.get("/search", query_string=args).get_data(as_text=True)
    assert len(re.findall(r'class="hit-title"', html)) == 2
    args["collection"] = "no-such-collection"
    html = client.get("/search", query_string=args).get_data(as_text=True)
    assert 'class="hit-title"' not in html
