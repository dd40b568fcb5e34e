"""Shared fixtures. Everything runs against the real tools: Tesseract, pikepdf, veraPDF, Prefect."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

REPO = Path(__file__).resolve().parents[1]
VERAPDF = REPO / "scripts" / "verapdf"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def cer(ocr: str, truth: str) -> float:
    """Character error rate: edit distance over the ground truth's length, whitespace collapsed.

    Diacritics count: 'ș' for 'ş' or 'a' for 'ă' is an error.
    """
    a, b = " ".join(ocr.split()), " ".join(truth.split())
    return Levenshtein.distance(a, b) / max(1, len(b))


def verapdf(*pdfs: Path) -> dict[str, str]:
    """Validate with veraPDF as PDF/A-2b. Returns {path: 'PASS'|'FAIL'} and details on failure."""
    out = subprocess.run(
        [str(VERAPDF), "--flavour", "2b", "--format", "text", *map(str, pdfs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL"):
            results[parts[1]] = parts[0]
    assert len(results) == len(pdfs), f"veraPDF gave no verdict:\n{out.stdout}\n{out.stderr}"
    return results


def verapdf_details(pdf: Path) -> str:
    out = subprocess.run(
        [str(VERAPDF), "--flavour", "2b", "--format", "text", "-v", str(pdf)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return out.stdout[-5000:]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_snapshot(root: Path) -> dict[str, tuple[str, int, float]]:
    """Content hash, mode and mtime of everything under root (symlinks not followed)."""
    snap: dict[str, tuple[str, int, float]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        if stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            digest = "link:" + os.readlink(p)
        else:
            digest = "dir"
        snap[str(p.relative_to(root))] = (digest, st.st_mode, st.st_mtime)
    return snap


def pdf_page_text(pdf: Path, page: int) -> str:
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def pages_ocred(ingest_output: str) -> int:
    """How many pages an ingest says it OCRed (its summary: '... N pages OCRed in S s')."""
    found = re.search(r"(\d+) pages OCRed in", " ".join(ingest_output.split()))
    assert found, ingest_output
    return int(found.group(1))


ES_SCRIPT = REPO / "scripts" / "elasticsearch"
TEST_ES_PORT = "9250"


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """A real Elasticsearch node: ARHIVA_TEST_ES_URL if set, else one started by
    scripts/elasticsearch on port 9250 for this session (and stopped after it)."""
    if url := os.environ.get("ARHIVA_TEST_ES_URL"):
        yield url
        return
    env = {**os.environ, "ARHIVA_ES_PORT": TEST_ES_PORT}
    started = subprocess.run([str(ES_SCRIPT), "start"], capture_output=True, text=True, env=env, timeout=600)
    if started.returncode != 0:
        pytest.fail(f"could not start Elasticsearch:\n{started.stderr[-3000:]}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ES_SCRIPT), "stop"], capture_output=True, env=env, timeout=120)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A temporary Prefect API (SQLite) for the whole session, as Prefect's docs recommend."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
