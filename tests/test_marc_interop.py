"""MARC files that others made: pymarc's own test files, the RUSMARC sample converted by YAZ.

Issue 15 item 1: a Cyrillic MARC-8 file (all 7-bit, so it "decodes as UTF-8") and a MARC 21
record in cp1251 imported as garbage without a word. The encoding is now told per record and
shown before anything is saved; every text is stored NFC without control characters.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pymarc
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord
from mura.app.modules.catalogue import marc_encoding, marc_import, records
from mura.app.modules.catalogue.marc_encoding import decode
from tests.catalogue_helpers import RUSMARC, iso, log_in_staff

PYMARC = Path(__file__).parent / "data" / "pymarc"
#: C0 and C1 control characters: none may reach the database (the line feed is Mura's own
#: separator of the notes it joins).
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _yaz(*args: str, data: bytes) -> bytes:
    """Convert with ``yaz-marcdump`` (Debian's yaz, as a library's Z39.50 tools would)."""
    exe = shutil.which("yaz-marcdump")
    if exe is None:
        pytest.skip("yaz-marcdump is not installed (./run installs Debian's yaz for the tests)")
    done = subprocess.run(
        [exe, "-i", "marc", "-o", "marc", *args, "/dev/stdin"],
        input=data, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def _mapped(data: bytes, encoding: str | None = None) -> list[marc_import.RecordData]:
    out = []
    for raw in marc_import.read_records(data, encoding=encoding):
        assert raw.record is not None, (raw.position, raw.error)
        out.append(marc_import.map_record(raw.record))
    return out


def _texts(data: marc_import.RecordData) -> list[str]:
    """Every text the import stores of one record."""
    texts = [str(v) for v in data.fields.values() if isinstance(v, str)]
    texts += [a.name for a in data.agents] + [s.term for s in data.subjects]
    return [*texts, data.source_marc]


def _comparable(data: marc_import.RecordData) -> tuple:
    return (
        sorted((k, str(v)) for k, v in data.fields.items()),
        [(a.kind, a.name, a.role, a.dates, a.authority_id) for a in data.agents],
        [(s.kind, s.term, s.scheme, s.authority_id) for s in data.subjects],
    )


@pytest.fixture(scope="module")
def utf8_sample() -> bytes:
    """The RUSMARC sample converted cp1251 -> UTF-8 by YAZ, leader/09 set to ``a``."""
    return _yaz("-f", "CP1251", "-t", "UTF-8", "-l", "9=97", data=RUSMARC.read_bytes())


@pytest.fixture(scope="module")
def marc8_sample(utf8_sample: bytes) -> bytes:
    """…and UTF-8 -> MARC-8 by YAZ (which leaves leader/09 ``a`` although the text is MARC-8)."""
    return _yaz("-f", "UTF-8", "-t", "MARC-8", data=utf8_sample)


# --- the shared RUSMARC sample through YAZ -----------------------------------------------------


@pytest.mark.parametrize("variant", ["marc-8", "utf-8", "utf-8 without leader/09"])
def test_yaz_conversions_map_like_the_cp1251_original(
    variant: str, utf8_sample: bytes, marc8_sample: bytes
) -> None:
    converted = {
        "marc-8": marc8_sample,
        "utf-8": utf8_sample,
        "utf-8 without leader/09": _yaz("-f", "CP1251", "-t", "UTF-8", data=RUSMARC.read_bytes()),
    }[variant]
    if variant == "marc-8":
        assert converted.isascii() and b"\x1b(N" in converted  # 7-bit: it "decodes as UTF-8"
    original = _mapped(RUSMARC.read_bytes())
    mine = _mapped(converted)
    assert len(original) == len(mine) == 81
    titles = [d.fields["title"] for d in mine]
    assert titles == [d.fields["title"] for d in original]
    assert all(CYRILLIC.search(t) for t in titles), titles
    for theirs, ours in zip(original, mine, strict=True):
        assert _comparable(ours) == _comparable(theirs)
        assert not any(CONTROL.search(text) for text in _texts(ours))
    # The Ukrainian "ї" is in MARC-8's Extended Cyrillic, which YAZ designates as G0 ("ESC ( Q").
    assert any("їх корекцiя" in t for t in titles)


def test_yaz_marc8_imports_81_cyrillic_records_and_says_so(app: Flask, marc8_sample: bytes) -> None:
    report = records.import_marc(marc8_sample)
    assert (report.created, report.problems) == (81, [])
    assert [(e.encoding, e.how, e.records) for e in report.encodings] == [
        ("marc-8", "marc-8 escape sequences", 81)
    ]
    stored = db.session.scalars(select(CatalogueRecord)).all()
    assert len(stored) == 81
    for record in stored:
        assert CYRILLIC.search(record.title), record.title
        values = [record.title, record.part, record.subtitle, record.source_marc or ""]
        assert not any(CONTROL.search(v or "") for v in values)
    assert report.as_dict()["encodings"][0]["encoding"] == "marc-8"


def test_kazakh_letters_survive_yaz_marc8_lossless() -> None:
    """MARC-8 lacks ә ғ қ ң ө ұ ү һ: the lossless form writes them "&#x049A;"; і is ESC ( Q."""
    title = "Қарағанды өңірінің тарихы: әдебиет және үңгір һәм іздер"
    rec = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    rec.add_field(pymarc.Field(tag="001", data="KZ-1"))
    rec.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("0", "0"),
            subfields=[pymarc.Subfield("a", title)],
        )
    )
    marc8 = _yaz("-f", "UTF-8", "-t", "MARC-8lossless", "-l", "9=32", data=iso(rec))
    assert marc8.isascii() and b"\x1b(Q" in marc8 and b"&#x049a;" in marc8
    [mapped] = _mapped(marc8)
    assert mapped.fields["title"] == title


# --- pymarc's test files -----------------------------------------------------------------------


def test_pymarc_1251_is_read_as_cp1251(app: Flask) -> None:
    """A Russian Book Chamber MARC 21 file in cp1251, leader/09 blank (pymarc test/1251.dat)."""
    report = records.import_marc((PYMARC / "1251.dat").read_bytes())
    assert (report.created, report.problems) == (6, [])
    assert [(e.encoding, e.records) for e in report.encodings] == [("cp1251", 6)]
    titles = db.session.scalars(select(CatalogueRecord.title).order_by(CatalogueRecord.id)).all()
    assert titles[0] == "Основы гидравлического расчета инженерных сетей"
    assert titles[4] == "Мио, мой Мио!"
    assert all(CYRILLIC.search(t) for t in titles)


def test_pymarc_regression45_is_stored_nfc(app: Flask) -> None:
    """pymarc test/regression45.dat: UTF-8 in decomposed form (NFD) for 9 of its 12 records."""
    data = (PYMARC / "regression45.dat").read_bytes()
    raw_titles = [r.title for r in pymarc.MARCReader(data, to_unicode=True, force_utf8=True)]
    assert sum(not unicodedata.is_normalized("NFC", t or "") for t in raw_titles) == 9
    report = records.import_marc(data)
    assert (report.created, report.problems) == (12, [])
    for record in db.session.scalars(select(CatalogueRecord)):
        for value in (record.title, record.subtitle, record.responsibility, record.source_marc):
            assert unicodedata.is_normalized("NFC", value or ""), value
        for agent in record.agents:
            assert unicodedata.is_normalized("NFC", agent.name)
    first = db.session.scalars(select(CatalogueRecord).order_by(CatalogueRecord.id)).first()
    assert first.title.startswith("Pokrov, podarennyĭ Dimitrīem")
    assert "\u0306" not in first.title  # ĭ is one letter, not i + combining breve


def test_pymarc_marc8_file_is_read_as_marc8() -> None:
    """pymarc test/marc8.dat: MARC 21 in MARC-8 (ANSEL diacritics), leader/09 blank."""
    [raw] = marc_import.read_records((PYMARC / "marc8.dat").read_bytes())
    assert raw.detected is not None and raw.detected.encoding == "marc-8"
    mapped = marc_import.map_record(raw.record)
    assert mapped.fields["title"] == "Escape from loneliness"
    assert "De la solitude à la communauté" in mapped.fields["notes"]


def test_pymarc_marc8_lines_decode_as_their_utf8_twins() -> None:
    """pymarc test/test_marc8.txt and test_utf8.txt: 1516 MARC-8 strings and the Unicode of each."""
    marc8 = (PYMARC / "test_marc8.txt").read_bytes().split(b"\n")
    utf8 = (PYMARC / "test_utf8.txt").read_text("utf-8").split("\n")
    assert len(marc8) == len(utf8) > 1500
    for raw, text in zip(marc8, utf8, strict=True):
        assert decode(raw, "marc-8") == unicodedata.normalize("NFC", text)


def test_pymarc_utf8_without_leader_flag() -> None:
    [raw] = marc_import.read_records((PYMARC / "utf8_without_leader_flag.dat").read_bytes())
    assert raw.detected is not None and raw.detected.encoding == "utf-8"
    assert marc_import.map_record(raw.record).fields["title"] == "Escape from loneliness"


def test_pymarc_unimarc_drops_the_non_sorting_markers() -> None:
    """pymarc test/testunimarc.dat: 200$a "<U+0088>L'<U+0089>altra faccia della spirale"."""
    [raw] = marc_import.read_records((PYMARC / "testunimarc.dat").read_bytes())
    mapped = marc_import.map_record(raw.record)
    assert mapped.flavour == "unimarc"
    assert mapped.fields["title"] == "L'altra faccia della spirale"
    assert not any(CONTROL.search(text) for text in _texts(mapped))


# --- control characters, the override, the report, the preview ---------------------------------


def test_control_characters_are_never_stored(app: Flask) -> None:
    rec = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    rec.add_field(pymarc.Field(tag="001", data="CTL-1"))
    rec.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("0", "0"),
            subfields=[pymarc.Subfield("a", "Бір\x01 екі\tүш\x98 төрт\x9c\x7f")],
        )
    )
    report = records.import_marc(iso(rec))
    assert report.created == 1
    record = db.session.scalars(select(CatalogueRecord)).one()
    assert record.title == "Бір екі үш төрт"
    assert not CONTROL.search(record.source_marc or "")


def test_forced_encoding_still_overrides(app: Flask) -> None:
    data = (PYMARC / "1251.dat").read_bytes()
    report = records.import_marc(data, encoding="utf-8")
    assert report.created == 0 and len(report.problems) == 6
    assert report.problems[0].reason.startswith("not utf-8 (forced): field")
    assert {(e.encoding, e.how) for e in report.encodings} == set()  # none could be read
    report = records.import_marc(data, encoding="cp1251")
    assert report.created == 6
    assert [(e.encoding, e.how) for e in report.encodings] == [("cp1251", "forced")]


def test_cli_report_names_the_encoding(app: Flask, tmp_path: Path, marc8_sample: bytes) -> None:
    from mura.app.cli import cli

    path = tmp_path / "sample-marc8.mrc"
    path.write_bytes(marc8_sample)
    result = CliRunner().invoke(
        cli, ["records", "import", str(path)], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert "81 record(s) read as marc-8 (marc-8 escape sequences)" in result.output
    result = CliRunner().invoke(
        cli, ["records", "import", str(path), "--encoding", "koi8-r"],
        obj=ScriptInfo(create_app=lambda: app),
    )  # fmt: skip
    assert result.exit_code == 2 and "koi8-r" in result.output


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in_staff(client)
    return client


def _count() -> int:
    return db.session.scalar(select(func.count(CatalogueRecord.id)))


def test_preview_shows_the_encoding_and_saves_nothing(
    app: Flask, staff: FlaskClient, marc8_sample: bytes
) -> None:
    import io

    response = staff.post(
        "/staff/records/import",
        data={"file": (io.BytesIO(marc8_sample), "sample.mrc"), "fmt": "auto",
              "flavour": "auto", "encoding": "", "preview": "1"},
        headers={"Accept-Language": "ru"},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert _count() == 0
    assert "MARC-8" in page and "Задачи и этюды" in page
    assert "управляющие последовательности MARC-8" in page  # how it was told, in Russian
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', page)
    assert token, page
    # "Import" after the preview takes the kept file: no second upload.
    response = staff.post(
        "/staff/records/import",
        data={"token": token.group(1), "fmt": "auto", "flavour": "auto", "encoding": ""},
    )
    assert response.status_code == 200
    assert _count() == 81
    assert not (Path(app.config["WORK_DIR"]) / "marc-preview" / token.group(1)).exists()


def test_preview_rejects_a_token_that_is_no_token(app: Flask, staff: FlaskClient) -> None:
    response = staff.post(
        "/staff/records/import",
        data={"token": "../../mura.sqlite3", "fmt": "auto", "flavour": "auto", "encoding": ""},
    )
    assert response.status_code == 400
    assert "Choose a file." in response.get_data(as_text=True)
    assert _count() == 0


# --- UNIMARC/RUSMARC mapping (issue 15 item 2) -------------------------------------------------


def _unimarc(*fields: pymarc.Field, leader: str = "00000nam0a2200000   450 ") -> pymarc.Record:
    rec = pymarc.Record(force_utf8=True, leader=leader)
    for f in fields:
        rec.add_field(f)
    return rec


def _df(tag: str, *subfields: tuple[str, str], ind: str = "  ") -> pymarc.Field:
    return pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(*ind),
        subfields=[pymarc.Subfield(code, value) for code, value in subfields],
    )


def test_unimarc_name_with_the_separator_in_b() -> None:
    rec = _unimarc(
        pymarc.Field(tag="001", data="U-1"),
        _df("200", ("a", "\x88The \x89gods themselves"), ind="1 "),
        _df("700", ("a", "Asimov"), ("b", ", Isaac"), ("f", "1920-1992"), ind=" 1"),
        _df("600", ("a", "Asimov"), ("b", ", Isaac"), ind=" 1"),
    )
    [mapped] = _mapped(iso(rec))
    assert mapped.fields["title"] == "The gods themselves"
    assert [(a.name, a.dates, a.role) for a in mapped.agents] == [
        ("Asimov, Isaac", "1920-1992", "aut")
    ]
    assert [s.term for s in mapped.subjects] == ["Asimov, Isaac"]


def _volume(number: str, own_title: str, external_id: str) -> pymarc.Record:
    set_link = _df(
        "461",
        ("1", "001SET-1"), ("1", "2001 "), ("a", "Собрание сочинений"),
        ("1", "700 1"), ("a", "Ауэзов"), ("b", "М. О."), ("3", "AUTH-7"),
        ("v", number),
        ind=" 0",
    )  # fmt: skip
    return _unimarc(
        pymarc.Field(tag="001", data=external_id),
        _df("200", ("a", own_title), ind="1 "),
        set_link,
    )


def test_unimarc_volumes_keep_their_number_and_the_sets_author(app: Flask) -> None:
    report = records.import_marc(
        iso(_volume("Т. 1", "Абай жолы", "VOL-1"), _volume("Т. 2", "Абай жолы", "VOL-2"))
    )
    assert (report.created, report.problems) == (2, [])
    first, second = db.session.scalars(select(CatalogueRecord).order_by(CatalogueRecord.id))
    assert (first.title, first.part) == ("Собрание сочинений", "Т. 1. Абай жолы")
    assert (second.title, second.part) == ("Собрание сочинений", "Т. 2. Абай жолы")
    assert first.full_title != second.full_title  # the volumes of one set can be told apart
    assert [(a.name, a.role, a.authority_id) for a in first.agents] == [
        ("Ауэзов, М. О.", "aut", "AUTH-7")
    ]


def test_unimarc_volume_whose_title_is_its_number_is_not_doubled() -> None:
    mapped = marc_import.map_record(_volume("Вып. 13", "Вып. 13.", "VOL-13"))
    assert (mapped.fields["title"], mapped.fields["part"]) == ("Собрание сочинений", "Вып. 13.")
    mapped = marc_import.map_record(_volume("Т. 3", "", "VOL-3"))
    assert mapped.fields["part"] == "Т. 3"


def test_rusmarc_sample_volume_with_a_title_keeps_its_number() -> None:
    """Record 10 of the shared sample: 200$a "[Л. Исаев. 1928. Мат в 2 хода]", 461$v "Вып. 19"."""
    tenth = _mapped(RUSMARC.read_bytes())[9]
    assert tenth.fields["title"] == "Задачи и этюды"
    assert tenth.fields["part"] == "Вып. 19. [Л. Исаев. 1928. Мат в 2 хода]"


# --- detection at its edges --------------------------------------------------------------------


def _one(tag: str, text: str, leader: str) -> pymarc.Record:
    rec = pymarc.Record(force_utf8=True, leader=leader)
    rec.add_field(pymarc.Field(tag="001", data=f"EDGE-{tag}"))
    rec.add_field(
        pymarc.Field(
            tag=tag, indicators=pymarc.Indicators("1", " "), subfields=[pymarc.Subfield("a", text)]
        )
    )
    return rec


def test_a_short_cp1251_marc21_record_is_cp1251() -> None:
    data = _yaz("-f", "UTF-8", "-t", "CP1251", "-l", "9=32",
                data=iso(_one("245", "Мир № 5", "00000nam a2200000 i 4500")))  # fmt: skip
    [raw] = marc_import.read_records(data)
    assert raw.detected == marc_encoding.Detected("cp1251", marc_encoding.HOW_CYRILLIC)
    assert marc_import.map_record(raw.record).fields["title"] == "Мир № 5"


def test_a_unimarc_record_with_no_cyrillic_word_is_still_cp1251() -> None:
    """Only "№" (0xB9, a pound sign in MARC-8): a UNIMARC record is never MARC-8."""
    data = _yaz("-f", "UTF-8", "-t", "CP1251", "-l", "9=32",
                data=iso(_one("200", "Tetrad № 5", "00000nam0a2200000   450 ")))  # fmt: skip
    [raw] = marc_import.read_records(data)
    assert raw.detected is not None and raw.detected.encoding == "cp1251"
    assert marc_import.map_record(raw.record).fields["title"] == "Tetrad № 5"


def test_a_record_not_in_the_forced_encoding_is_reported_not_garbled(app: Flask) -> None:
    data = (PYMARC / "1251.dat").read_bytes()
    report = records.import_marc(data, encoding="marc-8")
    assert report.created == 0 and len(report.problems) == 6
    assert "no MARC-8 character" in report.problems[0].reason
    assert _count() == 0


def test_utf8_with_and_without_the_leader_flag_read_alike() -> None:
    with_flag = _mapped((PYMARC / "utf8_with_leader_flag.dat").read_bytes())
    without = _mapped((PYMARC / "utf8_without_leader_flag.dat").read_bytes())
    assert [_comparable(d) for d in with_flag] == [_comparable(d) for d in without]


def test_cyrillic_designated_as_g1_is_read_too() -> None:
    """MARC-8 allows Basic Cyrillic as G1 (``ESC ) N`` + 8-bit bytes); pymarc has only its G0."""
    rec = _one("245", "Мир 5 і ї", "00000nam a2200000 i 4500")
    as_g0 = _yaz("-f", "UTF-8", "-t", "MARC-8", "-l", "9=32", data=iso(rec))
    text = as_g0.split(b"\x1fa")[1].split(b"\x1e")[0]
    assert text.startswith(b"\x1b(N")

    def to_g1(match: re.Match[bytes]) -> bytes:
        return b"\x1b)N" + bytes(b | 0x80 if 0x21 <= b <= 0x7E else b for b in match.group(1))

    as_g1 = re.sub(rb"\x1b\(N([^\x1b]*)", to_g1, text)
    assert b"\x1b)N" in as_g1 and not as_g1.isascii()
    assert decode(text, "marc-8") == decode(as_g1, "marc-8") == "Мир 5 і ї"


@pytest.mark.parametrize(
    ("tag", "leader"),
    [("200", "00000nam0a2200000   450 "), ("245", "00000nam a2200000 i 4500")],
)
def test_kazakh_in_kz1048_is_not_read_as_cp1251(tag: str, leader: str, app: Flask) -> None:
    """KZ-1048 (RK1048), the Kazakh Windows code page: қ ә ң are Macedonian ќ ј ѕ in cp1251."""
    title = "Қарағанды өңірінің әдебиеті: Ұлытау һәм Сарыарқа"
    data = _yaz("-f", "UTF-8", "-t", "RK1048", "-l", "9=32", data=iso(_one(tag, title, leader)))
    assert b"\x8d\xe0\xf0\xe0\xba\xe0\xed\xe4\xfb" in data  # "Қарағанды" as RK1048 bytes
    [raw] = marc_import.read_records(data)
    assert raw.detected == marc_encoding.Detected("kz1048", marc_encoding.HOW_KAZAKH)
    report = records.import_marc(data)
    assert (report.created, report.problems) == (1, [])
    assert db.session.scalars(select(CatalogueRecord.title)).one() == title
