"""OCR benchmark: Mura's pipeline against OCRmyPDF and raw Tesseract, side by side in one run.

    ./run bench ocr_pipeline                 # the 16 corpus pages, all three tools
    ./run bench ocr_pipeline --book 500      # also a 500-page job through Mura (memory)

For each tool: pages per minute, CER and WER of the PDF text layer (``../shared/bench/
ocr_score.py``, pdftotext -raw), output size, and the ratio to OCRmyPDF. Same pages, same
languages (``kaz+rus``), 2 processes each. Mura runs as installed by default: the embedded
broker and a ``mura worker -c 2`` started before the clock starts. The machine is noisy; read
the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MURA_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "pages"
SCORER = SHARED / "bench" / "ocr_score.py"
LANGS = "kaz+rus"


def corpus_files() -> tuple[list[Path], list[str], int]:
    """Files in manifest order (the TIFF's frames last), ground-truth stems, page count."""
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    files: list[Path] = []
    for page in manifest["pages"]:
        path = CORPUS / page["file"]
        if path not in files:
            files.append(path)
    stems = [p["gt"][: -len(".gt.txt")] for p in manifest["pages"]]
    return files, stems, len(manifest["pages"])


def score(pdf: Path, stems: list[str], out: Path) -> tuple[float, float]:
    subprocess.run(
        [
            sys.executable,
            str(SCORER),
            str(CORPUS),
            "--pdf",
            str(pdf),
            "--pages",
            ",".join(stems),
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    overall = json.loads(out.read_text())["overall"]
    return overall["cer"], overall["wer"]


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root``'s process tree, reaped children included.

    Tesseract runs as a child of a pool process, which waits for it: its time lands in that
    process's cutime/cstime. This is what the wall time would be on idle cores, so the ratios
    hold on a machine that is running other work (as this one always is).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def children_cpu_seconds() -> float:
    """CPU seconds of this process's waited-for children (tesseract, ocrmypdf, mura ingest)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class MemorySampler:
    """Samples the memory of a process tree every 0.2 s: peak RSS of one process, peak PSS total.

    The pool processes are forks of the worker and share its pages, so adding their RSS counts
    the shared memory once per process; the proportional set size (PSS) splits each shared page
    among the processes that map it, so its sum is what the tree really holds.
    """

    def __init__(self, root_pid: int) -> None:
        self.root = root_pid
        self.peak_process = 0
        self.peak_total = 0
        self.peak_rss_sum = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        return process_tree(self.root)

    @staticmethod
    def _kb_field(path: str, key: str) -> int:
        """A ``key: N kB`` line of a /proc file, in bytes; 0 once the process is gone."""
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            sizes = [self._kb_field(f"/proc/{pid}/status", "VmRSS:") for pid in tree]
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_rss_sum = max(self.peak_rss_sum, sum(sizes))
                self.peak_total = max(
                    self.peak_total,
                    sum(self._kb_field(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in tree),
                )
            self._stop.wait(0.2)


def run_tesseract(files: list[Path], work: Path) -> tuple[float, dict[Path, float], Path]:
    """Raw Tesseract, one process per file, 2 at a time: the floor.

    Returns:
        Wall seconds, CPU seconds of each file's Tesseract process, and the joined PDF.
    """
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    outs = [work / f"t{i:03d}" for i in range(len(files))]

    def one(item: tuple[Path, Path]) -> float:
        src, out = item
        proc = subprocess.Popen(
            ["tesseract", str(src), str(out), "-l", LANGS, "pdf", "txt"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
        return usage.ru_utime + usage.ru_stime

    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        cpu = list(pool.map(one, zip(files, outs, strict=True)))
    seconds = time.perf_counter() - start
    import pikepdf

    joined = work / "tesseract.pdf"
    with pikepdf.new() as pdf:
        for out in outs:
            with pikepdf.open(out.with_suffix(".pdf")) as part:
                pdf.pages.extend(part.pages)
        pdf.save(joined)
    return seconds, dict(zip(files, cpu, strict=True)), joined


def run_ocrmypdf(files: list[Path], work: Path) -> tuple[float, float, Path]:
    """OCRmyPDF --jobs 2 --rotate-pages --deskew on the pages joined losslessly (img2pdf).

    Returns wall seconds, CPU seconds and the PDF.
    """
    import img2pdf
    from PIL import Image

    frames: list[Path] = []
    for src in files:
        with Image.open(src) as image:
            count = getattr(image, "n_frames", 1)
            if count == 1:
                frames.append(src)
                continue
            for i in range(count):  # img2pdf takes multi-page TIFFs too, but keep it simple
                image.seek(i)
                target = work / f"{src.stem}-{i}.tif"
                image.save(
                    target,
                    compression="group4" if image.mode == "1" else None,
                    dpi=image.info.get("dpi", (300, 300)),
                )
                frames.append(target)
    source = work / "ocrmypdf-in.pdf"
    source.write_bytes(img2pdf.convert([str(f) for f in frames]))
    out = work / "ocrmypdf.pdf"
    cpu = children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ocrmypdf"),
            "--jobs",
            "2",
            "-l",
            LANGS,
            "--rotate-pages",
            "--deskew",
            "--output-type",
            "pdf",
            "--quiet",
            str(source),
            str(out),
        ],
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    return time.perf_counter() - start, children_cpu_seconds() - cpu, out


class MuraStack:
    """A fresh MURA_HOME on the embedded default with a running ``mura worker -c 2``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
        self.env.update(
            MURA_HOME=str(home), OMP_THREAD_LIMIT="1", MURA_DEFAULT_ACCESS="library_owned"
        )
        self.mura("db", "upgrade")
        self.log = home / "worker.log"
        with open(self.log, "w") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "mura.app.cli", "worker", "-c", "2", "--loglevel", "INFO"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        while "ready" not in self.log.read_text():
            if self.worker.poll() is not None:
                raise RuntimeError(self.log.read_text())
            time.sleep(0.2)

    def mura(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "mura.app.cli", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def ingest(self, files: list[Path], title: str) -> tuple[float, dict]:
        start = time.perf_counter()
        out = self.mura(
            "ingest",
            *map(str, files),
            "--title",
            title,
            "--type",
            "book",
            "--lang",
            LANGS,
            "--wait",
            "--json",
            "--timeout",
            "7200",
        )
        return time.perf_counter() - start, json.loads(out)

    def stop(self) -> None:
        self.worker.terminate()
        self.worker.wait(timeout=60)


def row(
    name: str, pages: int, seconds: float, cpu: float, cer: float, wer: float, size: int
) -> dict:
    return {
        "tool": name,
        "pages": pages,
        "seconds": seconds,
        "cpu_per_page": cpu / pages,
        "ppm": pages / seconds * 60,
        "cer": cer,
        "wer": wer,
        "mb": size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=int, default=0, help="also a job of N pages through Mura")
    parser.add_argument("--skip-ocrmypdf", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    files, stems, n_pages = corpus_files()
    work = Path(tempfile.mkdtemp(prefix="mura-bench-ocr-"))
    rows: list[dict] = []
    print(
        f"{n_pages} corpus pages ({len(files)} files), -l {LANGS}, 2 processes each; work: {work}"
    )

    seconds, floor_cpu, pdf = run_tesseract(files, work)
    cpu = sum(floor_cpu.values())
    rows.append(
        row(
            "tesseract (floor)",
            n_pages,
            seconds,
            cpu,
            *score(pdf, stems, work / "t.json"),
            pdf.stat().st_size,
        )
    )

    stack = MuraStack(work / "home")
    try:
        with MemorySampler(stack.worker.pid) as memory:
            worker_cpu, client_cpu = tree_cpu_seconds(stack.worker.pid), children_cpu_seconds()
            seconds, result = stack.ingest(files, "bench corpus")
            worker_cpu = tree_cpu_seconds(stack.worker.pid) - worker_cpu
            client_cpu = children_cpu_seconds() - client_cpu
            cpu = worker_cpu + client_cpu
        pdf = Path(result["pdf_path"])
        rows.append(
            row(
                "mura",
                n_pages,
                seconds,
                cpu,
                *score(pdf, stems, work / "m.json"),
                pdf.stat().st_size,
            )
        )
        mura_memory = memory
        if args.book:
            book = work / "book"
            book.mkdir()
            singles = [f for f in files if f.suffix.lower() != ".tif"]
            # The floor for the book: raw Tesseract's CPU on the same mix of files.
            book_floor = sum(floor_cpu[singles[i % len(singles)]] for i in range(args.book))
            pages = []
            for i in range(args.book):
                src = singles[i % len(singles)]
                target = book / f"{i + 1:04d}{src.suffix}"
                os.link(src, target) if src.stat().st_dev == book.stat().st_dev else shutil.copy(
                    src, target
                )
                pages.append(target)
            with MemorySampler(stack.worker.pid) as book_memory:
                book_cpu = tree_cpu_seconds(stack.worker.pid) + children_cpu_seconds()
                book_seconds, book_result = stack.ingest(pages, f"bench book of {args.book} pages")
                book_cpu = tree_cpu_seconds(stack.worker.pid) + children_cpu_seconds() - book_cpu
    finally:
        stack.stop()

    if not args.skip_ocrmypdf:
        seconds, cpu, pdf = run_ocrmypdf(files, work)
        rows.append(
            row(
                "ocrmypdf --rotate-pages --deskew",
                n_pages,
                seconds,
                cpu,
                *score(pdf, stems, work / "o.json"),
                pdf.stat().st_size,
            )
        )

    base = next((r for r in rows if r["tool"].startswith("ocrmypdf")), None)
    floor = rows[0]
    head = ("tool", "pages/min", "CPU s/p", "CER", "WER", "MB", "vs ocrm", "/floor")
    print("\n{:34} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}".format(*head))
    for r in rows:
        ratio = f"{r['ppm'] / base['ppm']:.2f}" if base else "-"
        print(
            f"{r['tool']:34} {r['ppm']:9.1f} {r['cpu_per_page']:8.2f} {r['cer']:7.2%} "
            f"{r['wer']:7.2%} {r['mb']:7.2f} {ratio:>7} {r['ppm'] / floor['ppm']:6.2f}"
        )
    mura = next(r for r in rows if r["tool"] == "mura")
    print(
        "\nMura overhead over raw Tesseract (target < 15%): "
        f"wall {floor['ppm'] / mura['ppm'] - 1:+.1%}, "
        f"CPU {mura['cpu_per_page'] / floor['cpu_per_page'] - 1:+.1%}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"Mura's CPU: worker tree {worker_cpu / n_pages:.2f} s/page, ingest client "
        f"{client_cpu / n_pages:.2f} s/page ({client_cpu:.1f} s, mostly starting Python: "
        "a fixed cost per job, not per page)"
    )
    if base:
        print(f"OCRmyPDF CPU per page / Mura's: {base['cpu_per_page'] / mura['cpu_per_page']:.2f}")
    print(
        f"Mura worker memory, corpus job: peak process {mura_memory.peak_process / 1e6:.0f} MB, "
        f"worker tree {mura_memory.peak_total / 1e6:.0f} MB PSS "
        f"({mura_memory.peak_rss_sum / 1e6:.0f} MB adding RSS)"
    )
    if args.book:
        print(
            f"\n{args.book}-page job: {book_result['status']}, {book_result['pages_done']} done, "
            f"{book_result['pages_failed']} failed, {args.book / book_seconds * 60:.1f} pages/min, "
            f"PDF {Path(book_result['pdf_path']).stat().st_size / 1e6:.0f} MB"
        )
        print(
            f"  peak worker memory: process {book_memory.peak_process / 1e6:.0f} MB, "
            f"whole worker tree {book_memory.peak_total / 1e6:.0f} MB PSS "
            f"({book_memory.peak_rss_sum / 1e6:.0f} MB adding RSS; target < 600 MB)"
        )
        print(
            f"  CPU {book_cpu / args.book:.2f} s/page, "
            f"{book_cpu / book_floor - 1:+.1%} over raw Tesseract's on the same files "
            f"({book_floor / args.book:.2f} s/page)"
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
