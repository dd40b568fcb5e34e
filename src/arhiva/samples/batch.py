"""Write a whole sample scanner batch: folders of pages, a multi-page TIFF, a JPEG, a manifest."""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from arhiva import atomic
from arhiva.samples.render import PageStyle, ground_truth, layout, render_page
from arhiva.samples.texts import sample_document

SAMPLES_INDEX = ".samples.json"  # hidden, so ingest skips it


@dataclass(frozen=True)
class SamplePage:
    file: str  # relative to the batch folder
    index: int  # page inside the file
    ground_truth: str  # relative path of the .gt.txt
    skew: float
    rotation: int


@dataclass(frozen=True)
class BatchOptions:
    documents: int = 4
    max_pages: int = 3
    size: str = "a4"
    dpi: int = 300
    max_skew: float = 7.0
    noise: float = 6.0
    blur: float = 0.5
    rotate: bool = True
    seed: int = 1
    bitonal: bool = False  # black-and-white pages, as a scanner in bitonal mode writes them


def _bitonal(img: Image.Image) -> Image.Image:
    out = img.point(lambda v: 255 if v >= 128 else 0).convert("1")
    out.info["dpi"] = img.info.get("dpi")
    return out


def _encode(img: Image.Image, fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, format="JPEG", quality=92, dpi=(dpi, dpi))
    elif fmt == "tiff":
        compression = "group4" if img.mode == "1" else "tiff_lzw"
        img.save(buf, format="TIFF", compression=compression, dpi=(dpi, dpi))
    else:
        img.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def write_batch(out: Path, options: BatchOptions | None = None) -> list[SamplePage]:
    """Generate a batch in `out`. Document i uses a different layout:

    - most documents: a folder of PNG pages `pagina-1.png`, `pagina-2.png`, ... ;
    - every third document: one multi-page TIFF;
    - the last document: a JPEG page in a folder with a `manifest.csv` giving its record sheet.

    With `bitonal`, pages are black and white: folder pages are G4 TIFFs (the manifest's
    document PNG), multi-page files G4 TIFFs.

    Each page gets `<name>.gt.txt` (or `<name>.<page>.gt.txt` inside multi-page files) with its
    exact text; `.samples.json` lists every page with its skew and rotation.
    """
    o = options or BatchOptions()

    def render(lines: list[str], style: PageStyle) -> Image.Image:
        page = render_page(lines, style)
        return _bitonal(page) if o.bitonal else page

    rng = random.Random(o.seed)
    pages: list[SamplePage] = []
    out.mkdir(parents=True, exist_ok=True)
    for d in range(o.documents):
        want = rng.randint(1, o.max_pages)
        base = PageStyle(size=o.size, dpi=o.dpi, font=rng.choice(["serif", "sans"]))
        doc = sample_document(o.seed * 1000 + d, articles=want * 9)
        laid = layout(doc.paragraphs, base)[:want]
        styles = [
            PageStyle(
                size=o.size,
                dpi=o.dpi,
                font=base.font,
                skew=round(rng.uniform(-o.max_skew, o.max_skew), 2),
                rotation=rng.choice([0, 0, 0, 90, 180, 270]) if o.rotate else 0,
                noise=o.noise,
                blur=o.blur,
                seed=rng.randint(0, 2**31),
            )
            for _ in laid
        ]
        kind = (
            "manifest" if d == o.documents - 1 and o.documents > 1 else ("tiff" if d % 3 == 2 else "folder")
        )
        if kind == "tiff":
            name = f"dosar-{d + 1:03d}.tif"
            frames = [render(lines, st) for lines, st in zip(laid, styles, strict=True)]
            buf = io.BytesIO()
            frames[0].save(
                buf,
                format="TIFF",
                save_all=True,
                append_images=frames[1:],
                compression="group4" if o.bitonal else "tiff_lzw",
                dpi=(o.dpi, o.dpi),
            )
            atomic.write_bytes(out / name, buf.getvalue())
            for i, (lines, st) in enumerate(zip(laid, styles, strict=True)):
                gt = f"dosar-{d + 1:03d}.{i + 1}.gt.txt"
                atomic.write_text(out / gt, ground_truth(lines))
                pages.append(SamplePage(name, i, gt, st.skew, st.rotation))
            continue
        folder = f"document-{d + 1:03d}"
        if o.bitonal:
            fmt = "png" if kind == "manifest" else "tiff"
        else:
            fmt = "jpeg" if kind == "manifest" else "png"
        ext = {"jpeg": "jpg", "png": "png", "tiff": "tif"}[fmt]
        for i, (lines, st) in enumerate(zip(laid, styles, strict=True)):
            name = f"{folder}/pagina-{i + 1}.{ext}"
            atomic.write_bytes(out / name, _encode(render(lines, st), fmt, o.dpi))
            gt = f"{folder}/pagina-{i + 1}.gt.txt"
            atomic.write_text(out / gt, ground_truth(lines))
            pages.append(SamplePage(name, 0, gt, st.skew, st.rotation))
        if kind == "manifest":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(
                [
                    "file",
                    "document",
                    "title",
                    "document_type",
                    "issue_date",
                    "registration_number",
                    "issuer",
                    "fond",
                    "dosar",
                    "keywords",
                    "access_level",
                    "retention",
                ]
            )
            for i in range(len(laid)):
                meta = [
                    doc.title,
                    doc.document_type,
                    doc.issue_date,
                    doc.registration_number,
                    "Primăria Sectorului 4",
                    "Urbanism",
                    f"{d + 1}",
                    "urbanism;eșantion",
                    "public",
                    "permanent",
                ]
                w.writerow([f"pagina-{i + 1}.{ext}", "d1", *(meta if i == 0 else [""] * len(meta))])
            atomic.write_text(out / folder / "manifest.csv", buf.getvalue())
    atomic.write_text(
        out / SAMPLES_INDEX, json.dumps([asdict(p) for p in pages], ensure_ascii=False, indent=1)
    )
    return pages


def read_samples_index(batch: Path) -> list[SamplePage]:
    return [SamplePage(**p) for p in json.loads((batch / SAMPLES_INDEX).read_text(encoding="utf-8"))]
