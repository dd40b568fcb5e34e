"""What issue 18's per-page checks cost: the separator-code search (zxing-cpp on the 150 dpi copy)
and the ink coverage of the blank-page test, against the whole of a page's processing.

    python -m bench.page_checks            # 10 generated A4 greyscale pages at 300 dpi
    python -m bench.page_checks --pages 30

Prints milliseconds per page (median) and their share of a page's time through
`arhiva.ocr.page.process` on one worker (decode, straighten, OCR, one-page PDF).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from arhiva.config import Settings
from arhiva.ocr import page as ocr_page
from arhiva.ocr.barcodes import separator_code
from arhiva.ocr.blank import ink_coverage
from arhiva.ocr.decode import load_page
from arhiva.samples.batch import BatchOptions, write_batch
from arhiva.schemas.models import FileKind, PageRef


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "lot"
        write_batch(src, BatchOptions(documents=args.pages, max_pages=1, size="a4", seed=5, rotate=False))
        files = sorted(p for p in src.rglob("*") if p.suffix in (".png", ".jpg", ".tif"))[: args.pages]
        settings = Settings(workers=1)
        sep_ms, ink_ms, page_ms = [], [], []
        for n, path in enumerate(files, start=1):
            ref = PageRef(
                source=str(path.relative_to(src)), source_sha256=f"{n:064x}", index=0, kind=FileKind.image
            )
            loaded = load_page(src, ref, 300, 300)
            gray = np.asarray(loaded.image.convert("L"))
            t = time.process_time()
            separator_code(np.asarray(loaded.image.convert("L")), loaded.dpi)
            sep_ms.append((time.process_time() - t) * 1000)
            t = time.process_time()
            ink_coverage(gray, loaded.dpi)
            ink_ms.append((time.process_time() - t) * 1000)
            t = time.perf_counter()
            ocr_page.process(src, ref, n, Path(tmp) / "work", settings)
            page_ms.append((time.perf_counter() - t) * 1000)
    sep, ink, whole = (statistics.median(v) for v in (sep_ms, ink_ms, page_ms))
    print(f"{len(files)} A4 pages, load {os.getloadavg()[0]:.2f}")
    print(
        f"separator search (grey copy, 150 dpi, zxing-cpp): {sep:6.1f} ms a page, {sep / whole:.1%} of a page"
    )
    print(
        f"ink coverage (blank-page test):                    {ink:6.1f} ms a page, {ink / whole:.1%} of a page"
    )
    print(f"a page through ocr.page.process, one worker:       {whole:6.0f} ms")


if __name__ == "__main__":
    main()
