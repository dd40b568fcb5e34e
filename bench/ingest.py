"""End-to-end ingest benchmark: how close is `arhiva ingest` to the speed of Tesseract alone?

Run from the repository root:  python -m bench.ingest [--pages 20] [--repeat 3] [--standing-server]
[--bitonal]

What is measured, all in one run on the same pages (steps 2 to 4 `--repeat` times, and every
figure reported as the median of the repeats):

1. A sample batch of about `--pages` A4 pages is generated with the project's own generator
   (`arhiva.samples.batch.write_batch`) in a temporary folder. Generation is not timed.
2. `python -m arhiva ingest BATCH --archive ARCHIVE` runs as a subprocess, exactly as a user would
   run it. Its wall time is the headline figure: it includes interpreter start-up, imports,
   Prefect's ephemeral server, page preparation (deskew, rotation), OCR, PDF/A conversion and
   indexing. The peak RSS of its whole process tree (arhiva, Prefect's server, Tesseract) is
   sampled every 0.2 s.
3. The same command runs again on the now-archived batch. Every document is already archived, so
   this second run does no page work: its wall time is the fixed overhead of one invocation
   (mostly start-up and Prefect's ephemeral server). Pages/min "excluding overhead" subtracts it.
4. Plain Tesseract runs on the same pages, prepared as arhiva prepares them (rotation fixed and
   skew removed, with `arhiva.ocr.prepare`, outside the timing): `tesseract IMG OUT -l LANG
   --dpi 300 txt` (LANG: arhiva's languages, `ron` unless ARHIVA_LANGUAGES says otherwise),
   OMP_THREAD_LIMIT=1, one process per core. Only its CPU time counts (getrusage
   of the children). Upright pages matter: on a page lying on its side Tesseract finds little
   text and finishes three times sooner, which would flatter the floor.
5. Quality and size: the character error rate (CER) of the text arhiva stored, page by page
   against the ground truth; the archived bytes per page (document.pdf files over pages); and
   for up to `--reocr` pages, the page image taken back out of the PDF/A (`pdfimages`) and
   OCRed again with plain Tesseract, whose CER is compared with arhiva's on the same pages.

6. Inside arhiva's own run, the CPU time of its resident Tesseracts (the `arhiva.ocr.worker`
   processes, read every 0.2 s with psutil; they idle after the last page, so the last reading is
   their total): "Tesseract's share of arhiva's CPU" divides it by the whole tree's in the same
   minutes. On a VM whose speed drifts (10-15% from one hour to the next was seen here), that
   figure holds where the ratio of two separate phases (4. over 2.) does not.

From these: the "tesseract floor" = Tesseract CPU seconds / os.cpu_count(), i.e. the best wall
time arhiva could reach if OCR were its only cost and it kept every core busy. "throughput vs
floor" = floor / arhiva wall time (100% would be Tesseract's speed exactly). "Tesseract-only CPU /
arhiva CPU" compares CPU seconds instead (arhiva's: its whole process tree, start-up included):
it says how much of arhiva's work is OCR, and unlike wall times it is barely moved by other
programs running on the machine at the same time.

Repeats and drift: plain Tesseract runs before the first arhiva run and again after each one, so
every arhiva run sits between two Tesseract phases, and its floor is their mean. On a VM whose
speed drifts slowly, that cancels most of the drift; the spread of the phases is printed.

With `--standing-server`, each repeat also runs arhiva against a standing Prefect server
(`scripts/prefect-server`, on port 4290 with its own PREFECT_HOME, started before the first
repeat), as production runs it (docs/operations.md): no temporary server to start, and the
server's CPU is reported beside arhiva's instead of inside its process tree. With PREFECT_API_URL
already set, every run uses that server instead.

Caveat: arhiva's one Tesseract run also writes the PDF text layer and the TSV of words, so
per-page OCR costs are close but not identical. If Prefect's database (PREFECT_HOME) has never
been created, the first ingest also pays for creating it. There are no timed asserts: this
prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from PIL import Image

from arhiva.config import Settings
from arhiva.ocr.prepare import prepare_page
from arhiva.samples.batch import BatchOptions, SamplePage, write_batch
from arhiva.samples.quality import archived_samples, cer
from arhiva.text import fix_romanian
from bench.measure import OcrCpu, Timed, children_cpu, machine, num, table, timed_run, write_results

LANGUAGES = Settings().languages  # arhiva's languages (ARHIVA_LANGUAGES or the default), used for
# the plain Tesseract runs too
_OCR_LINE = re.compile(r"(\d+)\s+pages\s+OCRed\s+in\s+([\d.]+)\s+s")


@dataclass(frozen=True)
class IngestRun:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int
    pages_ocred: int | None  # as printed by the command
    flow_s: float | None  # the time the command prints for the flow
    ocr_cpu_s: float  # CPU seconds of its resident Tesseracts


@dataclass(frozen=True)
class RunFigures:
    """One arhiva run and the plain-Tesseract phases just before and just after it."""

    server: str  # "temporary" (arhiva starts Prefect's) or "standing"
    wall_s: float
    cpu_s: float  # arhiva's whole process tree
    server_cpu_s: float | None  # a standing server's CPU during the run (not in cpu_s)
    peak_rss_mb: float
    flow_s: float | None  # the time the command prints for the flow
    pages_per_min: float
    overhead_wall_s: float  # the same command on the archived batch
    pages_per_min_excl_overhead: float | None
    tesseract_cpu_s: float  # plain Tesseract: the mean of the phases before and after
    throughput_vs_floor: float  # floor s / wall s
    throughput_vs_floor_excl_overhead: float | None
    own_tesseract_cpu_s: float | None  # arhiva's own Tesseract runs, timed inside its run
    tesseract_share_same_run: float | None  # that over cpu_s (+ server_cpu_s), same minutes


@dataclass(frozen=True)
class IngestResults:
    """Medians over the repeats with Prefect's temporary server (the one-command set-up); the
    standing server's medians, when measured, in `standing_*`; every run in `runs`."""

    pages: int
    files: int
    bitonal: bool
    repeats: int
    arhiva_wall_s: float
    arhiva_cpu_s: float
    arhiva_flow_s: float | None
    arhiva_peak_rss_mb: float
    arhiva_pages_per_min: float
    overhead_wall_s: float
    arhiva_pages_per_min_excl_overhead: float | None
    tesseract_cpu_s: float
    tesseract_cpu_phases: tuple[float, ...]  # every plain-Tesseract phase, in order
    tesseract_floor_s: float
    floor_pages_per_min: float
    throughput_vs_floor: float  # floor s / arhiva wall s
    throughput_vs_floor_excl_overhead: float | None
    cpu_vs_floor: float  # Tesseract-only CPU s / arhiva's CPU s (whole process tree)
    arhiva_tesseract_cpu_s: float | None  # its own Tesseract runs, timed inside its run
    tesseract_share_same_run: float | None  # that over arhiva's CPU s (whole tree), same minutes
    standing_pages_per_min: float | None
    standing_throughput_vs_floor: float | None
    standing_overhead_wall_s: float | None
    standing_tesseract_share_same_run: float | None
    arhiva_cer_median: float
    arhiva_cer_mean: float
    archived_bytes_per_page: int
    reocr_pages: int
    reocr_cer_median: float | None  # plain Tesseract on the images taken out of the PDF/A
    scan_cer_median_same_pages: float | None  # arhiva's own CER on those pages
    runs: tuple[RunFigures, ...]


def generate(folder: Path, pages: int, seed: int, bitonal: bool = False) -> tuple[Path, list[SamplePage]]:
    """Write a sample batch with at least `pages` pages; return its folder and its pages.

    Documents have 1 to `max_pages` pages each, so the document count is a guess, raised and the
    batch regenerated until there are enough pages. Overshooting is accepted (the real page count
    is reported).
    """
    base = BatchOptions(size="a4", seed=seed, bitonal=bitonal)
    per_document = (1 + base.max_pages) / 2
    documents = max(1, math.ceil(pages / per_document))
    batch = folder / "batch"
    while True:
        shutil.rmtree(batch, ignore_errors=True)
        samples = write_batch(batch, BatchOptions(documents=documents, size="a4", seed=seed, bitonal=bitonal))
        if len(samples) >= pages:
            return batch, samples
        per_document = max(1.0, len(samples) / documents)
        documents += max(1, math.ceil((pages - len(samples)) / per_document))


def run_ingest(batch: Path, archive: Path, env: dict[str, str], cluster: str | None = None) -> IngestRun:
    """Run `python -m arhiva ingest` once; exit 3 (some files quarantined) is reported, not fatal."""
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(batch), "--archive", str(archive)]
    if cluster:
        cmd += ["--cluster", cluster]
    with OcrCpu() as ocr:
        timed, proc = timed_run(cmd, env)
    if proc.returncode not in (0, 3):
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
    if proc.returncode == 3:
        print("warning: arhiva quarantined some files; see its output below", file=sys.stderr)
        sys.stderr.write(proc.stdout[-3000:])
    found = _OCR_LINE.search(proc.stdout)
    return IngestRun(
        wall_s=timed.wall_s,
        cpu_s=timed.cpu_s,
        peak_rss_mb=timed.peak_rss_mb,
        exit_code=proc.returncode,
        pages_ocred=int(found.group(1)) if found else None,
        flow_s=float(found.group(2)) if found else None,
        ocr_cpu_s=round(sum(ocr.by_process().values()), 2),
    )


def page_images(batch: Path, samples: list[SamplePage], scratch: Path) -> list[Path]:
    """One upright, deskewed image file per page, as arhiva gives Tesseract."""
    images: list[Path] = []
    for n, page in enumerate(samples):
        out = scratch / f"page-{n:04d}.tif"
        with Image.open(batch / page.file) as img:
            img.seek(page.index)
            img.load()
            prepare_page(img if img.mode == "1" else img.convert("L"), 300, out)
        images.append(out)
    return images


def tesseract_text(image: Path, out_base: Path, dpi: int = 300) -> str:
    """Plain Tesseract, one thread, text only; returns the text (cedillas made comma-below)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    cmd = ["tesseract", str(image), str(out_base), "-l", LANGUAGES, "--dpi", str(dpi), "txt"]
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return fix_romanian(Path(f"{out_base}.txt").read_text(encoding="utf-8"))


def run_tesseract(images: list[Path], out_dir: Path, dpi: int, jobs: int) -> Timed:
    """Plain Tesseract on every image, `jobs` at a time, one thread each; wall and CPU totals."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(
            pool.map(lambda n: tesseract_text(images[n], out_dir / f"page-{n:04d}", dpi), range(len(images)))
        )
    return Timed(wall_s=time.perf_counter() - t0, cpu_s=children_cpu() - cpu0, peak_rss_mb=0.0)


def reocr(archive: Path, batch: Path, scratch: Path, limit: int) -> tuple[list[float], list[float]]:
    """For up to `limit` archived pages: (CER of plain Tesseract on the image in the PDF/A,
    CER of the text arhiva stored for the same page)."""
    again: list[float] = []
    stored: list[float] = []
    for n, page in enumerate(archived_samples(archive, batch)):
        if n >= limit:
            break
        prefix = scratch / f"reocr-{n:04d}"
        subprocess.run(
            ["pdfimages", "-png", "-f", str(page.page), "-l", str(page.page), str(page.pdf), str(prefix)],
            check=True,
            capture_output=True,
        )
        (image,) = scratch.glob(f"{prefix.name}-*.png")
        again.append(cer(tesseract_text(image, prefix), page.truth))
        stored.append(cer(page.text, page.truth))
    return again, stored


STANDING_PORT = 4290
REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def standing_server(folder: Path) -> Iterator[tuple[str, psutil.Process]]:
    """A Prefect server of its own for the benchmark (`scripts/prefect-server` on STANDING_PORT,
    its database in `folder`); yields its API URL and its process, and stops it afterwards."""
    env = {
        **os.environ,
        "ARHIVA_PREFECT_PORT": str(STANDING_PORT),
        "PREFECT_HOME": str(folder),
        "PREFECT_BIN": str(Path(sys.executable).with_name("prefect")),
    }
    script = REPO / "scripts" / "prefect-server"
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, check=False)
    if started.returncode:
        raise SystemExit(f"the standing Prefect server did not start:\n{started.stderr[-2000:]}")
    pid_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"arhiva-prefect-{STANDING_PORT}.pid"
    try:
        yield started.stdout.strip().splitlines()[-1], psutil.Process(int(pid_file.read_text()))
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=False)


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds (user + system) of a running process and its running descendants."""
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def measure(
    pages: int,
    seed: int,
    tmp: Path,
    *,
    bitonal: bool = False,
    reocr_pages: int = 10,
    repeat: int = 1,
    standing: bool = False,
) -> IngestResults:
    t0 = time.perf_counter()
    batch, samples = generate(tmp, pages, seed, bitonal)
    files = len({p.file for p in samples})
    n = len(samples)
    print(f"generated {n} pages in {files} files in {time.perf_counter() - t0:.1f} s: {batch}")
    scratch = tmp / "tesseract"
    scratch.mkdir()
    images = page_images(batch, samples, scratch)
    cores = os.cpu_count() or 1

    def plain_tesseract() -> float:
        print(f"running plain tesseract on {len(images)} prepared pages, {cores} at a time ...", flush=True)
        cpu = run_tesseract(images, scratch, BatchOptions().dpi, cores).cpu_s
        phases.append(round(cpu, 2))
        return cpu

    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "COLUMNS": "200"}
    given = "PREFECT_API_URL" in env
    modes = ["standing (PREFECT_API_URL)" if given else "temporary"]
    if standing and not given:
        modes.append("standing")
    phases: list[float] = []
    runs: list[RunFigures] = []
    kept_archive: Path | None = None
    with contextlib.ExitStack() as stack:
        server: tuple[str, psutil.Process] | None = None
        if "standing" in modes:
            print("starting a standing Prefect server ...", flush=True)
            server = stack.enter_context(standing_server(tmp / "prefect-home"))
        before = plain_tesseract()
        for i in range(repeat):
            done: list[tuple[str, IngestRun, IngestRun, float | None, float | None]] = []
            for mode in modes:
                ours = server if mode == "standing" else None  # the benchmark's own standing server
                run_env = {**env, "PREFECT_API_URL": ours[0]} if ours else env
                tag = f"{i}-{mode.split()[0]}"
                archive = tmp / f"archive-{tag}"
                print(
                    f"repeat {i + 1}/{repeat}: running arhiva ingest ({mode} Prefect server) ...", flush=True
                )
                server_cpu0 = tree_cpu(ours[1]) if ours else 0.0
                first = run_ingest(batch, archive, run_env)
                server_cpu = tree_cpu(ours[1]) - server_cpu0 if ours else None
                own = first.ocr_cpu_s or None
                print("running arhiva ingest again on the archived batch (fixed overhead) ...", flush=True)
                again = run_ingest(batch, archive, run_env)
                if first.pages_ocred is not None and first.pages_ocred != n:
                    print(f"warning: arhiva reports {first.pages_ocred} pages OCRed, the batch has {n}")
                done.append((mode, first, again, own, server_cpu))
                if kept_archive is None:
                    kept_archive = archive
                else:
                    shutil.rmtree(archive, ignore_errors=True)
            after = plain_tesseract()
            tess = (before + after) / 2
            for mode, first, again, own, server_cpu in done:
                runs.append(_figures(n, cores, tess, mode, first, again, own, server_cpu))
            before = after
    assert kept_archive is not None
    spread = (max(phases) - min(phases)) / min(phases)
    print(f"plain Tesseract phases, CPU s: {', '.join(map(str, phases))} (spread {spread:.0%})")

    rates = [cer(p.text, p.truth) for p in archived_samples(kept_archive, batch)]
    pdf_bytes = sum(f.stat().st_size for f in (kept_archive / "documents").rglob("document.pdf"))
    print(f"re-OCRing up to {reocr_pages} archived page images ...", flush=True)
    again_rates, stored_rates = reocr(kept_archive, batch, scratch, reocr_pages)
    if len(rates) != n:
        print(f"warning: {len(rates)} of {n} pages were archived")

    main_runs = [r for r in runs if r.server == modes[0]]
    standing_runs = [r for r in runs if r.server == "standing"]

    def med(field: str, of: list[RunFigures] = main_runs) -> float | None:
        return _median([getattr(r, field) for r in of])

    tess_cpu = statistics.median(phases)
    wall = med("wall_s") or 0.0
    cpu = med("cpu_s") or 0.0
    return IngestResults(
        pages=n,
        files=files,
        bitonal=bitonal,
        repeats=repeat,
        arhiva_wall_s=round(wall, 2),
        arhiva_cpu_s=round(cpu, 2),
        arhiva_flow_s=med("flow_s"),
        arhiva_peak_rss_mb=max(r.peak_rss_mb for r in main_runs),
        arhiva_pages_per_min=round(n / wall * 60, 2),
        overhead_wall_s=med("overhead_wall_s") or 0.0,
        arhiva_pages_per_min_excl_overhead=med("pages_per_min_excl_overhead"),
        tesseract_cpu_s=round(tess_cpu, 2),
        tesseract_cpu_phases=tuple(phases),
        tesseract_floor_s=round(tess_cpu / cores, 2),
        floor_pages_per_min=round(n / (tess_cpu / cores) * 60, 2),
        throughput_vs_floor=med("throughput_vs_floor") or 0.0,
        throughput_vs_floor_excl_overhead=med("throughput_vs_floor_excl_overhead"),
        cpu_vs_floor=round(tess_cpu / cpu, 3),
        arhiva_tesseract_cpu_s=med("own_tesseract_cpu_s"),
        tesseract_share_same_run=med("tesseract_share_same_run"),
        standing_pages_per_min=med("pages_per_min", standing_runs),
        standing_throughput_vs_floor=med("throughput_vs_floor", standing_runs),
        standing_overhead_wall_s=med("overhead_wall_s", standing_runs),
        standing_tesseract_share_same_run=med("tesseract_share_same_run", standing_runs),
        arhiva_cer_median=round(statistics.median(rates), 4),
        arhiva_cer_mean=round(statistics.fmean(rates), 4),
        archived_bytes_per_page=round(pdf_bytes / n),
        reocr_pages=len(again_rates),
        reocr_cer_median=round(statistics.median(again_rates), 4) if again_rates else None,
        scan_cer_median_same_pages=round(statistics.median(stored_rates), 4) if stored_rates else None,
        runs=tuple(runs),
    )


def _figures(
    n: int,
    cores: int,
    tess_cpu: float,
    mode: str,
    first: IngestRun,
    again: IngestRun,
    own: float | None,
    server_cpu: float | None,
) -> RunFigures:
    floor = tess_cpu / cores
    work_s = first.wall_s - again.wall_s
    cpu = first.cpu_s + (server_cpu or 0.0)
    return RunFigures(
        server=mode,
        wall_s=round(first.wall_s, 2),
        cpu_s=round(first.cpu_s, 2),
        server_cpu_s=round(server_cpu, 2) if server_cpu is not None else None,
        peak_rss_mb=first.peak_rss_mb,
        flow_s=first.flow_s,
        pages_per_min=round(n / first.wall_s * 60, 2),
        overhead_wall_s=round(again.wall_s, 2),
        pages_per_min_excl_overhead=round(n / work_s * 60, 2) if work_s > 0 else None,
        tesseract_cpu_s=round(tess_cpu, 2),
        throughput_vs_floor=round(floor / first.wall_s, 3),
        throughput_vs_floor_excl_overhead=round(floor / work_s, 3) if work_s > 0 else None,
        own_tesseract_cpu_s=own,
        tesseract_share_same_run=round(own / cpu, 3) if own else None,
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def rows(r: IngestResults) -> list[tuple[str, str]]:
    kind = "bitonal" if r.bitonal else "greyscale"
    of = f", median of {r.repeats}" if r.repeats > 1 else ""
    out = [
        (f"pages ({kind} A4, 300 dpi)", str(r.pages)),
        (f"arhiva wall s{of}", num(r.arhiva_wall_s)),
        ("arhiva pages/min", num(r.arhiva_pages_per_min)),
        ("arhiva pages/min excl. fixed overhead", num(r.arhiva_pages_per_min_excl_overhead)),
        ("fixed overhead s (ingest of an archived batch)", num(r.overhead_wall_s)),
        (
            "tesseract-only CPU s (median; every phase)",
            f"{num(r.tesseract_cpu_s)}; {', '.join(num(x) for x in r.tesseract_cpu_phases)}",
        ),
        ("floor s (CPU s / cores)", num(r.tesseract_floor_s)),
        ("floor pages/min", num(r.floor_pages_per_min)),
        (
            "throughput vs floor (each run: the phases around it)",
            f"{_pct(r.throughput_vs_floor)}; runs "
            + ", ".join(_pct(x.throughput_vs_floor) for x in r.runs if x.server != "standing"),
        ),
        ("throughput vs floor excl. overhead", _pct(r.throughput_vs_floor_excl_overhead)),
        ("arhiva CPU s (process tree)", num(r.arhiva_cpu_s)),
        ("tesseract-only CPU / arhiva CPU", _pct(r.cpu_vs_floor)),
        ("arhiva's own Tesseract CPU s (same run)", num(r.arhiva_tesseract_cpu_s)),
        ("Tesseract's share of arhiva's CPU (same run)", _pct(r.tesseract_share_same_run)),
    ]
    if r.standing_pages_per_min is not None:
        out += [
            ("standing Prefect server: arhiva pages/min", num(r.standing_pages_per_min)),
            (
                "standing Prefect server: throughput vs floor",
                f"{_pct(r.standing_throughput_vs_floor)}; runs "
                + ", ".join(_pct(x.throughput_vs_floor) for x in r.runs if x.server == "standing"),
            ),
            ("standing Prefect server: fixed overhead s", num(r.standing_overhead_wall_s)),
            (
                "standing Prefect server: Tesseract's share of CPU (arhiva + server)",
                _pct(r.standing_tesseract_share_same_run),
            ),
        ]
    return [
        *out,
        ("peak RSS MB (process tree)", num(r.arhiva_peak_rss_mb, 0)),
        ("arhiva CER median / mean", f"{r.arhiva_cer_median:.2%} / {r.arhiva_cer_mean:.2%}"),
        ("archived KB per page", num(r.archived_bytes_per_page / 1000, 0)),
        (f"re-OCR CER of archived images ({r.reocr_pages} p.)", _pct2(r.reocr_cer_median)),
        ("arhiva CER on the same pages", _pct2(r.scan_cer_median_same_pages)),
    ]


def _pct2(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=20, help="pages to generate (at least) [20]")
    parser.add_argument("--seed", type=int, default=1, help="sample generator seed [1]")
    parser.add_argument("--repeat", type=int, default=1, help="arhiva runs, figures are their medians [1]")
    parser.add_argument(
        "--standing-server",
        action="store_true",
        help="also run arhiva against a standing Prefect server, in every repeat",
    )
    parser.add_argument("--bitonal", action="store_true", help="black-and-white pages instead of greyscale")
    parser.add_argument("--reocr", type=int, default=10, help="archived pages to OCR again [10]")
    parser.add_argument("--keep", action="store_true", help="keep the temporary batch and archive")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.repeat < 1:
        parser.error("--pages and --repeat must be at least 1")
    env_info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-"))
    try:
        results = measure(
            args.pages,
            args.seed,
            tmp,
            bitonal=args.bitonal,
            reocr_pages=args.reocr,
            repeat=args.repeat,
            standing=args.standing_server,
        )
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(rows(results)))
    out = write_results("ingest", {"machine": env_info, "ingest": asdict(results)})
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
