"""The reader's two-page spread and full screen, and the browse pages, in Debian's Chromium.

Kazakh and Russian interfaces, on a laptop (1366 px) and a phone (390 px): both pages of the
spread side by side, full screen from its button with page turns that stay in full screen,
and no page wider than the screen. Serves the session's published library
(tests/discovery_helpers.py) with a real ``mura serve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.discovery_helpers import LIBRARY_CONFIG, Library
from tests.e2e.conftest import mura_env, mura_serve

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
SIZES = [("kk", 1366, 900), ("ru", 390, 844), ("ru", 1366, 900), ("kk", 390, 844)]
FULL_SCREEN = {"kk": "Толық экран", "ru": "Во весь экран"}
LEAVE = {"kk": "Толық экраннан шығу", "ru": "Выйти из полноэкранного режима"}


@pytest.fixture(scope="module")
def server(library: Library) -> Iterator[str]:
    env = mura_env(library.home, **{key: str(value) for key, value in LIBRARY_CONFIG.items()})
    with mura_serve(env, "--no-worker") as url:
        yield url


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("lang", "width", "height"), SIZES)
def test_spread_full_screen_and_browse(
    server: str, browser, library: Library, tmp_path: Path, lang: str, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on(
        "console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None
    )

    page.goto(f"{server}/read/{library.book_id}/1?spread=1&q=кітапхана&lang={lang}")
    figures = page.locator(".sheets.spread figure.scan")
    assert figures.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.scan-image')].every(i => i.naturalWidth > 0)"
    )
    left, right = figures.nth(0).bounding_box(), figures.nth(1).bounding_box()
    assert left and right and right["x"] >= left["x"] + left["width"] - 1  # side by side
    assert abs(left["y"] - right["y"]) < 2 and left["width"] > width / 5
    assert page.locator("svg.highlights rect.hl").count() >= 2  # matches on both pages
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / f"spread-{lang}-{width}.png"))

    button = page.locator("#fullscreen")
    assert button.is_visible() and button.inner_text() == FULL_SCREEN[lang]
    button.click()
    page.wait_for_function("() => document.fullscreenElement?.id === 'reader'")
    page.wait_for_function("() => document.getElementById('fullscreen').ariaPressed === 'true'")
    assert page.locator("#fullscreen").inner_text() == LEAVE[lang]
    assert not page.locator(".reader-side").is_visible()  # the scan takes the screen
    # One page, then the next with the keyboard: the reader is replaced in place, still full.
    page.click("#spread-toggle")
    page.wait_for_function("() => document.querySelectorAll('figure.scan').length === 1")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/read/{library.book_id}/2?*")
    page.wait_for_function("() => document.getElementById('reader').dataset.seq === '2'")
    assert page.evaluate("document.fullscreenElement && document.fullscreenElement.id") == "reader"
    page.screenshot(path=str(tmp_path / f"fullscreen-{lang}-{width}.png"))
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")
    page.wait_for_function("() => document.getElementById('fullscreen').ariaPressed === 'false'")
    assert page.locator("#fullscreen").inner_text() == FULL_SCREEN[lang]

    for url in ("/browse", "/browse/authors", "/browse/subjects"):
        page.goto(f"{server}{url}?lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        assert no_horizontal_scroll(page), url
    page.goto(f"{server}/browse/authors?lang={lang}")
    entry = page.locator("#browse-list a.entry").first
    assert entry.inner_text() == "Сейітов, Бауыржан"
    assert "author=" in (entry.get_attribute("href") or "")
    page.goto(f"{server}/?lang={lang}")
    assert no_horizontal_scroll(page)
    thumbs = page.locator("a.thumb img")
    assert thumbs.count() == 2 and thumbs.first.get_attribute("loading") == "lazy"
    page.screenshot(path=str(tmp_path / f"home-{lang}-{width}.png"), full_page=True)
    assert csp_errors == []
    context.close()


def test_highlights_lie_on_the_scan_in_full_screen(server: str, browser, library: Library) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{server}/read/{library.book_id}/2?q=кітапхана&lang=kk")
    page.wait_for_function("() => document.querySelector('img.scan-image').naturalWidth > 0")
    page.click("#fullscreen")
    page.wait_for_function("() => document.fullscreenElement?.id === 'reader'")
    image = page.locator("img.scan-image").bounding_box()
    svg = page.locator("svg.highlights").bounding_box()
    assert image and svg and image["height"] <= 900
    for key in ("x", "y", "width", "height"):
        assert abs(image[key] - svg[key]) < 2, key
    page.close()
