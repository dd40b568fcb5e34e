"""Tesseract: exactly one recognition per page, giving text, word boxes, confidence and a text
layer, by resident Tesseract processes (`arhiva.ocr.worker`) that load the language model once."""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from arhiva import proc
from arhiva.errors import MissingDependencyError, OcrEngineError
from arhiva.ocr.worker import OcrReply, OcrRequest
from arhiva.schemas.models import Word
from arhiva.text import fix_romanian

INSTALL = "run scripts/setup (it installs Tesseract with its languages and tesserocr)"
WORKER_COMMAND = (sys.executable, "-m", "arhiva.ocr.worker")


@dataclass(frozen=True)
class TesseractResult:
    text: str
    words: tuple[Word, ...]
    mean_confidence: float
    text_layer_pdf: Path


def _tesserocr() -> ModuleType:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        import tesserocr
    except ImportError as exc:
        raise MissingDependencyError(
            f"libtesseract cannot be loaded through tesserocr ({exc}); {INSTALL}"
        ) from exc
    return tesserocr


def engine_version() -> str:
    """'Tesseract 5.3.0': the library the OCR workers use."""
    return "Tesseract " + _tesserocr().tesseract_version().split()[1]


def installed_languages() -> set[str]:
    return set(_tesserocr().get_languages()[1])


def check_languages(languages: str) -> None:
    have = installed_languages()
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
        raise MissingDependencyError(
            f"Tesseract has no data for language(s) {', '.join(missing)}; install: apt-get install {pkgs}"
        )


class ResidentTesseract:
    """One OCR worker process and the pipes to it; one page at a time."""

    def __init__(self, command: Sequence[str] = WORKER_COMMAND) -> None:
        self._proc = proc.start(command, what="the OCR worker", install=INSTALL)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def ocr(self, request: OcrRequest, timeout: float) -> OcrReply:
        """The worker's reply, or OcrEngineError when it does not answer within `timeout`
        (plus a margin for Tesseract's layout analysis, which its own time limit does not
        cover), or stops; either way this worker is then gone."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(request.model_dump_json() + "\n")
            self._proc.stdin.flush()
        except OSError:
            pass  # it has stopped: reported below, with its exit code
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout * 1.25 + 5)
        if not ready:
            self.close(kill=True)
            raise OcrEngineError(f"Tesseract did not finish within {timeout:g} s")
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            raise OcrEngineError(f"the OCR worker stopped ({_exit_reason(code)}) while reading this page")
        return OcrReply.model_validate_json(line)

    def close(self, kill: bool = False) -> None:
        if kill:
            self._proc.kill()
        elif self._proc.stdin is not None:
            self._proc.stdin.close()  # the worker ends when its input ends
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _exit_reason(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


class TesseractPool:
    """Resident OCR workers, started as they are needed: as many as pages OCRed at once."""

    def __init__(self, command: Sequence[str] = WORKER_COMMAND) -> None:
        self._command = tuple(command)
        self._idle: list[ResidentTesseract] = []
        self._lock = threading.Lock()

    @contextmanager
    def worker(self) -> Iterator[ResidentTesseract]:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive:
            worker = ResidentTesseract(self._command)
        try:
            yield worker
        finally:
            if worker.alive:
                with self._lock:
                    self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_pool = TesseractPool()
atexit.register(_pool.close)


def _words(found: list[tuple[str, float, tuple[int, int, int, int]]]) -> tuple[tuple[Word, ...], float]:
    """The words with text and a confidence (Romanian letters made comma-below), and their mean
    confidence."""
    words = [
        Word(text=fix_romanian(text.strip()), confidence=round(conf, 2), box=box)
        for text, conf, box in found
        if text.strip() and conf >= 0
    ]
    mean = round(sum(w.confidence for w in words) / len(words), 2) if words else 0.0
    return tuple(words), mean


def ocr_page(
    image: Path,
    out_base: Path,
    *,
    languages: str,
    dpi: int,
    timeout: float = 300.0,
    pool: TesseractPool = _pool,
) -> TesseractResult:
    """Recognise a prepared page once, with one of the pool's resident Tesseracts.

    The one recognition gives the text (`out_base.txt`), the words with boxes and confidence, and
    `out_base.pdf`, an invisible text layer the size of the page.
    """
    request = OcrRequest(
        image=str(image),
        out_base=str(out_base),
        languages=languages,
        dpi=dpi,
        timeout_ms=round(timeout * 1000),
    )
    with pool.worker() as worker:
        reply = worker.ocr(request, timeout)
    if not reply.ok:
        raise OcrEngineError(reply.error)
    pdf, txt = Path(f"{out_base}.pdf"), Path(f"{out_base}.txt")
    for f in (pdf, txt):
        if not f.exists():
            raise OcrEngineError(f"Tesseract ended without writing {f.name}")
    words, mean = _words(reply.words)
    text = fix_romanian(txt.read_text(encoding="utf-8")).replace("\f", "").strip() + "\n"
    return TesseractResult(text=text, words=words, mean_confidence=mean, text_layer_pdf=pdf)


def read_sample(
    image: Path, *, languages: str, dpi: int, timeout: float = 60.0, pool: TesseractPool = _pool
) -> tuple[float, int]:
    """Read a sample of a page (a band of text, `arhiva.ocr.orient`) as one block, with one of the
    pool's resident Tesseracts: its mean confidence per letter or digit read, and how many."""
    request = OcrRequest(
        image=str(image),
        out_base=str(image.with_suffix("")),
        languages=languages,
        dpi=dpi,
        timeout_ms=round(timeout * 1000),
        sample=True,
    )
    try:
        with pool.worker() as worker:
            reply = worker.ocr(request, timeout)
    finally:
        Path(f"{request.out_base}.log").unlink(missing_ok=True)  # the worker's messages, read by now
    if not reply.ok:
        raise OcrEngineError(reply.error)
    chars = weighted = 0.0
    for text, confidence, _ in reply.words:
        n = sum(ch.isalnum() for ch in text)
        if n and confidence >= 0:
            chars += n
            weighted += n * confidence
    return (weighted / chars if chars else 0.0), int(chars)
