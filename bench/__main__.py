"""Every benchmark of issue 5 in one run, side by side: `python -m bench` from the repository root.

Sections (all on by default; `--only ingest,ocrmypdf,...` picks some):

- ingest    arhiva on `--pages` greyscale A4 pages: pages/min, the Tesseract-only floor, the
            ratio, CER, archived bytes per page, re-OCR CER of the archived images, peak RSS
            (bench.ingest); then `--bitonal-pages` black-and-white pages for their bytes per page;
- ocrmypdf  the same greyscale pages through ocrmypdf (bench.versus_ocrmypdf);
- memory    peak RSS of the whole process tree of `arhiva ingest` for each of `--memory-pages`
            (the `--pages` run counts as one of them when the sizes match);
- startup   `arhiva --help` and Prefect's cost per task run (bench.startup);
- index     bulk pages/s and search p50/p95 of both backends at each of `--index-pages`
            (bench.index, in a subprocess each).

It prints one table and writes everything to bench/results/all-<timestamp>.json. A full run
(200 pages, memory at 20/200/1000 pages, index at 100k and 1M pages) takes more than an hour on
two cores; run it on a quiet machine: other work skews every figure (the 1-minute load average at
the start is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from arhiva.samples.batch import read_samples_index
from bench import ingest, startup, versus_ocrmypdf
from bench.measure import machine, num, table, write_results

SECTIONS = ("ingest", "ocrmypdf", "memory", "startup", "index")


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def _index(pages: int, runs: int) -> dict[str, object]:
    cmd = [sys.executable, "-m", "bench.index", "--pages", str(pages), "--runs", str(runs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    sys.stdout.write(proc.stdout[-4000:])
    found = re.search(r"wrote (\S+\.json)", proc.stdout)
    if proc.returncode or not found:
        raise SystemExit(f"bench.index --pages {pages} failed:\n{proc.stderr[-3000:]}")
    return json.loads(Path(found.group(1)).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").partition("\n")[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections to run, of {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--pages", type=int, default=200, help="greyscale pages for ingest and ocrmypdf [200]"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="arhiva runs on the greyscale pages, medians reported [3]"
    )
    parser.add_argument(
        "--standing-server",
        action="store_true",
        help="ingest: also run arhiva against a standing Prefect server, as production does",
    )
    parser.add_argument("--bitonal-pages", type=int, default=20, help="bitonal pages for their size [20]")
    parser.add_argument(
        "--memory-pages", default="20,200,1000", help="batch sizes for peak RSS [20,200,1000]"
    )
    parser.add_argument(
        "--index-pages", default="100000,1000000", help="index sizes, both backends [100000,1000000]"
    )
    parser.add_argument("--index-runs", type=int, default=10, help="timed runs of each query [10]")
    parser.add_argument("--seed", type=int, default=1, help="sample generator seed [1]")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := only - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    report: dict[str, object] = {"machine": machine()}
    rows: list[tuple[str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-all-"))
    try:
        memory: dict[int, float] = {}
        if "ingest" in only or "ocrmypdf" in only:
            grey = (
                ingest.measure(
                    args.pages, args.seed, tmp / "grey", repeat=args.repeat, standing=args.standing_server
                )
                if "ingest" in only
                else None
            )
            if grey:
                report["ingest"] = asdict(grey)
                memory[grey.pages] = grey.arhiva_peak_rss_mb
                rows += ingest.rows(grey)
            if "ocrmypdf" in only:
                if grey:  # the very pages arhiva had
                    batch = tmp / "grey" / "batch"
                    samples = read_samples_index(batch)
                else:
                    batch, samples = ingest.generate(tmp / "ocrmypdf", args.pages, args.seed)
                (tmp / "ocrmypdf").mkdir(exist_ok=True)
                theirs = versus_ocrmypdf.measure(batch, samples, tmp / "ocrmypdf", os.cpu_count() or 1)
                report["ocrmypdf"] = asdict(theirs)
                rows += versus_ocrmypdf.rows(theirs)
                if grey:
                    rows.append(
                        (
                            "arhiva pages/min / ocrmypdf pages/min",
                            num(grey.arhiva_pages_per_min / theirs.pages_per_min, 2),
                        )
                    )
            if "ingest" in only and args.bitonal_pages:
                bitonal = ingest.measure(
                    args.bitonal_pages, args.seed, tmp / "bitonal", bitonal=True, reocr_pages=0
                )
                report["ingest_bitonal"] = asdict(bitonal)
                rows += [
                    (
                        f"bitonal pages ({bitonal.pages}): archived KB per page",
                        num(bitonal.archived_bytes_per_page / 1000, 0),
                    ),
                    ("bitonal pages: arhiva CER median", f"{bitonal.arhiva_cer_median:.2%}"),
                ]
        if "memory" in only:
            for pages in _ints(args.memory_pages):
                if not any(abs(n - pages) <= 3 for n in memory):
                    folder = tmp / f"memory-{pages}"
                    batch, samples = ingest.generate(folder, pages, args.seed)
                    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
                    print(
                        f"running arhiva ingest on {len(samples)} pages for its peak memory ...", flush=True
                    )
                    memory[len(samples)] = ingest.run_ingest(batch, folder / "archive", env).peak_rss_mb
                    shutil.rmtree(folder, ignore_errors=True)
            report["memory_peak_rss_mb"] = {str(k): v for k, v in sorted(memory.items())}
            rows += [(f"peak RSS MB at {k} pages", num(v, 0)) for k, v in sorted(memory.items())]
        if "startup" in only:
            fixed = startup.measure(tasks=300, runs=7)
            report["startup"] = asdict(fixed)
            rows += startup.rows(fixed)
        if "index" in only:
            report["index"] = {}
            for pages in _ints(args.index_pages):
                result = _index(pages, args.index_runs)
                report["index"][str(pages)] = result  # type: ignore[index]
                for b in result["backends"]:
                    rows += [
                        (
                            f"index {b['backend']} {pages:,} pages: bulk pages/s",
                            num(b["bulk_pages_per_s"], 0),
                        ),
                        (
                            f"index {b['backend']} {pages:,} pages: search p50 / p95 ms",
                            f"{b['p50_ms']:.1f} / {b['p95_ms']:.1f}",
                        ),
                    ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(table(rows))
    print(f"\nwrote {write_results('all', report)}")


if __name__ == "__main__":
    main()
