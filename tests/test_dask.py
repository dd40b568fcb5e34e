"""Page work on a real Dask cluster: a scheduler and two workers, separate processes on
127.0.0.1, as on several machines (there, with shared storage for batch and archive)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from arhiva.archive.package import iter_document_ids, load_document
from arhiva.samples.batch import BatchOptions, read_samples_index, write_batch

from .conftest import free_port, pages_ocred

BIN = Path(sys.executable).parent


@pytest.fixture
def cluster(tmp_path: Path):
    port = free_port()
    env = dict(os.environ)
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    ]
    time.sleep(1)
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--no-nanny",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        )
    yield address, [p.pid for p in procs[1:]]
    # Each in its own process group, ended as a group: a worker's temporary Prefect server
    # (a child of the worker) goes with it instead of outliving the test.
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    time.sleep(1)
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # whatever of the group is left


def test_ocr_runs_on_the_dask_workers(tmp_path: Path, cluster) -> None:
    address, worker_pids = cluster
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=3, max_pages=2, size="a6", seed=21, rotate=False))
    pages = len(read_samples_index(src))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "arhiva",
        "ingest",
        str(src),
        "--archive",
        str(archive),
        "--cluster",
        address,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert pages_ocred(out.stdout) == pages
    # The resident Tesseracts are the Dask workers' children, and stay loaded there: both got work.
    for pid in worker_pids:
        children = psutil.Process(pid).children()
        assert any("arhiva.ocr.worker" in " ".join(c.cmdline()) for c in children), pid
    ids = list(iter_document_ids(archive))
    assert sum(load_document(archive, d).page_count for d in ids) == pages
