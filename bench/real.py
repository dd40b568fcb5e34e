"""Real scans: arhiva against plain Tesseract on the same real pages, in the same run.

    python -m bench.real [FOLDER]            # default ../shared/realscans (40 pages, ~15 min on 2 cores)
    python -m bench.real --only ron,eng      # some languages
    python -m bench.real --keep              # keep the batches, archives and texts to look at

FOLDER holds page images with their ground truth `<base>.txt`, the language first in the name
(`fra_…`, `ron_…`), and the folder's own `score.py`, whose normalisation and CER/WER are used
here. Each page is ingested as its own document (one `arhiva ingest` per language, with that
language); its text is what `pdftotext -raw` reads from the archived PDF/A's text layer (the
words in the order the text layer holds them, as a PDF viewer copies them out). Plain `tesseract
IMAGE stdout -l LANG` (one thread) reads the same image file in the same run. Two more views of
arhiva's text are scored beside it: the text the index gets (ocr.json), and `pdftotext` in its
default mode, which re-orders the words by its own reading of the page's geometry (on Tesseract's
text layers, arhiva's and plain Tesseract's own PDF alike, that scrambles columns: 24% CER on a
gazette page whose text Tesseract read at 0.7%). Printed per page: CER, WER, bag-of-words miss (ground-truth words missing
from the text, counted with repeats, order ignored), arhiva's rotation and mean confidence; then
totals per language and for all pages (micro-averaged) with the ratio of arhiva's CER to plain
Tesseract's. JSON in bench/results/real-<time>.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

from arhiva.archive.package import iter_document_ids, load_document, load_pages, package_dir

from .measure import OcrCpu, machine, timed_run, write_results

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "realscans"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
TESSERACT_TIMEOUT_S = 600.0
WORSE_BY = 0.005  # a page is "worse" when arhiva's CER is more than 0.5 points above Tesseract's


@dataclass(frozen=True)
class RealPage:
    base: str
    lang: str
    image: Path
    truth: str


@dataclass
class Reading:
    """One engine's text of one page, scored."""

    text: str = ""
    c_err: int = 0
    c_ref: int = 0
    w_err: int = 0
    w_ref: int = 0
    bag_miss: float = 0.0
    seconds: float | None = None
    note: str = ""

    @property
    def cer(self) -> float:
        return self.c_err / self.c_ref if self.c_ref else float(self.c_err > 0)

    @property
    def wer(self) -> float:
        return self.w_err / self.w_ref if self.w_ref else float(self.w_err > 0)


@dataclass
class PageResult:
    base: str
    lang: str
    arhiva: Reading  # the text layer, pdftotext -raw
    tesseract: Reading
    index: Reading  # ocr.json's text, what the search index holds
    layout: Reading  # the text layer, pdftotext in its default (layout-guessing) mode
    rotation: int | None = None
    skew: float | None = None
    confidence: float | None = None
    orientation: str = ""  # how the rotation was decided; "doubtful" when nothing read clearly


@dataclass
class Totals:
    pages: int = 0
    c_ref: int = 0
    arhiva_c_err: int = 0
    tesseract_c_err: int = 0
    arhiva_w_err: int = 0
    tesseract_w_err: int = 0
    index_c_err: int = 0
    layout_c_err: int = 0
    w_ref: int = 0
    worse: list[str] = field(default_factory=list)
    turned: list[str] = field(default_factory=list)

    def add(self, r: PageResult) -> None:
        self.pages += 1
        self.c_ref += r.arhiva.c_ref
        self.w_ref += r.arhiva.w_ref
        self.arhiva_c_err += r.arhiva.c_err
        self.tesseract_c_err += r.tesseract.c_err
        self.arhiva_w_err += r.arhiva.w_err
        self.tesseract_w_err += r.tesseract.w_err
        self.index_c_err += r.index.c_err
        self.layout_c_err += r.layout.c_err
        if r.arhiva.cer > r.tesseract.cer + WORSE_BY:
            self.worse.append(r.base)
        if r.rotation:
            self.turned.append(r.base)

    def figures(self) -> dict[str, object]:
        arhiva = self.arhiva_c_err / max(1, self.c_ref)
        tesseract = self.tesseract_c_err / max(1, self.c_ref)
        return {
            "pages": self.pages,
            "gt_chars": self.c_ref,
            "cer_arhiva": round(arhiva, 4),
            "cer_tesseract": round(tesseract, 4),
            "cer_ratio": round(arhiva / tesseract, 3) if tesseract else None,
            "wer_arhiva": round(self.arhiva_w_err / max(1, self.w_ref), 4),
            "wer_tesseract": round(self.tesseract_w_err / max(1, self.w_ref), 4),
            "cer_index_text": round(self.index_c_err / max(1, self.c_ref), 4),
            "cer_pdftotext_layout_mode": round(self.layout_c_err / max(1, self.c_ref), 4),
            "pages_worse_than_tesseract_by_0.5pt": self.worse,
            "pages_turned": self.turned,
        }


def scorer(folder: Path) -> ModuleType:
    """The folder's own score.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("realscans_score", folder / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"{folder / 'score.py'} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def real_pages(folder: Path, only: set[str] | None) -> list[RealPage]:
    pages = []
    for image in sorted(folder.iterdir()):
        truth = image.with_suffix(".txt")
        if image.suffix.lower() not in IMAGE_SUFFIXES or not truth.is_file():
            continue
        lang = image.name.split("_", 1)[0]
        if only is None or lang in only:
            pages.append(RealPage(image.stem, lang, image, truth.read_text(encoding="utf-8")))
    return pages


def score(score_py: ModuleType, truth: str, text: str, **extra: object) -> Reading:
    s = score_py.score_pair(truth, text)
    want = Counter(score_py.normalize(truth).split())
    got = Counter(score_py.normalize(text).split())
    miss = sum((want - got).values()) / max(1, sum(want.values()))
    return Reading(text=text, bag_miss=round(miss, 4), **s, **extra)  # type: ignore[arg-type]


def stage(pages: list[RealPage], batch: Path) -> None:
    """Each page in a folder of its own: a document of its own, named after the page."""
    for p in pages:
        (batch / p.base).mkdir(parents=True)
        shutil.copy2(p.image, batch / p.base / p.image.name)


def run_arhiva(batch: Path, archive: Path, lang: str, jobs: int, env: dict[str, str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "arhiva", "ingest", str(batch), "--archive", str(archive)]
    cmd += ["--languages", lang, "--workers", str(jobs)]
    with OcrCpu() as ocr:
        timed, proc = timed_run(cmd, env)
    if proc.returncode not in (0, 3):  # 3: some pages quarantined, reported per page below
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
    return {
        "wall_s": round(timed.wall_s, 1),
        "cpu_s": round(timed.cpu_s, 1),
        "ocr_cpu_s": round(sum(ocr.by_process().values()), 1),
        "exit_code": proc.returncode,
    }


@dataclass(frozen=True)
class Archived:
    raw: str  # pdftotext -raw
    layout: str  # pdftotext
    index: str  # ocr.json
    rotation: int
    skew: float
    confidence: float
    orientation: str


def _pdftotext(pdf: Path, *options: str) -> str:
    cmd = ["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def archived_texts(archive: Path) -> dict[str, Archived]:
    """Page base name -> its texts as archived, and how arhiva prepared it."""
    out = {}
    for doc_id in iter_document_ids(archive):
        doc = load_document(archive, doc_id)
        pdf = package_dir(archive, doc_id) / "document.pdf"
        (page, *_) = load_pages(archive, doc_id)
        o = page.orientation
        how = (
            ""
            if o is None
            else ("doubtful" if o.doubt else o.method.replace(", confirmed by recognition", "+rec"))
        )
        out[doc.name] = Archived(
            _pdftotext(pdf, "-raw"),
            _pdftotext(pdf),
            page.text,
            page.rotation,
            page.skew,
            doc.mean_confidence,
            how,
        )
    return out


def plain_tesseract(page: RealPage) -> tuple[str, float, str]:
    """(text, seconds, note) of `tesseract IMAGE stdout -l LANG`, one thread."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    cmd = ["tesseract", str(page.image), "stdout", "-l", page.lang]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TESSERACT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "", time.perf_counter() - t0, f"timed out after {TESSERACT_TIMEOUT_S:g} s"
    note = "" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
    return done.stdout, time.perf_counter() - t0, note


def measure(folder: Path, only: set[str] | None, jobs: int, work: Path) -> dict[str, object]:
    if not (folder / "score.py").is_file():
        raise SystemExit(f"{folder} is not a folder of real pages with their score.py; give FOLDER")
    score_py = scorer(folder)
    pages = real_pages(folder, only)
    if not pages:
        raise SystemExit(f"no page image with its <base>.txt ground truth in {folder}")
    installed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    missing = sorted({p.lang for p in pages} - set(installed))
    if missing:
        raise SystemExit(
            "Tesseract lacks "
            + ", ".join(missing)
            + ": apt-get install "
            + " ".join(f"tesseract-ocr-{m}" for m in missing)
            + " (scripts/setup installs them)"
        )
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
    env.pop("PREFECT_API_URL", None)
    results: list[PageResult] = []
    runs: dict[str, object] = {}
    for lang in sorted({p.lang for p in pages}):
        group = [p for p in pages if p.lang == lang]
        batch, archive = work / f"batch-{lang}", work / f"archive-{lang}"
        stage(group, batch)
        print(f"{lang}: {len(group)} pages through arhiva ...", file=sys.stderr, flush=True)
        runs[f"arhiva_{lang}"] = run_arhiva(batch, archive, lang, jobs, env)
        texts = archived_texts(archive)
        print(f"{lang}: the same pages through plain Tesseract ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            plain = list(pool.map(plain_tesseract, group))
        runs[f"tesseract_{lang}"] = {"wall_s": round(time.perf_counter() - t0, 1)}
        for p, (t_text, t_s, t_note) in zip(group, plain, strict=True):
            got = texts.get(p.base)
            a_note = "" if got else "not archived (quarantined)"
            results.append(
                PageResult(
                    base=p.base,
                    lang=lang,
                    arhiva=score(score_py, p.truth, got.raw if got else "", note=a_note),
                    tesseract=score(score_py, p.truth, t_text, seconds=round(t_s, 1), note=t_note),
                    index=score(score_py, p.truth, got.index if got else ""),
                    layout=score(score_py, p.truth, got.layout if got else ""),
                    rotation=got.rotation if got else None,
                    skew=got.skew if got else None,
                    confidence=got.confidence if got else None,
                    orientation=got.orientation if got else "",
                )
            )
    return {"pages": results, "runs": runs}


def totals(results: list[PageResult]) -> dict[str, Totals]:
    out: dict[str, Totals] = {}
    for r in results:
        out.setdefault(r.lang, Totals()).add(r)
        out.setdefault("all", Totals()).add(r)
    return out


def print_table(results: list[PageResult], by: dict[str, Totals]) -> None:
    w = max(len(r.base) for r in results)
    head = f"{'page':<{w}}  {'CER arh':>7} {'CER tes':>7} {'Δ pt':>6}  {'idx':>6} {'layout':>6}  {'WER arh':>7} {'WER tes':>7}"
    print(
        head
        + f"  {'BoW arh':>7} {'BoW tes':>7}  {'rot':>3} {'orientation':<11} {'conf':>5} {'tes s':>6}  note"
    )
    for r in results:
        a, t = r.arhiva, r.tesseract
        note = "; ".join(n for n in (a.note, f"tesseract {t.note}" if t.note else "") if n)
        flag = " ← worse" if a.cer > t.cer + WORSE_BY else ""
        print(
            f"{r.base:<{w}}  {a.cer:7.1%} {t.cer:7.1%} {100 * (a.cer - t.cer):+6.1f}  {r.index.cer:6.1%} {r.layout.cer:6.1%}"
            f"  {a.wer:7.1%} {t.wer:7.1%}"
            f"  {a.bag_miss:7.1%} {t.bag_miss:7.1%}  {r.rotation if r.rotation is not None else '-':>3} {r.orientation:<11}"
            f" {r.confidence if r.confidence is not None else float('nan'):5.1f} {t.seconds or 0:6.1f}  {note}{flag}"
        )
    print()
    print(
        f"{'lang':<5} {'pages':>5} {'GT chars':>8}  {'CER arh':>7} {'CER tes':>7} {'ratio':>6}  {'idx':>6} {'layout':>6}"
        f"  {'WER arh':>7} {'WER tes':>7}  worse  turned"
    )
    for lang in [*sorted(k for k in by if k != "all"), "all"]:
        f = by[lang].figures()
        ratio = f"{f['cer_ratio']:.3f}" if f["cer_ratio"] is not None else "-"
        print(
            f"{lang:<5} {f['pages']:>5} {f['gt_chars']:>8}  {f['cer_arhiva']:7.2%} {f['cer_tesseract']:7.2%} {ratio:>6}"
            f"  {f['cer_index_text']:6.2%} {f['cer_pdftotext_layout_mode']:6.2%}"
            f"  {f['wer_arhiva']:7.2%} {f['wer_tesseract']:7.2%}  {len(by[lang].worse):>5}  {len(by[lang].turned):>6}"
        )


def print_cpu(results: list[PageResult], runs: dict[str, dict[str, float]]) -> None:
    """CPU per page: arhiva's resident Tesseracts (and its whole ingest), plain Tesseract's."""
    print()
    for lang in sorted({r.lang for r in results}):
        pages = [r for r in results if r.lang == lang]
        arhiva = runs[f"arhiva_{lang}"]
        plain = sum(r.tesseract.seconds or 0 for r in pages)  # one thread: wall is about its CPU
        print(
            f"{lang}: CPU-s per page: arhiva's Tesseracts {arhiva['ocr_cpu_s'] / len(pages):.2f} "
            f"(whole ingest {arhiva['cpu_s'] / len(pages):.2f}), plain Tesseract {plain / len(pages):.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.real", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER, help="pages with ground truth")
    ap.add_argument("--only", help="languages to run, e.g. ron,eng (default: all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="pages at once, both engines")
    ap.add_argument("--keep", action="store_true", help="keep the work folder and print where it is")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    work = Path(tempfile.mkdtemp(prefix="arhiva-bench-real-"))
    started = machine()
    try:
        measured = measure(args.folder.resolve(), only, args.jobs, work)
    finally:
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results: list[PageResult] = measured["pages"]  # type: ignore[assignment]
    by = totals(results)
    print_table(results, by)
    print_cpu(results, measured["runs"])  # type: ignore[arg-type]
    out = write_results(
        "real",
        {
            "machine": started,
            "folder": str(args.folder),
            "runs": measured["runs"],
            "totals": {k: v.figures() for k, v in by.items()},
            "pages": [
                {
                    **asdict(r),
                    **{
                        view: _reading(getattr(r, view))
                        for view in ("arhiva", "tesseract", "index", "layout")
                    },
                }
                for r in results
            ],
        },
    )
    print(f"\n{out}")


def _reading(r: Reading) -> dict[str, object]:
    d = asdict(r)
    d.pop("text")
    return {**d, "cer": round(r.cer, 4), "wer": round(r.wer, 4)}


if __name__ == "__main__":
    main()
