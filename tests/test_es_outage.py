"""Elasticsearch stopped in the middle of a batch and started again: every document is still
archived, the ingest names what it could not index, and `reindex --pending` completes it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from arhiva.archive.fixity import verify_archive
from arhiva.archive.package import iter_document_ids
from arhiva.indexing.open import open_index
from arhiva.samples.batch import BatchOptions, write_batch

from .conftest import ES_SCRIPT

pytestmark = pytest.mark.es
PORT = "9270"


def _es(action: str) -> str:
    env = {**os.environ, "ARHIVA_ES_PORT": PORT}
    out = subprocess.run([str(ES_SCRIPT), action], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def _indexed(url: str) -> int:
    try:
        # The set of every access level holds every page (search-contract.md).
        with urllib.request.urlopen(f"{url}/outage-restricted/_count", timeout=2) as r:
            return int(__import__("json").load(r)["count"])
    except OSError:
        return 0


def test_elasticsearch_stopped_mid_batch(tmp_path: Path) -> None:
    url = _es("start")
    try:
        src, archive = tmp_path / "lot", tmp_path / "arhiva"
        write_batch(src, BatchOptions(documents=5, max_pages=2, size="a6", seed=29, rotate=False))
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / "p"), "ARHIVA_WORKERS": "2"}
        env.pop("PREFECT_API_URL", None)
        cmd = [
            sys.executable,
            "-m",
            "arhiva",
            "ingest",
            str(src),
            "--archive",
            str(archive),
            "--index",
            f"{url}/outage",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 180
        while _indexed(url) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the batch ended before Elasticsearch could be stopped"
        _es("stop")  # mid-batch
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 5, stdout + stderr
        assert "archived but not indexed" in stdout and "reindex --pending" in stdout
        n_docs = len(list(iter_document_ids(archive)))
        assert "0 files quarantined" in " ".join(stdout.split())

        url = _es("start")  # started again (empty: its data went with the old node)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "arhiva",
                "reindex",
                "--archive",
                str(archive),
                "--index",
                f"{url}/outage",
                "--pending",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0 and f"Indexed {n_docs} pending documents" in done.stdout, (
            done.stdout + done.stderr
        )
        index = open_index(archive, f"{url}/outage")
        try:
            report = verify_archive(archive, pdfa=False, indexed=dict(index.document_levels()))
        finally:
            index.close()
        assert report.ok, report.problems
    finally:
        _es("stop")
