"""Issue 18's stack targets: a generated stack of about 100 pages holding 10 separator sheets
(skewed, noisy, half of them with a record sheet in the code) and 8 blank backs, delivered as one
multi-page TIFF, as a PDF and as a folder, and scanned duplex in two passes; each ingested into
an archive of its own.

    python -m bench.stacks                      # all four (about 20 minutes on 2 cores)
    python -m bench.stacks --only tiff,duplex

For each: the documents made (expected 10), whether each one's page count, blank pages and
record sheet are the expected ones, pages lost (expected 0), wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arhiva.archive.package import iter_document_ids, load_document
from arhiva.samples.stacks import StackOptions, write_stack

DELIVERIES = ("tiff", "pdf", "folder", "duplex")


def run(kind: str, root: Path) -> dict[str, object]:
    options = StackOptions(
        documents=10, min_pages=6, max_pages=10, blank_backs=8, duplex=kind == "duplex", seed=18
    )
    src, archive = root / kind / "lot", root / kind / "arhiva"
    expected = write_stack(src, options, "tiff" if kind == "duplex" else kind)
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"), "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)]
    if kind == "duplex":
        cmd.append("--duplex")
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - started
    docs = sorted((load_document(archive, d) for d in iter_document_ids(archive)), key=_first_page)
    right = 0
    for doc, want in zip(docs, expected, strict=False):
        fields = {
            k: str(v) for k, v in doc.metadata.model_dump(exclude_defaults=True).items() if k in want.fields
        }
        right += (
            doc.page_count == len(want.texts)
            and list(doc.blank_pages) == want.blank_pages
            and fields == want.fields
        )
    pages = sum(len(e.texts) for e in expected)
    return {
        "delivery": kind,
        "exit": done.returncode,
        "documents": len(docs),
        "expected": len(expected),
        "documents right": right,
        "pages archived": sum(d.page_count for d in docs),
        "pages expected": pages,
        "blank flagged": sum(len(d.blank_pages) for d in docs),
        "wall s": round(wall, 1),
    }


def _first_page(doc: object) -> int:
    name = getattr(doc, "name", "")
    digits = name.rsplit("(page", 1)[-1].strip("s )").split("-")[0]
    return int(digits) if digits.isdigit() else 0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(DELIVERIES))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(kind, Path(tmp)) for kind in args.only.split(",")]
    print(f"load {os.getloadavg()[0]:.2f}")
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
