"""An ingest killed with SIGKILL midway, then run again: nothing lost, nothing twice, and the
pages OCRed before the kill are not OCRed again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from arhiva.archive.package import iter_document_ids, load_document
from arhiva.indexing.sqlite import SqliteIndex
from arhiva.samples.batch import BatchOptions, read_samples_index, write_batch

from .conftest import pages_ocred
from .inputs import page, save_png


def test_sigkill_midway_then_resume(tmp_path: Path) -> None:
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=5, max_pages=2, size="a6", seed=11, rotate=False))
    total_pages = len(read_samples_index(src))
    env = {
        **os.environ,
        "ARHIVA_WORKERS": "2",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)]

    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 180
    seen: set[Path] = set()
    # Kill as soon as some pages are OCRed, long before the batch is done. A document is archived
    # (and its pages' work folders removed) as soon as its pages are done, so the OCRed pages are
    # counted as they are seen, not as they are there at one look (on a loaded machine a look
    # could miss the moment two were there at once).
    while True:
        seen.update((archive / ".work" / "pages").glob("*/*/ocr.json"))
        if len(seen) >= 2:
            break
        assert proc.poll() is None and time.monotonic() < deadline, (
            "the first run ended before it could be killed"
        )
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the ingest, its Tesseract workers and its Prefect server
    proc.wait()
    finished = list((archive / ".work" / "pages").glob("*/*/ocr.json"))
    archived_before = len(list(iter_document_ids(archive)))
    assert archived_before < 5, "the kill came too late to test anything"

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    again = pages_ocred(second.stdout)
    assert again <= total_pages - len(finished)  # what was finished before the kill was not redone

    ids = list(iter_document_ids(archive))
    assert len(ids) == 5
    assert sum(load_document(archive, d).page_count for d in ids) == total_pages
    index = SqliteIndex.in_archive(archive)
    try:
        assert index.count_documents() == 5 and index.count_pages() == total_pages
    finally:
        index.close()
    leftovers = list((archive / ".staging").rglob("*")) + [
        p for p in (archive / ".work").rglob("*") if p.is_file()
    ]
    assert leftovers == []
    print(f"{total_pages} pages: {len(finished)} OCRed before the kill, {again} after")


def test_two_ingests_of_one_folder_at_once(tmp_path: Path) -> None:
    from arhiva.archive.fixity import check_package

    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=3, max_pages=2, size="a6", seed=13, rotate=False))
    total_pages = len(read_samples_index(src))
    env = {**os.environ, "ARHIVA_WORKERS": "1"}
    env.pop("PREFECT_API_URL", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PREFECT_HOME": str(tmp_path / f"prefect-{n}")},
        )
        for n in (1, 2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ids = list(iter_document_ids(archive))
    assert len(ids) == 3 and all(check_package(archive, d)[1] == [] for d in ids)
    index = SqliteIndex.in_archive(archive)
    try:
        assert index.count_documents() == 3 and index.count_pages() == total_pages
    finally:
        index.close()
    assert not any((archive / ".staging").glob("*"))


def test_a_page_over_the_ocr_time_limit_is_set_aside_and_the_batch_goes_on(tmp_path: Path) -> None:
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=2, max_pages=1, size="a6", seed=17, rotate=False))
    # A sheet of four A4 pages of text: Tesseract needs far longer than the limit for it, where an
    # A6 page takes a fraction of a second.
    sheet = Image.new("L", (4960, 7016), 255)
    for i in range(4):
        a4, _ = page(seed=40 + i, size="a4")
        sheet.paste(a4.convert("L"), ((i % 2) * 2480, (i // 2) * 3508))
    save_png(sheet, src / "planse" / "plansa-1.png")
    env = {
        **os.environ,
        "ARHIVA_TESSERACT_TIMEOUT": "3",
        "ARHIVA_WORKERS": "2",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert time.monotonic() - started < 120  # no hang
    assert out.returncode == 3, out.stdout + out.stderr
    assert len(list(iter_document_ids(archive))) == 2  # the batch went on
    (reason_file,) = (archive / "quarantine").rglob("*.quarantine.json")
    record = json.loads(reason_file.read_text())
    assert record["reason"] == "ocr_failed" and "did not finish within 3 s" in record["message"], record
    assert "plansa-1.png" in record["source"]
