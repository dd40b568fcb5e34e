"""End-to-end ingest benchmark: how close is `arhiva ingest` to the speed of Tesseract alone?

Run from the repository root:  python -m bench.ingest [--pages 20]

What is measured, all in one run on the same pages:

1. A sample batch of about `--pages` A4 pages is generated with the project's own generator
   (`arhiva.samples.batch.write_batch`) in a temporary folder. Generation is not timed.
2. `python -m arhiva ingest BATCH --archive ARCHIVE` runs as a subprocess, exactly as a user would
   run it. Its wall time is the headline figure: it includes interpreter start-up, imports,
   Prefect's ephemeral server, page preparation (deskew, rotation), OCR, PDF/A conversion and
   indexing. The time the command itself prints for the flow is reported as well.
3. The same command runs again on the now-archived batch. Every document is already archived, so
   this second run does no page work: its wall time is the fixed overhead of one invocation
   (mostly start-up and Prefect's ephemeral server). Pages/min "excluding overhead" subtracts it.
4. Plain Tesseract runs on the same pages, prepared as arhiva prepares them (rotation fixed and
   skew removed, with `arhiva.ocr.prepare`, outside the timing): `tesseract IMG OUT -l ron+eng
   --dpi 300 txt`, OMP_THREAD_LIMIT=1, one page after another. Wall time and CPU time (getrusage
   of the children) are recorded. Upright pages matter: on a page lying on its side Tesseract
   finds little text and finishes three times sooner, which would flatter the floor.

From these: the "tesseract floor" = Tesseract CPU seconds / os.cpu_count(), i.e. the best wall
time arhiva could reach if OCR were its only cost and it kept every core busy (arhiva runs one
page per core by default). "arhiva / floor" says how far the pipeline is from that ideal;
"arhiva / sequential tesseract" says what it gains (below 1) or loses over the naive loop.

Caveat: arhiva's one Tesseract run also writes the PDF text layer and the TSV of words, so
per-page OCR costs are close but not identical. If Prefect's database (PREFECT_HOME) has never been created, the first ingest
also pays for creating it. There are no timed asserts: this prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

import arhiva
from arhiva.ocr.prepare import prepare_page
from arhiva.samples.batch import BatchOptions, SamplePage, write_batch

LANGUAGES = "ron+eng"  # arhiva's default languages, used for the plain Tesseract run too
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_OCR_LINE = re.compile(r"(\d+)\s+pages\s+OCRed\s+in\s+([\d.]+)\s+s")


@dataclass(frozen=True)
class Timed:
    wall_s: float
    cpu_s: float  # user + system time of the finished child processes (and their children)


@dataclass(frozen=True)
class IngestRun:
    wall_s: float
    cpu_s: float
    exit_code: int
    pages_ocred: int | None  # as printed by the command
    flow_s: float | None  # the time the command prints for the flow


@dataclass(frozen=True)
class Results:
    timestamp: str
    pages: int
    files: int
    cpu_count: int
    load_1min_at_start: float  # other work on the machine skews every figure
    arhiva_wall_s: float
    arhiva_cpu_s: float
    arhiva_flow_s: float | None
    arhiva_pages_ocred: int | None
    arhiva_pages_per_min: float
    overhead_wall_s: float
    arhiva_pages_per_min_excl_overhead: float | None
    tesseract_wall_s: float
    tesseract_cpu_s: float
    tesseract_floor_s: float
    ratio_arhiva_to_floor: float
    ratio_arhiva_to_tesseract_wall: float
    arhiva_version: str
    tesseract_version: str
    python: str
    git: str | None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_run(cmd: list[str], env: dict[str, str]) -> tuple[Timed, subprocess.CompletedProcess[str]]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    return Timed(wall_s=wall, cpu_s=cpu), proc


def generate(folder: Path, pages: int, seed: int) -> tuple[Path, list[SamplePage]]:
    """Write a sample batch with at least `pages` pages; return its folder and its pages.

    Documents have 1 to `max_pages` pages each, so the document count is a guess, raised and the
    batch regenerated until there are enough pages. Overshooting is accepted (the real page count
    is reported).
    """
    base = BatchOptions(size="a4", seed=seed)
    per_document = (1 + base.max_pages) / 2
    documents = max(1, math.ceil(pages / per_document))
    batch = folder / "batch"
    while True:
        shutil.rmtree(batch, ignore_errors=True)
        samples = write_batch(batch, BatchOptions(documents=documents, size="a4", seed=seed))
        if len(samples) >= pages:
            return batch, samples
        per_document = max(1.0, len(samples) / documents)
        documents += max(1, math.ceil((pages - len(samples)) / per_document))


def run_ingest(batch: Path, archive: Path, env: dict[str, str], cluster: str | None = None) -> IngestRun:
    """Run `python -m arhiva ingest` once; exit 3 (some files quarantined) is reported, not fatal."""
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(batch), "--archive", str(archive)]
    if cluster:
        cmd += ["--cluster", cluster]
    timed, proc = _timed_run(cmd, env)
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
        exit_code=proc.returncode,
        pages_ocred=int(found.group(1)) if found else None,
        flow_s=float(found.group(2)) if found else None,
    )


def page_images(batch: Path, samples: list[SamplePage], scratch: Path) -> list[Path]:
    """One upright, deskewed image file per page, as arhiva gives Tesseract."""
    images: list[Path] = []
    for n, page in enumerate(samples):
        out = scratch / f"page-{n:04d}.tif"
        with Image.open(batch / page.file) as img:
            img.seek(page.index)
            img.load()
            prepare_page(img.convert("L"), 300, out)
        images.append(out)
    return images


def run_tesseract(images: list[Path], out_dir: Path, dpi: int) -> Timed:
    """Plain Tesseract on every image, sequentially, one thread each; returns the totals."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    cpu0, t0 = _children_cpu(), time.perf_counter()
    for i, image in enumerate(images):
        cmd = ["tesseract", str(image), str(out_dir / f"page-{i:04d}"), "-l", LANGUAGES]
        subprocess.run([*cmd, "--dpi", str(dpi), "txt"], env=env, capture_output=True, check=True)
    return Timed(wall_s=time.perf_counter() - t0, cpu_s=_children_cpu() - cpu0)


def _tesseract_version() -> str:
    proc = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).splitlines()[0].strip()


def _git_describe() -> str | None:
    proc = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def _table(r: Results) -> str:
    def num(x: float | None, digits: int = 1) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    rows = [
        ("pages", str(r.pages)),
        ("arhiva wall s", num(r.arhiva_wall_s)),
        ("arhiva pages/min", num(r.arhiva_pages_per_min)),
        ("arhiva pages/min excl. overhead", num(r.arhiva_pages_per_min_excl_overhead)),
        ("tesseract-only CPU s", num(r.tesseract_cpu_s)),
        (f"floor s (CPU s / {r.cpu_count} cores)", num(r.tesseract_floor_s)),
        ("ratio arhiva wall / floor", num(r.ratio_arhiva_to_floor, 2)),
        ("ratio arhiva wall / sequential tesseract wall", num(r.ratio_arhiva_to_tesseract_wall, 2)),
    ]
    details = [
        ("fixed overhead s (ingest of an archived batch)", num(r.overhead_wall_s)),
        ("arhiva flow s (as printed by arhiva)", num(r.arhiva_flow_s)),
        ("arhiva CPU s (incl. children)", num(r.arhiva_cpu_s)),
        ("sequential tesseract wall s", num(r.tesseract_wall_s)),
        ("1-min load average at start", num(r.load_1min_at_start, 2)),
    ]
    width = max(len(k) for k, _ in rows + details)
    lines = [f"{k:<{width}}  {v:>8}" for k, v in rows]
    lines += ["-" * (width + 10)] + [f"{k:<{width}}  {v:>8}" for k, v in details]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=20, help="pages to generate (at least) [20]")
    parser.add_argument("--seed", type=int, default=1, help="sample generator seed [1]")
    parser.add_argument("--keep", action="store_true", help="keep the temporary batch and archive")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")

    load_at_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-"))
    try:
        t0 = time.perf_counter()
        batch, samples = generate(tmp, args.pages, args.seed)
        files = len({p.file for p in samples})
        print(f"generated {len(samples)} pages in {files} files in {time.perf_counter() - t0:.1f} s: {batch}")

        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "COLUMNS": "200"}
        archive = tmp / "archive"
        print("running arhiva ingest ...", flush=True)
        first = run_ingest(batch, archive, env)
        print("running arhiva ingest again on the archived batch (fixed overhead) ...", flush=True)
        again = run_ingest(batch, archive, env)

        scratch = tmp / "tesseract"
        scratch.mkdir()
        images = page_images(batch, samples, scratch)
        print(f"running plain tesseract on {len(images)} pages ...", flush=True)
        tess = run_tesseract(images, scratch, BatchOptions().dpi)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    pages, cores = len(samples), os.cpu_count() or 1
    work_s = first.wall_s - again.wall_s
    floor = tess.cpu_s / cores
    results = Results(
        timestamp=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        pages=pages,
        files=files,
        cpu_count=cores,
        load_1min_at_start=round(load_at_start, 2),
        arhiva_wall_s=round(first.wall_s, 2),
        arhiva_cpu_s=round(first.cpu_s, 2),
        arhiva_flow_s=first.flow_s,
        arhiva_pages_ocred=first.pages_ocred,
        arhiva_pages_per_min=round(pages / first.wall_s * 60, 2),
        overhead_wall_s=round(again.wall_s, 2),
        arhiva_pages_per_min_excl_overhead=round(pages / work_s * 60, 2) if work_s > 0 else None,
        tesseract_wall_s=round(tess.wall_s, 2),
        tesseract_cpu_s=round(tess.cpu_s, 2),
        tesseract_floor_s=round(floor, 2),
        ratio_arhiva_to_floor=round(first.wall_s / floor, 3),
        ratio_arhiva_to_tesseract_wall=round(first.wall_s / tess.wall_s, 3),
        arhiva_version=arhiva.__version__,
        tesseract_version=_tesseract_version(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        git=_git_describe(),
    )
    if first.pages_ocred is not None and first.pages_ocred != pages:
        print(f"warning: arhiva reports {first.pages_ocred} pages OCRed, the batch has {pages}")
    if again.pages_ocred:
        print(f"warning: the overhead run OCRed {again.pages_ocred} pages; overhead is overstated")

    print()
    print(_table(results))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"ingest-{stamp}.json"
    out.write_text(json.dumps(asdict(results), indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
