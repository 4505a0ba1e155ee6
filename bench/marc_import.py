"""MARC reading: records per second in each encoding, detection included (issue 15 item 1).

Usage (from the repository root)::

    ./run bench marc_import              # the shared RUSMARC sample x 50 in cp1251, UTF-8, MARC-8
    ./run bench marc_import --repeat 200

The shared sample (81 RUSMARC records in cp1251) is converted to UTF-8 and to MARC-8 by
``yaz-marcdump`` (Debian's yaz), as in ``tests/test_marc_interop.py``, and each file is read and
mapped as the import does (detection, decoding, NFC, mapping; no database), ``--repeat`` copies
in one file. It prints records/s and MB/s per encoding: MARC-8 costs most, as pymarc decodes it
character by character in Python.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mura.app.modules.catalogue import marc_import  # noqa: E402

SAMPLE = (
    Path(os.environ.get("MURA_SHARED", ROOT.parent / "shared")) / "marc" / "rusmarc_nlr_sample.iso"
)


def _yaz(data: bytes, *args: str) -> bytes:
    exe = shutil.which("yaz-marcdump")
    if exe is None:
        sys.exit("yaz-marcdump is not installed: apt-get install yaz")
    done = subprocess.run(
        [exe, "-i", "marc", "-o", "marc", *args, "/dev/stdin"],
        input=data, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout


def main() -> None:
    """Print records/s and MB/s of reading and mapping the sample in each encoding."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="copies of the 81 records")
    args = parser.parse_args()
    cp1251 = SAMPLE.read_bytes()
    utf8 = _yaz(cp1251, "-f", "CP1251", "-t", "UTF-8", "-l", "9=97")
    marc8 = _yaz(utf8, "-f", "UTF-8", "-t", "MARC-8")
    print(f"{'encoding':<8} {'records':>8} {'seconds':>8} {'records/s':>10} {'MB/s':>6}")
    for name, data in (("cp1251", cp1251), ("utf-8", utf8), ("marc-8", marc8)):
        data *= args.repeat
        start = time.perf_counter()
        count = 0
        for raw in marc_import.read_records(data):
            assert raw.record is not None, raw.error
            marc_import.map_record(raw.record)
            count += 1
        seconds = time.perf_counter() - start
        print(
            f"{name:<8} {count:>8} {seconds:>8.2f} {count / seconds:>10.0f} "
            f"{len(data) / seconds / 1e6:>6.2f}"
        )


if __name__ == "__main__":
    main()
