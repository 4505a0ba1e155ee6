"""Mura in a real IIIF viewer, from another site: Mirador 4 in Debian's Chromium.

Mura (``mura serve`` on the session's published library, tests/discovery_helpers.py) runs on one
localhost port; a page on another port (another origin) loads Mirador from the npm package
(``tests/e2e/viewers``, installed by ``./run test`` with ``npm ci``; served from this test, never
fetched at test time) with the book's manifest. The test opens Mirador's search panel, searches
a word (proposed by Mura's autocomplete as it is typed), and checks that Mirador lists the hits
(read from Mura's Content Search 1.0 answer) and draws the selected hit on the page; another
zooms into a page and checks that Mirador takes full-resolution tiles from Mura's IIIF Image
API (only those on screen). A third sends real cross-origin ``fetch()`` calls from that page,
with the ``Accept`` header the IIIF specifications recommend (so Chromium sends a preflight
first), to the manifest, search, the Dublin Core JSON, the PDF, OAI-PMH and a 404.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.discovery_helpers import LIBRARY_CONFIG, Library
from tests.e2e.conftest import free_port, mura_env, mura_serve

QUERY = "кітапхана"
VIEWERS = Path(__file__).resolve().parent / "viewers"
MIRADOR_JS = VIEWERS / "node_modules" / "mirador" / "dist" / "mirador.min.js"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

VIEWER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mirador</title>
<style>html, body { margin: 0; height: 100%%; } #viewer { position: absolute; inset: 0; }</style>
</head><body><div id="viewer"></div>
<script src="mirador.min.js"></script>
<script>
window.miradorViewer = Mirador.viewer({
  id: "viewer",
  windows: [{ manifestId: %s }],
  window: { sideBarOpen: true, allowClose: false },
  workspaceControlPanel: { enabled: false },
});
</script></body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(library: Library) -> Iterator[str]:
    env = mura_env(library.home, **{key: str(value) for key, value in LIBRARY_CONFIG.items()})
    with mura_serve(env, "--no-worker") as url:
        yield url


@pytest.fixture(scope="module")
def viewer_site(
    server: str, library: Library, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Another origin: a static site on its own port with Mirador and a page showing the book."""
    if not MIRADOR_JS.exists():
        pytest.fail(f"{MIRADOR_JS} is missing: run `npm ci` in {VIEWERS} (./run test does)")
    root = tmp_path_factory.mktemp("viewer-site")
    (root / "mirador.min.js").symlink_to(MIRADOR_JS)
    manifest = f"{server}/iiif/{library.book_id}/manifest"
    (root / "index.html").write_text(VIEWER_PAGE % json.dumps(manifest), encoding="utf-8")
    (root / "blank.html").write_text("<!doctype html><title>other site</title>", encoding="utf-8")
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_Quiet, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


#: The pixels of Mirador's annotation overlay canvas drawn in the selected hit's yellow: how
#: many, and their bounding box in canvas pixels.
HIGHLIGHT_PIXELS = """() => {
  const found = { count: 0, left: 1e9, top: 1e9, right: -1, bottom: -1 };
  for (const canvas of document.querySelectorAll('.openseadragon-canvas canvas')) {
    let data;
    try { data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data; }
    catch (e) { continue; }  // a layer the browser will not let the page read
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a === 0 || !(r > 150 && g > 150 && b < 100)) continue;
      const x = (i / 4) % canvas.width, y = Math.floor(i / 4 / canvas.width);
      found.count++;
      found.left = Math.min(found.left, x); found.right = Math.max(found.right, x);
      found.top = Math.min(found.top, y); found.bottom = Math.max(found.bottom, y);
    }
  }
  return found;
}"""


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_mirador_searches_a_mura_document_and_highlights_the_hit(
    viewer_site: str,
    server: str,
    library: Library,
    browser,
    tmp_path: Path,
) -> None:
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{viewer_site}/index.html")
    # The manifest loaded (cross-origin): its label is the window's title.
    page.get_by_text("Қарағанды кітапханалары").first.wait_for(timeout=60_000)
    # The search panel is offered because the manifest declares a Search 1 service.
    page.get_by_role("tab", name="Search").click()
    box = page.get_by_role("combobox", name="search terms")
    # Typing a prefix brings words of the document from Mura's autocomplete (1.0).
    box.press_sequentially("кітап", delay=50)
    page.get_by_role("option", name=QUERY, exact=True).wait_for(timeout=30_000)
    box.fill(QUERY)
    box.press("Enter")
    # Mirador counts the hits of Mura's 1.0 answer ("1 of N") and lists the first one.
    answer = _json(f"{server}/iiif/{library.book_id}/search1?q={quote(QUERY)}")
    total = len(answer["hits"])
    assert total >= 2
    page.get_by_text(f"1 of {total}").wait_for(timeout=30_000)
    first = answer["hits"][0]
    page.locator("li", has_text=first["match"]).first.wait_for()
    # ... and draws the selected hit on the page (yellow, Mirador's selected-hit colour), in
    # the shape of the word's box.
    page.wait_for_function(f"() => ({HIGHLIGHT_PIXELS})().count > 20", timeout=30_000)
    drawn = page.evaluate(HIGHLIGHT_PIXELS)
    on = answer["resources"][0]["on"]
    _x, _y, w, h = (int(v) for v in on.rsplit("=", 1)[1].split(","))
    drawn_ratio = (drawn["right"] - drawn["left"] + 1) / (drawn["bottom"] - drawn["top"] + 1)
    assert abs(drawn_ratio / (w / h) - 1) < 0.25, (drawn, w, h)
    page.screenshot(path=str(tmp_path / "mirador-search.png"))
    assert not errors, errors
    page.close()


CROSS_ORIGIN_FETCHES = """async ({ server, book }) => {
  const profile = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"';
  const urls = {
    manifest: `${server}/iiif/${book}/manifest`,
    search1: `${server}/iiif/${book}/search1?q=` + encodeURIComponent('кітапхана'),
    search2: `${server}/iiif/${book}/search?q=` + encodeURIComponent('кітапхана'),
    dc: `${server}/api/documents/${book}/dc`,
    pdf: `${server}/documents/${book}/pdf`,
    oai: `${server}/oai?verb=Identify`,
    missing: `${server}/iiif/99999/manifest`,
  };
  const out = {};
  for (const [name, url] of Object.entries(urls)) {
    try {
      // "Accept" with this value is not a CORS-safelisted header value: a preflight goes first.
      const response = await fetch(url, { headers: { Accept: profile } });
      const body = await response.arrayBuffer();
      out[name] = { status: response.status, bytes: body.byteLength,
                    type: response.headers.get('Content-Type') };
    } catch (e) {
      out[name] = { error: String(e) };
    }
  }
  return out;
}"""


def test_cross_origin_fetch_with_preflight(
    viewer_site: str,
    server: str,
    library: Library,
    browser,
) -> None:
    page = browser.new_page()
    page.goto(f"{viewer_site}/blank.html")
    assert page.evaluate("location.origin") != server  # another origin: another port
    results = page.evaluate(CROSS_ORIGIN_FETCHES, {"server": server, "book": library.book_id})
    for name in ("manifest", "search1", "search2", "dc", "pdf", "oai"):
        assert results[name].get("status") == 200, (name, results[name])
        assert results[name]["bytes"] > 0, (name, results[name])
    assert results["pdf"]["type"] == "application/pdf"
    assert results["missing"].get("status") == 404, results["missing"]
    page.close()


def test_mirador_deep_zooms_through_the_image_api(
    viewer_site: str,
    server: str,
    library: Library,
    browser,
    tmp_path: Path,
) -> None:
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
    tiles: dict[str, int] = {}
    base = f"{server}/iiif/image/{library.book_id}/"
    page.on(
        "response",
        lambda r: tiles.__setitem__(r.url, r.status) if r.url.startswith(base) else None,
    )
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{viewer_site}/index.html")
    page.get_by_text("Қарағанды кітапханалары").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.openseadragon-canvas canvas') !== null", timeout=30_000
    )
    page.wait_for_timeout(1500)
    # Zoom in until OpenSeadragon asks for tiles at full resolution (scale factor 1: a 512-pixel
    # region sent as 512 pixels).
    full_resolution = re.compile(r"/(\d+),(\d+),512,512/512,512/0/default\.jpg$")
    for _ in range(12):
        if any(full_resolution.search(url) for url in tiles):
            break
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_timeout(700)
    page.wait_for_timeout(1000)
    assert any(url.endswith("/info.json") for url in tiles), tiles
    sharp = [url for url in tiles if full_resolution.search(url)]
    assert sharp, sorted(tiles)
    assert all(status == 200 for status in tiles.values()), tiles
    # Only the tiles on screen: not the whole page at full resolution, not the static JPEG.
    width = 1748
    assert len(sharp) < math.ceil(width / 512) * math.ceil(2480 / 512)
    assert not any(f"/image/{width}.jpg" in url for url in requested)
    page.screenshot(path=str(tmp_path / "mirador-zoom.png"))
    page.close()
