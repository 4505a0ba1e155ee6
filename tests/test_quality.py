"""Review flags: low confidence and text in the wrong script, on real Tesseract output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mura.app.modules.digitization.job_status import parse_page_list
from mura.app.modules.digitization.quality import page_flags


def _tesseract(image: Path, langs: str, tmp_path: Path) -> str:
    base = tmp_path / f"{image.stem}-{langs}"
    subprocess.run(
        ["tesseract", str(image), str(base), "-l", langs],
        check=True,
        capture_output=True,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    return (base.with_suffix(".txt")).read_text(encoding="utf-8")


def test_cyrillic_read_with_a_latin_model_is_flagged(corpus: Path, tmp_path: Path) -> None:
    gibberish = _tesseract(corpus / "p11_news_rus_200dpi.png", "eng", tmp_path)
    assert "wrong_script" in page_flags(gibberish, "eng", 80.0)


def test_correct_pages_are_not_flagged(corpus: Path) -> None:
    kazakh = (corpus / "p01_book.gt.txt").read_text(encoding="utf-8")
    assert page_flags(kazakh, "kaz+rus", 91.0) == []
    english = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()[:3000]
    assert page_flags(english, "eng", 90.0) == []


def test_latin_text_for_a_cyrillic_job_is_flagged() -> None:
    latin = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod " * 3
    assert "wrong_script" in page_flags(latin, "kaz+rus", 85.0)


def test_low_confidence_and_empty_pages() -> None:
    text = "Қарағанды облыстық кітапханасының өлкетану бөлімі " * 3
    assert page_flags(text, "kaz", 41.0) == ["low_confidence"]
    assert page_flags("  12 ", "kaz", None) == ["no_text"]


@pytest.mark.parametrize(
    ("value", "pages"),
    [("1", [1]), ("1, 3-5", [1, 3, 4, 5]), ("2-2,2", [2]), (" 4 ,1 ", [1, 4])],
)
def test_page_lists(value: str, pages: list[int]) -> None:
    assert parse_page_list(value, 5) == pages


@pytest.mark.parametrize("value", ["0", "6", "3-1", "a", "1-", "-2", "1;2"])
def test_bad_page_lists(value: str) -> None:
    with pytest.raises(ValueError):
        parse_page_list(value, 5)
