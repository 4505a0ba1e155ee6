"""The upload form in Debian's Chromium, in Kazakh and Russian, on a laptop and a phone.

OCR languages are ticked by their names; files are dropped onto the form (a DataTransfer made
in the page, as a file manager's drag gives one); a file that cannot be a page is named on the
form and nothing is sent, the chosen fields and languages staying as they were; the fixed
upload is stored with the languages as Tesseract codes ("kaz+kir"), as before. The server runs
without a worker: the job only has to exist.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from PIL import Image

from mura.app.core.languages import find_language
from tests.e2e.conftest import add_account, log_in, mura_cli, mura_env, mura_serve

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
STAFF, PASSWORD = "upload-staff", "e2e-password-1"
NAMES = {
    "kk": ["қазақ тілі", "орыс тілі", "қырғыз тілі", "ағылшын тілі"],
    "ru": ["казахский", "русский", "киргизский", "английский"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("upload-form-home")
    env = mura_env(home)
    mura_cli(env, "branches", "add", "central", "Central library", "--central")
    add_account(env, STAFF, PASSWORD, "staff", "central")
    with mura_serve(env, "--no-worker") as url:
        yield url


def _png() -> str:
    out = io.BytesIO()
    Image.new("L", (300, 400), 255).save(out, format="PNG", dpi=(300, 300))
    return base64.b64encode(out.getvalue()).decode()


DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: "image/png" }));
  }
  const zone = document.getElementById("files-drop");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    zone.dispatchEvent(new DragEvent(type, init));
  }
  return document.getElementById("files").files.length;
}"""


FITS = """() => Array.from(document.querySelectorAll("form.upload, form.upload *"))
  .every((e) => e.getBoundingClientRect().right <= window.innerWidth + 1)"""


def _aligned(page, box_selector: str, label_selector: str) -> bool:
    """Whether a checkbox sits on its label's line (its middle within the label's height)."""
    box = page.locator(box_selector).bounding_box()
    label = page.locator(label_selector).bounding_box()
    middle = box["y"] + box["height"] / 2
    return label["y"] <= middle <= label["y"] + label["height"]


@pytest.mark.parametrize("width", (1366, 390))
@pytest.mark.parametrize("lang", ("kk", "ru"))
def test_languages_by_name_drop_files_and_keep_fields(
    server: str, browser, lang: str, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    log_in(page, server, STAFF, PASSWORD)
    page.goto(f"{server}/staff/upload?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang

    labels = page.locator("#langs label.check")
    assert [labels.nth(i).inner_text().strip() for i in range(labels.count())] == NAMES[lang]
    assert page.is_checked("#langs input[value=kaz]") and page.is_checked("#langs input[value=rus]")
    page.get_by_label(NAMES[lang][1], exact=True).uncheck()  # Russian off
    page.get_by_label(NAMES[lang][2], exact=True).check()  # Kyrgyz on
    for code in ("kaz", "kir"):
        assert _aligned(
            page, f"#langs input[value={code}]", f"#langs label:has(input[value={code}])"
        )
    assert _aligned(page, "#new_record", "label[for=new_record]")
    title = f"Ош облысы {lang} {width}"
    page.fill("#title", title)
    page.fill("#year", "1998")

    # A good page and a text file named .png, dropped onto the form.
    png = _png()
    bad = base64.b64encode(b"just some notes\n").decode()
    assert page.evaluate(DROP, [[["page-1.png", png], ["notes.png", bad]]]) == 2
    assert "page-1.png" in page.inner_text("#files-chosen")
    page.wait_for_selector("#files-check li")
    assert "notes.png" in page.inner_text("#files-check")
    page.click("form.upload button[type=submit]")
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/staff/upload?lang={lang}")  # nothing sent
    assert page.input_value("#title") == title and page.input_value("#year") == "1998"
    assert page.is_checked("#langs input[value=kir]")
    assert not page.is_checked("#langs input[value=rus]")
    # The form fits the width (the staff header's menu is wider than a phone on every staff
    # page: a matter of base.html, not of this form).
    assert page.evaluate(FITS)

    # The bad file replaced by choosing again, one more page dropped: sent and stored.
    page.evaluate("document.getElementById('files').value = ''")
    assert page.evaluate(DROP, [[["page-1.png", png]]]) == 1
    page.wait_for_selector("#files-check", state="hidden")
    assert page.evaluate(DROP, [[["page-2.png", png]]]) == 2
    page.click("form.upload button[type=submit]")
    page.wait_for_url("**/staff/jobs/*")
    # Stored as Tesseract codes (kaz+kir), shown by name in the reader's language.
    shown = page.inner_text("main")
    assert all(find_language(code).name(lang) in shown for code in ("kaz", "kir")), shown
    assert page.locator("#pages tbody tr").count() == 2
    page.close()
