"""The same pages through ocrmypdf, the tool most users would pick instead: speed and accuracy.

Run from the repository root:  python -m bench.versus_ocrmypdf [--pages 20]

The sample pages (the same generator and seed as `bench.ingest`) are put, losslessly and
untimed, into one image-only PDF at 300 dpi with img2pdf: ocrmypdf's best case, one process for
the whole batch. Then, timed:

    ocrmypdf --jobs N --deskew --rotate-pages --output-type pdfa -l LANG IN.pdf OUT.pdf

with N the number of cores, LANG arhiva's languages (as in bench.ingest) and OMP_THREAD_LIMIT=1
as for arhiva. Its text layer is read page by
page with `pdftotext -raw` (the default mode scrambles its reading order), the cedilla letters
made comma-below as arhiva does (so that only recognition errors count), and compared with the
ground truth.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import img2pdf
from PIL import Image

from arhiva.samples.batch import SamplePage
from arhiva.samples.quality import cer
from arhiva.text import fix_romanian
from bench.ingest import LANGUAGES
from bench.measure import machine, num, table, timed_run, write_results


@dataclass(frozen=True)
class OcrmypdfResults:
    pages: int
    jobs: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    pages_per_min: float
    cer_median: float
    cer_mean: float
    bytes_per_page: int
    version: str


def image_pdf(batch: Path, samples: list[SamplePage], out: Path) -> None:
    """All pages, in order, in one image-only PDF (lossless, via PNG files and img2pdf)."""
    pngs: list[Path] = []
    for n, page in enumerate(samples):
        png = out.parent / f"in-{n:04d}.png"
        with Image.open(batch / page.file) as img:
            img.seek(page.index)
            img.load()
            img.save(png, dpi=(300, 300))
        pngs.append(png)
    out.write_bytes(img2pdf.convert([str(p) for p in pngs]))
    for png in pngs:
        png.unlink()


def page_text(pdf: Path, page: int) -> str:
    cmd = ["pdftotext", "-raw", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def measure(batch: Path, samples: list[SamplePage], tmp: Path, jobs: int) -> OcrmypdfResults:
    source = tmp / "ocrmypdf-in.pdf"
    image_pdf(batch, samples, source)
    out = tmp / "ocrmypdf-out.pdf"
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    ocrmypdf = Path(sys.executable).with_name("ocrmypdf")
    cmd = [str(ocrmypdf), "--jobs", str(jobs), "--deskew", "--rotate-pages", "--output-type", "pdfa"]
    print(f"running ocrmypdf on {len(samples)} pages ...", flush=True)
    timed, proc = timed_run([*cmd, "-l", LANGUAGES, str(source), str(out)], env)
    if proc.returncode:
        raise SystemExit(f"ocrmypdf failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}")
    rates = [
        cer(fix_romanian(page_text(out, n)), (batch / p.ground_truth).read_text(encoding="utf-8"))
        for n, p in enumerate(samples, start=1)
    ]
    version = subprocess.run([str(ocrmypdf), "--version"], capture_output=True, text=True).stdout.strip()
    return OcrmypdfResults(
        pages=len(samples),
        jobs=jobs,
        wall_s=round(timed.wall_s, 2),
        cpu_s=round(timed.cpu_s, 2),
        peak_rss_mb=timed.peak_rss_mb,
        pages_per_min=round(len(samples) / timed.wall_s * 60, 2),
        cer_median=round(statistics.median(rates), 4),
        cer_mean=round(statistics.fmean(rates), 4),
        bytes_per_page=round(out.stat().st_size / len(samples)),
        version=version,
    )


def rows(r: OcrmypdfResults) -> list[tuple[str, str]]:
    return [
        (f"ocrmypdf {r.version} --jobs {r.jobs}: pages", str(r.pages)),
        ("ocrmypdf wall s", num(r.wall_s)),
        ("ocrmypdf pages/min", num(r.pages_per_min)),
        ("ocrmypdf CER median / mean", f"{r.cer_median:.2%} / {r.cer_mean:.2%}"),
        ("ocrmypdf KB per page", num(r.bytes_per_page / 1000, 0)),
        ("ocrmypdf peak RSS MB (process tree)", num(r.peak_rss_mb, 0)),
    ]


def main(argv: list[str] | None = None) -> None:
    from bench.ingest import generate

    parser = argparse.ArgumentParser(
        prog="python -m bench.versus_ocrmypdf", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=20, help="pages to generate (at least) [20]")
    parser.add_argument("--seed", type=int, default=1, help="sample generator seed [1]")
    args = parser.parse_args(argv)
    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-ocrmypdf-"))
    try:
        batch, samples = generate(tmp, args.pages, args.seed)
        results = measure(batch, samples, tmp, os.cpu_count() or 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(rows(results)))
    print(f"\nwrote {write_results('ocrmypdf', {'machine': info, 'ocrmypdf': asdict(results)})}")


if __name__ == "__main__":
    main()
