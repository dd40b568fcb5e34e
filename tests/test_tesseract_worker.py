"""The resident Tesseract workers: the same outputs as Tesseract's command line, one process per
page in flight that stays loaded, and a page that hangs or kills its worker fails alone."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from arhiva.errors import OcrEngineError
from arhiva.ocr.tesseract import ResidentTesseract, TesseractPool, ocr_page
from arhiva.ocr.worker import OcrRequest
from arhiva.text import fix_romanian

from .conftest import cer
from .inputs import page, save_png

CLI_OPTIONS = ("--psm", "3", "--dpi", "300", "-l", "ron", "-c", "textonly_pdf=1", "pdf", "txt", "tsv")


def _undated(pdf: Path) -> bytes:
    return re.sub(rb"/CreationDate *\(D:[^)]*\)", b"", pdf.read_bytes())


def _tsv_words(tsv: Path) -> list[tuple[str, float, tuple[int, ...]]]:
    """The word rows of Tesseract's TSV that have text: text, confidence, box."""
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:]]
    return [
        (fix_romanian(r[11].strip()), round(float(r[10]), 2), tuple(map(int, r[6:10])))
        for r in rows
        if r[0] == "5" and len(r) > 11 and r[11].strip() and float(r[10]) >= 0
    ]


@pytest.fixture
def pool():
    p = TesseractPool()
    yield p
    p.close()


def test_same_outputs_as_the_command_line_and_the_worker_stays(tmp_path: Path, pool: TesseractPool) -> None:
    images = []
    for seed in (31, 32):
        img, truth = page(seed=seed, size="a6")
        images.append((save_png(img, tmp_path / f"p{seed}.png"), truth))
    pids = set()
    for image, truth in images:
        base = tmp_path / f"resident.{image.stem}"
        result = ocr_page(image, base, languages="ron", dpi=300, pool=pool)
        cli = tmp_path / f"cli.{image.stem}"
        subprocess.run(
            ["tesseract", str(image), str(cli), *CLI_OPTIONS],
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        assert Path(f"{base}.txt").read_text() == Path(f"{cli}.txt").read_text()
        assert _undated(Path(f"{base}.pdf")) == _undated(Path(f"{cli}.pdf"))
        assert [(w.text, w.confidence, w.box) for w in result.words] == _tsv_words(Path(f"{cli}.tsv"))
        assert cer(result.text, truth) < 0.03
        assert result.words and result.mean_confidence > 80
        with pool.worker() as worker:
            pids.add(worker.pid)
    assert len(pids) == 1  # one page at a time: the same process, its model loaded once


def test_a_page_over_its_time_limit_fails_and_the_worker_goes_on(tmp_path: Path, pool: TesseractPool) -> None:
    img, _ = page(seed=33, size="a5")
    image = save_png(img, tmp_path / "p.png")
    with pytest.raises(OcrEngineError, match=r"did not finish within 0.05 s"):
        ocr_page(image, tmp_path / "late", languages="ron", dpi=300, timeout=0.05, pool=pool)
    assert ocr_page(image, tmp_path / "again", languages="ron", dpi=300, pool=pool).words


def test_regions_share_the_page_time_limit(tmp_path: Path, pool: TesseractPool) -> None:
    img, _ = page(seed=33, size="a5")
    image = save_png(img, tmp_path / "p.png")
    blank = np.flatnonzero((np.asarray(img) < 128).sum(axis=1) == 0)  # rows between text lines
    cut = int(blank[np.argmin(abs(blank - img.height // 2))])
    halves = [(0, 0, img.width, cut), (0, cut, img.width, img.height)]
    with pytest.raises(OcrEngineError, match=r"did not finish within 0.05 s"):
        ocr_page(image, tmp_path / "late", languages="ron", dpi=300, timeout=0.05, regions=halves, pool=pool)
    whole = ocr_page(image, tmp_path / "whole", languages="ron", dpi=300, pool=pool)
    read = ocr_page(image, tmp_path / "halves", languages="ron", dpi=300, regions=halves, pool=pool)
    # Each region is read once, its words in page coordinates: the same words as the whole page.
    assert [w.text for w in read.words] == [w.text for w in whole.words]
    assert [len(layer.pdf.read_bytes()) > 0 for layer in read.text_layers] == [True, True]
    assert (
        max(
            abs(a - b)
            for w, v in zip(read.words, whole.words, strict=True)
            for a, b in zip(w.box, v.box, strict=True)
        )
        <= 3
    )


def test_a_worker_that_hangs_is_killed(tmp_path: Path) -> None:
    worker = ResidentTesseract([sys.executable, "-c", "import time; time.sleep(600)"])
    request = OcrRequest(
        image="x.tif", out_base=str(tmp_path / "x"), languages="ron", dpi=300, timeout_ms=200
    )
    started = time.monotonic()
    with pytest.raises(OcrEngineError, match=r"did not finish within 0.2 s"):
        worker.ocr(request, 0.2)
    assert time.monotonic() - started < 30
    assert not worker.alive


def test_a_worker_that_dies_fails_its_page_and_is_replaced(tmp_path: Path) -> None:
    crashing = TesseractPool([sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(7)"])
    with pytest.raises(OcrEngineError, match=r"OCR worker stopped \(exit code 7\)"):
        ocr_page(tmp_path / "x.tif", tmp_path / "x", languages="ron", dpi=300, pool=crashing)
    with crashing.worker() as first, crashing.worker() as second:
        assert first.alive and second.alive and first.pid != second.pid
    crashing.close()
    assert not first.alive and not second.alive
