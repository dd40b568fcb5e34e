"""A resident Tesseract: `python -m arhiva.ocr.worker`, started by `arhiva.ocr.tesseract`.

Tesseract's command line starts a process and loads its language model for every page; that
cost about 0.2 CPU-seconds per page here, a tenth of the OCR itself. This program loads the
model once (libtesseract through tesserocr) and then OCRs one page per request, as long as its
parent keeps it: one JSON request per line on stdin, one JSON reply per line on stdout. It ends
when stdin closes, so it never outlives the process that started it.

For each page, from one recognition, it writes what `tesseract IMAGE BASE --psm 3 --dpi N -c
textonly_pdf=1 pdf txt` writes (`BASE.pdf`, `BASE.txt`) and replies with the words, their
confidence and boxes (the word rows of Tesseract's TSV, read from its result iterator: 4 ms a
page where making the TSV took 30). Tesseract's own messages go to `BASE.log` so a failure can
say why. A request can also be a sample of a page for the orientation decision
(`arhiva.ocr.orient`): read as one block, its words replied, nothing written.
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    import tesserocr

# Tesseract's OpenMP threads made a page several times slower here, with pages already in
# parallel; the limit is read when the library loads, so it is set before the import.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class OcrRequest(BaseModel):
    image: str
    out_base: str
    languages: str
    dpi: int
    timeout_ms: int
    # The folder of Tesseract's language models; "" for the library's own default.
    tessdata: str = ""
    # Text regions (left, top, right, bottom), read one at a time in this order, each as a page of
    # its own (`BASE.<i>.pdf`, `BASE.<i>.txt`); none: the page is read whole (`BASE.pdf`, `.txt`).
    regions: list[tuple[int, int, int, int]] = []
    # A sample for the orientation decision: read as one block of text (no layout analysis, which
    # would find text on its side and read it as such), only the words replied, no files written.
    sample: bool = False


class OcrReply(BaseModel):
    ok: bool
    error: str = ""
    engine: str = ""  # the engine and models that read the page (`describe`)
    # Tesseract's words as it gave them: text, confidence (0-100), (left, top, width, height).
    words: list[tuple[str, float, tuple[int, int, int, int]]] = []


class _Engine:
    """One tesserocr API, re-initialised only when the languages or their models change."""

    def __init__(self) -> None:
        self._api: tesserocr.PyTessBaseAPI | None = None
        self._models = ("", "")
        self.described = ""

    def api(self, languages: str, tessdata: str) -> tesserocr.PyTessBaseAPI:
        import tesserocr

        if self._api is None or (languages, tessdata) != self._models:
            if self._api is not None:
                self._api.End()
            self._api = None  # a failed start below leaves no half-made engine behind
            where = {"path": tessdata} if tessdata else {}
            api = tesserocr.PyTessBaseAPI(lang=languages, psm=tesserocr.PSM.AUTO, **where)
            for name in ("tessedit_create_pdf", "textonly_pdf", "tessedit_create_txt"):
                api.SetVariable(name, "1")
            self._api, self._models = api, (languages, tessdata)
            self.described = describe(api.GetDatapath(), languages)
        return self._api

    def ocr(self, req: OcrRequest) -> OcrReply:
        try:
            api = self.api(req.languages, req.tessdata)
        except RuntimeError as exc:
            return OcrReply(ok=False, error=f"Tesseract cannot load language(s) {req.languages}: {exc}")
        api.SetVariable("user_defined_dpi", str(req.dpi))
        log = f"{req.out_base}.log"
        saved = os.dup(2)
        began = time.monotonic()
        words: list[tuple[str, float, tuple[int, int, int, int]]] | None = None
        try:
            with open(log, "wb") as messages:
                os.dup2(messages.fileno(), 2)
                if req.sample:
                    done = self._sample(api, req)
                elif req.regions:
                    words = self._regions(api, req, began)
                    done = words is not None
                else:
                    done = api.ProcessPages(req.out_base, req.image, timeout=req.timeout_ms)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        if not done:
            with open(log, encoding="utf-8", errors="replace") as messages:
                said = messages.read().strip()[-500:]
            if req.timeout_ms and (time.monotonic() - began) * 1000 >= req.timeout_ms:
                return OcrReply(
                    ok=False, error=f"Tesseract did not finish within {req.timeout_ms / 1000:g} s"
                )
            return OcrReply(ok=False, error=f"Tesseract failed: {said or 'no message'}")
        return OcrReply(ok=True, engine=self.described, words=_words(api) if words is None else words)

    @staticmethod
    def _regions(
        api: tesserocr.PyTessBaseAPI, req: OcrRequest, began: float
    ) -> list[tuple[str, float, tuple[int, int, int, int]]] | None:
        """Each region cut out and read as a page of its own: the words of all, in page
        coordinates; None when Tesseract fails or the page's time runs out."""
        from PIL import Image

        words: list[tuple[str, float, tuple[int, int, int, int]]] = []
        with Image.open(req.image) as page:
            page.load()
            for i, (left, top, right, bottom) in enumerate(req.regions):
                left_ms = req.timeout_ms - round((time.monotonic() - began) * 1000) if req.timeout_ms else 0
                if req.timeout_ms and left_ms <= 0:
                    return None
                crop = f"{req.out_base}.{i}.tif"
                page.crop((left, top, right, bottom)).save(crop, format="TIFF", dpi=(req.dpi, req.dpi))
                try:
                    if not api.ProcessPages(f"{req.out_base}.{i}", crop, timeout=left_ms):
                        return None
                finally:
                    os.unlink(crop)
                words += [(t, c, (x + left, y + top, w, h)) for t, c, (x, y, w, h) in _words(api)]
        return words

    @staticmethod
    def _sample(api: tesserocr.PyTessBaseAPI, req: OcrRequest) -> bool:
        from tesserocr import PSM

        api.SetPageSegMode(PSM.SINGLE_BLOCK)
        try:
            api.SetImageFile(req.image)
            return bool(api.Recognize(timeout=req.timeout_ms))
        finally:
            api.SetPageSegMode(PSM.AUTO)


def _words(api: tesserocr.PyTessBaseAPI) -> list[tuple[str, float, tuple[int, int, int, int]]]:
    from tesserocr import RIL, iterate_level

    words = []
    results = api.GetIterator()
    for word in iterate_level(results, RIL.WORD) if results is not None else ():
        try:
            text, box = word.GetUTF8Text(RIL.WORD), word.BoundingBox(RIL.WORD)
        except RuntimeError:  # tesserocr's "No text returned": an empty result (a page with no text)
            continue
        if text and box:
            left, top, right, bottom = box
            words.append((text, word.Confidence(RIL.WORD), (left, top, right - left, bottom - top)))
    return words


TESSDATA_VERSION = 23  # the index of the version string among a traineddata file's components


def model_version(path: Path) -> str:
    """The version string a traineddata file carries ('4.00.00alpha:ron:synth20170629:[...]'), or
    "" when it has none. The file starts with the number of its components (int32) and their
    offsets (int64 each, -1 for a missing one), all little-endian."""
    with path.open("rb") as f:
        (count,) = struct.unpack("<i", f.read(4))
        if not TESSDATA_VERSION < count <= 1000:
            return ""
        offsets = struct.unpack(f"<{count}q", f.read(8 * count))
        start = offsets[TESSDATA_VERSION]
        if start < 0:
            return ""
        end = min((o for o in offsets[TESSDATA_VERSION + 1 :] if o > start), default=path.stat().st_size)
        f.seek(start)
        return f.read(min(end - start, 500)).decode("utf-8", "replace").strip("\0 \n")


@functools.cache
def model_description(datapath: str, lang: str) -> str:
    """'ron 4.00.00alpha:ron:synth20170629:[...] sha256:9adfde6b51ba': a language model's version
    string and the first 12 hex digits of its file's sha256."""
    model = Path(datapath) / f"{lang}.traineddata"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    return f"{lang} {model_version(model) or 'unversioned'} sha256:{digest}"


def describe(datapath: str, languages: str) -> str:
    """The engine and the models it reads with ('Tesseract 5.3.0; ron 4.00.00alpha:...
    sha256:9adfde6b51ba'), as recorded with each page."""
    import tesserocr

    engine = "Tesseract " + tesserocr.tesseract_version().split()[1]
    return "; ".join([engine, *(model_description(datapath, lang) for lang in languages.split("+"))])


def main() -> None:
    for stream in (sys.stdin, sys.stdout):
        stream.reconfigure(encoding="utf-8")  # as the parent writes and reads, whatever the locale
    engine = _Engine()
    for line in sys.stdin:
        try:
            reply = engine.ocr(OcrRequest.model_validate_json(line))
        except Exception as exc:  # reported to the page that asked; the worker stays usable
            reply = OcrReply(ok=False, error=f"{type(exc).__name__}: {exc}")
        sys.stdout.write(reply.model_dump_json() + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
