"""The character encoding of an ISO 2709 record, told per record, and its text as clean Unicode.

Library systems export MARC in three encodings, and the leader often does not say which:
IRBIS and Web-RABIS write UNIMARC in **cp1251** with leader/09 blank; MARC 21 systems write
**MARC-8** (7-bit with escape sequences for Cyrillic, so it "decodes as UTF-8" by accident)
or **UTF-8**; YAZ writes MARC-8 and leaves leader/09 ``a``. Trusting the leader or "it decodes"
imports garbage silently, so :func:`detect_encoding` looks at the bytes themselves:

1. MARC-8 escape sequences (``ESC ( N`` basic Cyrillic, ``ESC ( Q`` extended, ``ESC ) E``…)
   mean MARC-8 whatever leader/09 says: no UTF-8 or cp1251 text contains them.
2. Only ASCII bytes: any reading gives the same text.
3. Valid UTF-8 with non-ASCII letters: UTF-8 (cp1251 or MARC-8 Cyrillic is practically never
   valid UTF-8).
4. Otherwise statistics: cp1251 Cyrillic comes in runs of letters (words); MARC-8 (ANSEL) has
   one combining mark before a Latin letter, and bytes that are no MARC-8 character at all.
5. Undecided: cp1251 for UNIMARC (MARC-8 belongs to MARC 21), MARC-8 for MARC 21.

Decoding uses pymarc's MARC-8 tables (:func:`pymarc.marc8_to_unicode`); two things are added:
an extended set designated as G0 (YAZ writes Ukrainian і, ї and Belarusian ў as ``ESC ( Q`` +
7-bit bytes) is read as its G1 form, the only form pymarc's tables have; and the numeric
character references of the MARC 21 lossless conversion ("&#x049A;" for Қ, a letter MARC-8
lacks) become their characters.
Every text is stored NFC without control characters (:func:`clean_text`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pymarc import marc8_mapping
from pymarc.marc8 import marc8_to_unicode

ENCODINGS = ("utf-8", "cp1251", "marc-8")
#: How the encoding was decided (the import report and the preview show these).
HOW_FORCED = "forced"
HOW_ESCAPES = "marc-8 escape sequences"
HOW_LEADER = "leader/09"
HOW_ASCII = "ascii only"
HOW_UTF8 = "valid utf-8"
HOW_CYRILLIC = "cp1251 cyrillic statistics"
HOW_ANSEL = "marc-8 diacritics statistics"
HOW_DEFAULT = "default for the marc flavour"

_ESC = 0x1B
#: A MARC-8 escape sequence: a G0/G1 designation or one of the technique-1 shortcuts.
_MARC8_ESCAPE = re.compile(rb"\x1b(?:[(,)\-][\x21-\x7e]|\$[(,)\-]?[\x21-\x7e]|[sgbp])")
#: Character sets pymarc's tables hold only in their G1 form (code points 0xA0 and up).
_G1_ONLY = frozenset(
    code for code, table in marc8_mapping.CODESETS.items() if table and min(table) >= 0x80
)
_ANSEL = 0x45
_BASIC_LATIN = 0x42
#: MARC-8 has no Kazakh ә ғ қ ң ө ұ ү һ: the MARC 21 lossless conversion writes a Unicode
#: character MARC-8 lacks as a numeric character reference ("&#x049A;"), as YAZ's MARC-8lossless.
_NCR = re.compile(r"&#x([0-9A-Fa-f]{4,6});")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE_CONTROL = re.compile(r"[\t\n\r]+")
_HIGH_BYTES = bytes(range(0x80, 0x100))
#: Two or more cp1251 Cyrillic letters in a row (А-я 0xC0-0xFF, Ё 0xA8, ё 0xB8).
_CP1251_WORD = re.compile(rb"[\xa8\xb8\xc0-\xff]{2,}")


@dataclass(frozen=True)
class Detected:
    """The encoding of one record and why it was chosen (``HOW_*``)."""

    encoding: str
    how: str


class EncodingError(ValueError):
    """Text that is not in the encoding it was read in; the message says where."""


def detect_encoding(chunk: bytes, forced: str | None = None, unimarc: bool = False) -> Detected:
    """The encoding of one ISO 2709 record (without its terminator); see the module's steps.

    Args:
        chunk: The record's bytes, leader included.
        forced: ``--encoding``: used as it is (an override, never second-guessed).
        unimarc: The record has a 200 field (used only when the bytes do not decide).
    """
    if forced:
        return Detected(forced.lower(), HOW_FORCED)
    data = _data_part(chunk)
    if _MARC8_ESCAPE.search(data):
        return Detected("marc-8", HOW_ESCAPES)
    if data.isascii():
        return Detected("utf-8", HOW_ASCII)  # the same text in all three
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return Detected("utf-8", HOW_LEADER if chunk[9:10] == b"a" else HOW_UTF8)
    cyrillic = cyrillic_share(data)
    if cyrillic >= 0.6 or (cyrillic >= 0.3 and (unimarc or marc8_unmapped(data))):
        return Detected("cp1251", HOW_CYRILLIC)
    if unimarc:  # MARC-8 is MARC 21's: a UNIMARC record in it would be a rare mistake
        return Detected("cp1251", HOW_DEFAULT)
    if cyrillic < 0.3 and not marc8_unmapped(data):
        return Detected("marc-8", HOW_ANSEL)
    return Detected("marc-8", HOW_DEFAULT)


def _data_part(chunk: bytes) -> bytes:
    """The fields after the directory (the leader and directory are ASCII in every encoding)."""
    try:
        base = int(chunk[12:17])
    except ValueError:
        return chunk
    return chunk[base:] if 24 < base <= len(chunk) else chunk


def cyrillic_share(data: bytes) -> float:
    """Share of the bytes above 0x7F that read as cp1251 Cyrillic letters inside a word.

    Russian and Kazakh words in cp1251 are runs of bytes 0xC0–0xFF (and Ё/ё 0xA8/0xB8); MARC-8
    diacritics (0xE0–0xFE) stand one at a time before an ASCII letter.
    """
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    in_words = sum(len(run) for run in _CP1251_WORD.findall(data))
    return in_words / high if high else 0.0


def marc8_unmapped(data: bytes) -> int:
    """How many characters of MARC-8 ``data`` no MARC-8 character set has (0 = plausible)."""
    g0, g1 = _BASIC_LATIN, _ANSEL
    unmapped = 0
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == _ESC:
            match = _MARC8_ESCAPE.match(data, i)
            if match:
                g0, g1 = _designate(match.group(0), g0, g1)
                i = match.end()
                continue
            unmapped += 1
            i += 1
            continue
        i += 1
        if byte < 0x21 or 0x7F <= byte < 0xA0 or byte in (0x1E, 0x1F) or g0 == 0x31:
            continue  # controls, separators, and EACC (three bytes a character) are not checked
        if byte >= 0x80:
            table = marc8_mapping.CODESETS.get(g1, {})
        else:
            table = marc8_mapping.CODESETS.get(g0, {})
            byte = byte | 0x80 if g0 in _G1_ONLY else byte
        if byte not in table:
            unmapped += 1
    return unmapped


def _designate(escape: bytes, g0: int, g1: int) -> tuple[int, int]:
    """The working sets (G0, G1) after one escape sequence."""
    if escape[1:2] in (b"s", b"g", b"b", b"p"):
        return (_BASIC_LATIN if escape[1:2] == b"s" else escape[1]), g1
    if escape[-2:-1] in (b")", b"-"):
        return g0, escape[-1]
    return escape[-1], g1


def decode(value: bytes, encoding: str) -> str:
    """One subfield or control field as clean Unicode; EncodingError when it is not ``encoding``."""
    if encoding == "marc-8":
        if value.isascii() and b"\x1b" not in value:
            text = value.decode("ascii")  # MARC-8's basic Latin is ASCII (numbers, codes, Latin)
        else:
            unmapped = marc8_unmapped(value)
            if unmapped:
                raise EncodingError(f"{unmapped} byte(s) are no MARC-8 character")
            text = marc8_to_unicode(_extended_sets_as_g1(value), hide_utf8_warnings=True)
        text = _NCR.sub(_character, text) if "&#x" in text else text
    else:
        try:
            text = value.decode(encoding)
        except UnicodeDecodeError as exc:
            raise EncodingError(f"{exc.reason} at byte {exc.start}") from exc
        except LookupError as exc:
            raise EncodingError(f"unknown encoding {encoding!r}") from exc
    return clean_text(text)


def _extended_sets_as_g1(value: bytes) -> bytes:
    """Rewrite ``ESC ( Q`` + 7-bit bytes as ``ESC ) Q`` + the same bytes | 0x80.

    MARC-8 lets an extended set (Extended Cyrillic, Extended Latin…) be designated as G0, and
    YAZ does so for і, ї, ў, ђ…; pymarc's tables hold those sets only in their G1 form, so it
    would turn each such letter into a space.
    """
    if b"\x1b" not in value:
        return value
    out = bytearray()
    g1 = _ANSEL
    shifted = False
    i = 0
    while i < len(value):
        match = _MARC8_ESCAPE.match(value, i) if value[i] == _ESC else None
        if match is None:
            byte = value[i]
            out.append(byte | 0x80 if shifted and 0x21 <= byte <= 0x7E else byte)
            i += 1
            continue
        escape = match.group(0)
        i = match.end()
        if escape[1:2] in b"(,":
            if escape[2] in _G1_ONLY:
                out += b"\x1b)" + escape[2:3]
                shifted = True
                continue
            if shifted:
                out += b"\x1b)" + bytes([g1])  # give G1 back to the set it had
                shifted = False
        elif escape[1:2] in b")-":
            g1 = escape[2]
        out += escape
    return bytes(out)


def _character(reference: re.Match[str]) -> str:
    """The character of a numeric character reference; the reference itself if it names none."""
    code = int(reference.group(1), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return reference.group(0)
    return chr(code)


def clean_text(text: str) -> str:
    """NFC, tabs and line breaks as spaces, no other control characters.

    This drops the non-sorting markers too (U+0088/U+0089 in UNIMARC, U+0098/U+009C in MARC 21)
    and keeps the text between them: "<U+0088>L'<U+0089>altra faccia" -> "L'altra faccia".
    """
    if text.isascii() and text.isprintable():
        return text
    text = _CONTROL.sub("", _SPACE_CONTROL.sub(" ", text))
    return unicodedata.normalize("NFC", text)
