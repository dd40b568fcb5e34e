"""kill -9 at many different points of an ingest, one after another on the same batch, then a
last run: every document archived and indexed exactly once, nothing half-written left, and the
archive verifies. Documents in = documents archived + quarantined."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from arhiva.archive.fixity import verify_archive
from arhiva.archive.package import iter_document_ids, load_document
from arhiva.indexing.sqlite import SqliteIndex
from arhiva.ingest.discover import Planner
from arhiva.samples.batch import BatchOptions, read_samples_index, write_batch

from .conftest import pages_ocred
from .inputs import corrupt_tiff


def _count(archive: Path, pattern: str) -> int:
    return len(list(archive.glob(pattern)))


def test_kill_nine_at_ten_points_then_finish(tmp_path: Path) -> None:
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=16, max_pages=2, size="a6", seed=23, rotate=False))
    corrupt_tiff(src / "stricat.tif")
    pages = len(read_samples_index(src))
    n_docs = len(Planner(src, "lot").plan().documents)
    env = {
        **os.environ,
        "ARHIVA_WORKERS": "2",
        "PREFECT_HOME": str(tmp_path / "p"),
    }
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)]

    # Each kill point is a moment some step of the pipeline has just happened.
    def indexed_documents() -> int:
        # The package's audit trail says "indexed" as soon as the record is written; the index
        # itself may show it to another reader only when its transaction ends.
        return sum('"indexed"' in f.read_text() for f in archive.glob("documents/*/*/events.jsonl"))

    points: dict[str, Callable[[], int]] = {
        "a page prepared": lambda: _count(archive, ".work/pages/*/*/prepared.json"),
        # The worker opens the page's Tesseract log before it starts, removed once the page is done.
        "Tesseract started": lambda: _count(archive, ".work/pages/*/*/.ocr.*.log"),
        "a page OCRed": lambda: _count(archive, ".work/pages/*/*/ocr.json"),
        "a package being written": lambda: _count(archive, ".staging/*/*"),
        "a document published": lambda: _count(archive, "documents/*/*/metadata.json"),
        "a document indexed": indexed_documents,
    }
    first = ("a file quarantined", lambda: _count(archive, "quarantine/**/*.json"))
    order = [first, *list(points.items()) * 3]
    killed_at: list[str] = []
    for name, counter in order:
        if len(killed_at) >= 10 or len(list(iter_document_ids(archive))) == n_docs:
            break
        before = counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while counter() <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at.append(name)
        proc.wait()
    assert len(killed_at) >= 10, killed_at

    final = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert final.returncode == 3, final.stdout + final.stderr  # only the broken TIFF is left out
    ids = list(iter_document_ids(archive))
    assert len(ids) == n_docs, final.stdout
    assert sum(load_document(archive, d).page_count for d in ids) == pages
    assert len(list((archive / "quarantine").rglob("*.quarantine.json"))) == 1  # in = archived + 1
    index = SqliteIndex.in_archive(archive)
    try:
        assert index.count_documents() == n_docs and index.count_pages() == pages
        report = verify_archive(archive, pdfa=False, indexed=dict(index.document_levels()))
    finally:
        index.close()
    assert report.ok, report.problems
    assert not any((archive / ".staging").glob("*"))
    assert not [p for p in (archive / ".work").rglob("*") if p.is_file()]
    assert pages_ocred(final.stdout) < pages  # pages finished before the kills were not OCRed again
    print(f"killed at: {killed_at}; the last run OCRed {pages_ocred(final.stdout)} of {pages} pages")
