"""A full disk: the batch stops with a clear message, no partial file is taken as finished,
and once there is space again the same command finishes the batch. Uses a small tmpfs
(mounting needs root, as in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arhiva.archive.fixity import check_package
from arhiva.archive.package import iter_document_ids, load_document
from arhiva.samples.batch import BatchOptions, read_samples_index, write_batch


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    # the batch needs about 5 MB at its peak (page work files and the packages); 2 MB runs out
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_stops_cleanly_and_resumes(tmp_path: Path, small_disk: Path) -> None:
    src, archive = tmp_path / "lot", small_disk / "arhiva"
    write_batch(src, BatchOptions(documents=4, max_pages=2, size="a6", seed=91, rotate=False))
    pages = len(read_samples_index(src))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "ARHIVA_WORKERS": "2"}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)]

    full = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert full.returncode == 7, full.stdout + full.stderr
    assert "no space left on the device" in " ".join(full.stderr.split())
    assert "Traceback" not in full.stderr
    for doc_id in iter_document_ids(archive):  # whatever was published is whole
        assert check_package(archive, doc_id)[1] == []
    assert not any((archive / ".staging").glob("*"))  # no half-written package left behind
    before = len(list(iter_document_ids(archive)))
    assert not (archive / "quarantine").exists()  # a full disk is no fault of the scans

    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    ids = list(iter_document_ids(archive))
    assert len(ids) == 4
    assert [p for d in ids for p in check_package(archive, d)[1]] == []
    assert sum(load_document(archive, d).page_count for d in ids) == pages
    assert f"{before} already archived" in " ".join(again.stdout.split())
    print(f"disk full after {before} of 4 documents; the second run finished the other {4 - before}")
