"""The character encoding of an ISO 2709 record, told per record, and its text as clean Unicode.

Library systems export MARC in four encodings, and the leader often does not say which:
IRBIS and Web-RABIS write UNIMARC in **cp1251** (or, for Kazakh, **KZ-1048**) with leader/09
blank; MARC 21 systems write **MARC-8** (7-bit with escape sequences for Cyrillic, so it
"decodes as UTF-8" by accident) or **UTF-8**; YAZ writes MARC-8 and leaves leader/09 ``a``.
Trusting the leader or "it decodes" imports garbage silently, so :func:`detect_encoding` looks
at the bytes themselves:

1. MARC-8 escape sequences (``ESC ( N`` basic Cyrillic, ``ESC ( Q`` extended, ``ESC ) E``…)
   mean MARC-8 whatever leader/09 says: no UTF-8 or cp1251 text contains them.
2. Only ASCII bytes: any reading gives the same text.
3. Valid UTF-8 with non-ASCII letters: UTF-8 (cp1251 or MARC-8 Cyrillic is practically never
   valid UTF-8).
4. Kazakh қ ә ң in KZ-1048 (RK1048, the Kazakh Windows code page) inside a Cyrillic word:
   KZ-1048 (cp1251 has Macedonian ќ ј ѕ there, letters of no Kazakh or Russian word).
5. Otherwise statistics: cp1251 Cyrillic comes in runs of letters (words); MARC-8 (ANSEL) has
   one combining mark before a Latin letter, and bytes that are no MARC-8 character at all.
6. Undecided: cp1251 for UNIMARC (MARC-8 belongs to MARC 21), MARC-8 for MARC 21.

Decoding uses pymarc's MARC-8 tables (:func:`pymarc.marc8_to_unicode`); two things are added:
a set designated in the form pymarc's tables lack (YAZ writes Ukrainian і, ї and Belarusian ў
as ``ESC ( Q`` + 7-bit bytes; Cyrillic can come as ``ESC ) N`` + 8-bit bytes) is re-designated
in the form they have; and the numeric character references of the MARC 21 lossless
conversion ("&#x049A;" for Қ, a letter MARC-8 lacks) become their characters.
Every text is stored NFC without control characters (:func:`clean_text`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pymarc import marc8_mapping
from pymarc.marc8 import marc8_to_unicode

ENCODINGS = ("utf-8", "cp1251", "kz1048", "marc-8")
#: How the encoding was decided (the import report and the preview show these).
HOW_FORCED = "forced"
HOW_ESCAPES = "marc-8 escape sequences"
HOW_LEADER = "leader/09"
HOW_ASCII = "ascii only"
HOW_UTF8 = "valid utf-8"
HOW_CYRILLIC = "cp1251 cyrillic statistics"
HOW_KAZAKH = "kazakh letters of kz-1048"
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
_EACC = 0x31
_BASIC_LATIN = 0x42
#: MARC-8 has no Kazakh ә ғ қ ң ө ұ ү һ: the MARC 21 lossless conversion writes a Unicode
#: character MARC-8 lacks as a numeric character reference ("&#x049A;"), as YAZ's MARC-8lossless.
_NCR = re.compile(r"&#x([0-9A-Fa-f]{4,6});")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE_CONTROL = re.compile(r"[\t\n\r]+")
_HIGH_BYTES = bytes(range(0x80, 0x100))
#: Қ қ Ә ә Ң ң of KZ-1048 (RK1048, the Kazakh Windows code page) next to a Cyrillic letter. In
#: cp1251 these bytes are Macedonian and Serbian Ќ ќ Ј ј Ѕ ѕ, which no Kazakh or Russian word
#: has; the other bytes the two differ in (Ukrainian ї є ґ, Belarusian ў) decide nothing.
_KZ1048_LETTER = re.compile(
    rb"[\xb2\xb3\xc0-\xff][\x8d\x9d\xa3\xbc\xbd\xbe]|[\x8d\x9d\xa3\xbc\xbd\xbe][\xb2\xb3\xc0-\xff]"
)
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
    if cyrillic >= 0.3 and _KZ1048_LETTER.search(data):
        return Detected("kz1048", HOW_KAZAKH)
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
    return _for_pymarc(data)[1]


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
            rewritten, unmapped = _for_pymarc(value)
            if unmapped:
                raise EncodingError(f"{unmapped} byte(s) are no MARC-8 character")
            text = marc8_to_unicode(rewritten, hide_utf8_warnings=True)
        text = _NCR.sub(_character, text) if "&#x" in text else text
    else:
        try:
            text = value.decode(encoding)
        except UnicodeDecodeError as exc:
            raise EncodingError(f"{exc.reason} at byte {exc.start}") from exc
        except LookupError as exc:
            raise EncodingError(f"unknown encoding {encoding!r}") from exc
    return clean_text(text)


def _for_pymarc(value: bytes) -> tuple[bytes, int]:
    """MARC-8 rewritten into the designations pymarc's tables have, and the unmapped count.

    MARC-8 lets a set be designated as G0 (7-bit bytes) or G1 (8-bit bytes), but pymarc's
    tables hold Extended Cyrillic, Extended Latin (ANSEL)… only in their G1 form and Basic
    Cyrillic, Greek… only in their G0 form, and it reads a character of the other form as a
    space. YAZ writes Ukrainian і, ї and Belarusian ў as ``ESC ( Q`` + 7-bit bytes, other
    systems Cyrillic as ``ESC ) N`` + 8-bit bytes: each character is re-designated in the form
    pymarc knows, so nothing becomes a space. Characters no set has are counted.
    """
    out = bytearray()
    g0, g1 = _BASIC_LATIN, _ANSEL  # what the text designates
    out_g0, out_g1 = _BASIC_LATIN, _ANSEL  # what pymarc will have been told
    unmapped = 0
    i = 0
    while i < len(value):
        byte = value[i]
        if byte == _ESC:
            match = _MARC8_ESCAPE.match(value, i)
            if match:
                g0, g1 = _designate(match.group(0), g0, g1)
                i = match.end()
                continue
            unmapped += 1
            i += 1
            continue
        i += 1
        if byte == 0x20 and out_g0 == _EACC != g0:
            out += b"\x1b(B"  # a space after East Asian text is no third of a character
            out_g0 = _BASIC_LATIN
        if byte <= 0x20 and g0 != _EACC or 0x7F <= byte < 0xA1 or byte == 0xFF:
            out.append(byte)  # space, controls (pymarc drops them), separators
            continue
        if g0 == _EACC and byte < 0x80:
            if out_g0 != _EACC:
                out += b"\x1b$1"
                out_g0 = _EACC
            out.append(byte)  # three bytes a character, not checked
            continue
        wanted = g0 if byte < 0x80 else g1
        code = byte | 0x80 if wanted in _G1_ONLY else byte & 0x7F
        if code >= 0x80 and out_g1 != wanted:
            out += b"\x1b)" + bytes([wanted])
            out_g1 = wanted
        elif code < 0x80 and out_g0 != wanted:
            out += b"\x1b(" + bytes([wanted])
            out_g0 = wanted
        out.append(code)
        if code not in marc8_mapping.CODESETS.get(wanted, {}):
            unmapped += 1
    return bytes(out), unmapped


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
