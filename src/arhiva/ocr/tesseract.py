"""Tesseract: exactly one run per page, giving text, word boxes, confidence and a text layer."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytesseract

from arhiva.errors import MissingDependencyError, OcrEngineError
from arhiva.ocr.text import fix_romanian
from arhiva.schemas.models import Word


@dataclass(frozen=True)
class TesseractResult:
    text: str
    words: tuple[Word, ...]
    mean_confidence: float
    text_layer_pdf: Path


def engine_version(cmd: str = "tesseract") -> str:
    """'Tesseract 5.3.0', or MissingDependencyError with how to install it."""
    try:
        out = subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingDependencyError(
            f"Tesseract ({cmd}) cannot be run: {exc}. Install it with: "
            "apt-get install tesseract-ocr tesseract-ocr-ron tesseract-ocr-eng"
        ) from exc
    m = re.search(r"tesseract\s+v?(\S+)", out.stdout + out.stderr)
    return f"Tesseract {m.group(1) if m else 'unknown'}"


def check_languages(languages: str, cmd: str = "tesseract") -> None:
    try:
        out = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingDependencyError(f"Tesseract ({cmd}) cannot list its languages: {exc}") from exc
    have = {line.strip() for line in out.stdout.splitlines()[1:]}
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
        raise MissingDependencyError(
            f"Tesseract has no data for language(s) {', '.join(missing)}; install: apt-get install {pkgs}"
        )


def _parse_tsv(tsv: str) -> tuple[tuple[Word, ...], float]:
    words: list[Word] = []
    confs: list[float] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        text = fix_romanian((row.get("text") or "").strip())
        conf = float(row.get("conf") or -1)
        if not text or conf < 0:
            continue
        box = (int(row["left"]), int(row["top"]), int(row["width"]), int(row["height"]))
        words.append(Word(text=text, confidence=round(conf, 2), box=box))
        confs.append(conf)
    mean = round(sum(confs) / len(confs), 2) if confs else 0.0
    return tuple(words), mean


def ocr_page(
    image: Path,
    out_base: Path,
    *,
    languages: str,
    dpi: int,
    cmd: str = "tesseract",
    timeout: float = 300.0,
) -> TesseractResult:
    """Run Tesseract once on a prepared page image.

    One process writes all three outputs: `out_base.txt` (text), `out_base.tsv` (words with
    boxes and confidence) and `out_base.pdf` (an invisible text layer the size of the page).
    """
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # threads per page make Tesseract slower here
    pytesseract.pytesseract.tesseract_cmd = cmd
    config = f"--psm 3 --dpi {dpi} -c textonly_pdf=1 -c tessedit_create_tsv=1"
    try:
        pytesseract.pytesseract.run_tesseract(
            str(image),
            str(out_base),
            extension="pdf txt",
            lang=languages,
            config=config,
            timeout=timeout,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise MissingDependencyError(f"Tesseract ({cmd}) is not installed or not on PATH") from exc
    except pytesseract.TesseractError as exc:
        raise OcrEngineError(f"Tesseract failed (exit {exc.status}): {str(exc.message)[-500:]}") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise OcrEngineError(f"Tesseract did not finish within {timeout:g} s") from exc
    pdf, txt, tsv = (Path(f"{out_base}.{ext}") for ext in ("pdf", "txt", "tsv"))
    for f in (pdf, txt, tsv):
        if not f.exists():
            raise OcrEngineError(f"Tesseract exited without writing {f.name}")
    words, mean = _parse_tsv(tsv.read_text(encoding="utf-8"))
    text = fix_romanian(txt.read_text(encoding="utf-8")).replace("\f", "").strip() + "\n"
    return TesseractResult(text=text, words=words, mean_confidence=mean, text_layer_pdf=pdf)
