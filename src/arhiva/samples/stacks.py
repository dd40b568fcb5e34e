"""Generated scanner stacks: documents between separator sheets, with blank backs, as a scanning
station delivers them (one multi-page TIFF, one PDF, or a folder of pages), optionally in duplex
order (all fronts, then all backs in reverse), with the expected split as ground truth."""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from arhiva import atomic
from arhiva.samples.render import PageStyle, ground_truth, layout, render_page
from arhiva.samples.texts import sample_document
from arhiva.schemas.models import DocumentMetadata
from arhiva.separator_sheets import sheet_image

STACK_TRUTH = ".stack.json"  # hidden: ingest leaves it alone


@dataclass(frozen=True)
class StackOptions:
    documents: int = 10
    min_pages: int = 1  # pages of text per document, at least
    max_pages: int = 3  # ... and at most
    blank_backs: int = 8  # blank pages (backs of single-sided sheets) among the documents' pages
    size: str = "a5"
    seed: int = 1
    duplex: bool = False  # every sheet has a back: blank, or text for some; delivered fronts then backs


@dataclass
class ExpectedDocument:
    fields: dict[str, str]  # what its separator's code carries (empty: none)
    texts: list[str] = field(default_factory=list)  # each page's ground truth ('' for a blank page)

    @property
    def blank_pages(self) -> list[int]:
        return [n for n, t in enumerate(self.texts, start=1) if not t]


def scanned(img: Image.Image, seed: int, dpi: int = 150) -> Image.Image:
    """A printed sheet as it comes back from the scanner: at `dpi`, a little skewed, noisy."""
    scale = dpi / img.info.get("dpi", (300, 300))[0]
    small = img.convert("L").resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )
    rng = np.random.default_rng(seed)
    turned = small.rotate(float(rng.uniform(-2.5, 2.5)), resample=Image.Resampling.BICUBIC, fillcolor=250)
    arr = np.asarray(turned).astype(np.float32) + rng.normal(0, 8, (turned.height, turned.width))
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    out.info["dpi"] = (dpi, dpi)
    return out


def blank_back(front: Image.Image, seed: int) -> Image.Image:
    """The back of a single-sided sheet: paper, scanner noise, specks, two punch holes, and the
    front's text showing through, faintly and mirrored."""
    rng = np.random.default_rng(seed)
    face = np.asarray(front.convert("L")).astype(np.float32)
    arr = np.full(face.shape, 245, np.float32) + rng.normal(0, 5, face.shape)
    arr = np.minimum(arr, 245 - (245 - face[:, ::-1]) * 0.2)
    for _ in range(25):
        y, x = rng.integers(0, arr.shape[0] - 3), rng.integers(0, arr.shape[1] - 3)
        arr[y : y + 2, x : x + 2] = 60
    yy, xx = np.ogrid[: arr.shape[0], : arr.shape[1]]
    for y in (arr.shape[0] // 3, 2 * arr.shape[0] // 3):
        arr[(yy - y) ** 2 + (xx - 40) ** 2 < 25**2] = 15
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    out.info["dpi"] = front.info.get("dpi", (300, 300))
    return out


def stack_pages(o: StackOptions) -> tuple[list[Image.Image], list[ExpectedDocument]]:
    """The stack's pages in scanning order, and the documents ingest should make of it."""
    rng = random.Random(o.seed)
    sheets: list[tuple[Image.Image, Image.Image | None]] = []  # (front, back) in stack order
    expected: list[ExpectedDocument] = []
    text_pages = [rng.randint(o.min_pages, o.max_pages) for _ in range(o.documents)]
    slots = [(d, i) for d in range(o.documents) for i in range(text_pages[d])]
    backs = set(rng.sample(slots, min(o.blank_backs, len(slots))))
    for d in range(o.documents):
        doc = sample_document(o.seed * 1000 + d, articles=text_pages[d] * 9)
        sheet = (
            DocumentMetadata(
                title=doc.title, registration_number=doc.registration_number, document_type=doc.document_type
            )
            if d % 2
            else DocumentMetadata()
        )
        fields = {k: str(v) for k, v in sheet.model_dump(exclude_defaults=True).items()}
        sep = scanned(sheet_image(sheet), rng.randint(0, 2**31))
        sheets.append(
            (sep, blank_back(Image.new("L", sep.size, 255), rng.randint(0, 2**31)) if o.duplex else None)
        )
        expected.append(ExpectedDocument(fields))
        style = PageStyle(size=o.size, font=rng.choice(["serif", "sans"]))
        for i, lines in enumerate(layout(doc.paragraphs, style)[: text_pages[d]]):
            look = PageStyle(
                size=o.size,
                font=style.font,
                skew=round(rng.uniform(-3, 3), 2),
                noise=5,
                blur=0.4,
                seed=rng.randint(0, 2**31),
            )
            front = render_page(lines, look)
            expected[-1].texts.append(ground_truth(lines))
            back = None
            if (d, i) in backs:
                back = blank_back(front, rng.randint(0, 2**31))
            elif o.duplex:  # printed on both sides
                back = render_page(layout(sample_document(rng.randint(0, 2**31)).paragraphs, look)[0], look)
            if back is not None:
                expected[-1].texts.append("" if (d, i) in backs else "?")
            sheets.append((front, back))
    if o.duplex:
        fronts = [f for f, _ in sheets]
        return fronts + [b or blank_back(f, 0) for f, b in sheets][::-1], expected
    return [p for f, b in sheets for p in (f, b) if p is not None], expected


def write_stack(out: Path, o: StackOptions, delivery: str = "tiff") -> list[ExpectedDocument]:
    """Write the stack to `out` as 'tiff' (stiva.tif), 'pdf' (stiva.pdf) or 'folder' (stiva/),
    and its expected documents to `out/.stack.json`."""
    pages, expected = stack_pages(o)
    out.mkdir(parents=True, exist_ok=True)
    if delivery == "folder":
        for n, img in enumerate(pages, start=1):
            buf = io.BytesIO()
            img.save(buf, format="PNG", dpi=img.info.get("dpi", (300, 300)))
            atomic.write_bytes(out / "stiva" / f"pagina-{n:03d}.png", buf.getvalue())
    else:
        buf = io.BytesIO()
        if delivery == "pdf":
            pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=300)
        else:
            pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
        atomic.write_bytes(out / f"stiva.{'pdf' if delivery == 'pdf' else 'tif'}", buf.getvalue())
    atomic.write_text(
        out / STACK_TRUTH, json.dumps([asdict(e) for e in expected], ensure_ascii=False, indent=1)
    )
    return expected
