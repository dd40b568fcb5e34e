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
from arhiva.ocr.layout import Box
from arhiva.ocr.worker import OcrReply, OcrRequest, describe, model_description
from arhiva.schemas.models import Word
from arhiva.text import fix_romanian

INSTALL = "run scripts/setup (it installs Tesseract with its languages and tesserocr)"
WORKER_COMMAND = (sys.executable, "-m", "arhiva.ocr.worker")


@dataclass(frozen=True)
class TextLayer:
    """Tesseract's invisible text of a page or of one region of it (`box`, None: the whole page)."""

    pdf: Path
    box: Box | None = None


@dataclass(frozen=True)
class TesseractResult:
    text: str
    words: tuple[Word, ...]
    mean_confidence: float
    text_layers: tuple[TextLayer, ...]  # in reading order
    engine: str  # the engine and models that read it (`arhiva.ocr.worker.describe`)


def _tesserocr() -> ModuleType:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        import tesserocr
    except ImportError as exc:
        raise MissingDependencyError(
            f"libtesseract cannot be loaded through tesserocr ({exc}); {INSTALL}"
        ) from exc
    return tesserocr


def models_dir(tessdata: Path | None = None) -> Path:
    """Where Tesseract finds its language models: `tessdata`, or the library's own default."""
    return tessdata or Path(_tesserocr().get_languages()[0])


def library_version() -> str:
    """'5.3.0': the Tesseract library the OCR workers use."""
    return str(_tesserocr().tesseract_version().split()[1])


def engine_version(languages: str, tessdata: Path | None = None) -> str:
    """The library the OCR workers use and the models of `languages`: 'Tesseract 5.3.0; ron
    4.00.00alpha:ron:synth20170629:[...] sha256:9adfde6b51ba' (`arhiva.ocr.worker.describe`)."""
    _tesserocr()
    return describe(str(models_dir(tessdata)), languages)


def model_version(lang: str, tessdata: Path | None = None) -> str:
    """'ron 4.00.00alpha:ron:synth20170629:[...] sha256:9adfde6b51ba'."""
    return model_description(str(models_dir(tessdata)), lang)


def installed_languages(tessdata: Path | None = None) -> set[str]:
    tesserocr = _tesserocr()
    return set((tesserocr.get_languages(str(tessdata)) if tessdata else tesserocr.get_languages())[1])


def check_languages(languages: str, tessdata: Path | None = None) -> None:
    have = installed_languages(tessdata)
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
    tessdata: Path | None = None,
    regions: Sequence[Box] = (),
    pool: TesseractPool = _pool,
) -> TesseractResult:
    """Recognise a prepared page once, with one of the pool's resident Tesseracts: whole, or
    `regions` one after the other (`arhiva.ocr.layout`), each recognised once.

    The recognition gives the text (`out_base.txt`, or `out_base.<i>.txt` per region), the words
    with boxes (in page coordinates) and confidence, and an invisible text layer the size of the
    page or of each region (`out_base.pdf`, `out_base.<i>.pdf`).
    """
    request = OcrRequest(
        image=str(image),
        out_base=str(out_base),
        languages=languages,
        dpi=dpi,
        timeout_ms=round(timeout * 1000),
        tessdata=str(tessdata or ""),
        regions=list(regions),
    )
    with pool.worker() as worker:
        reply = worker.ocr(request, timeout)
    if not reply.ok:
        raise OcrEngineError(reply.error)
    parts = [(f"{out_base}.{i}", box) for i, box in enumerate(regions)] or [(str(out_base), None)]
    layers, texts = [], []
    for base, box in parts:
        pdf, txt = Path(f"{base}.pdf"), Path(f"{base}.txt")
        for f in (pdf, txt):
            if not f.exists():
                raise OcrEngineError(f"Tesseract ended without writing {f.name}")
        layers.append(TextLayer(pdf, box))
        texts.append(fix_romanian(txt.read_text(encoding="utf-8")).replace("\f", "").strip())
    words, mean = _words(reply.words)
    text = "\n\n".join(t for t in texts if t) + "\n"
    return TesseractResult(
        text=text, words=words, mean_confidence=mean, text_layers=tuple(layers), engine=reply.engine
    )


def read_sample(
    image: Path,
    *,
    languages: str,
    dpi: int,
    timeout: float = 60.0,
    tessdata: Path | None = None,
    pool: TesseractPool = _pool,
) -> tuple[float, int]:
    """Read a sample of a page (a band of text, `arhiva.ocr.orient`) as one block, with one of the
    pool's resident Tesseracts: its mean confidence per letter or digit read, and how many."""
    request = OcrRequest(
        image=str(image),
        out_base=str(image.with_suffix("")),
        languages=languages,
        dpi=dpi,
        timeout_ms=round(timeout * 1000),
        tessdata=str(tessdata or ""),
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
