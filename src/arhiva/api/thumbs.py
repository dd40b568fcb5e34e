"""Page thumbnails: the page's scan image taken out of the archived PDF/A, scaled down, cached.

The PDF/A holds each page as one image (the straightened scan) under an invisible text layer,
so the thumbnail is that image, not a rendering: no PDF interpreter runs on request. Thumbnails
are cached as ARCHIVE/.cache/thumbs/<id[:2]>/<id>/<page>-w<width>.jpg, written atomically; a
document's content never changes under its id, so a cached thumbnail never goes stale.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from PIL import Image

from arhiva import atomic
from arhiva.archive.package import PDF_NAME, package_dir

THUMB_WIDTH = 240
JPEG_QUALITY = 80


def cache_path(archive: Path, document_id: str, page: int, width: int = THUMB_WIDTH) -> Path:
    return archive / ".cache" / "thumbs" / document_id[:2] / document_id / f"{page}-w{width}.jpg"


def _page_image(pdf_path: Path, page: int) -> Image.Image:
    """The largest image drawn on a page (1-based) of the PDF."""
    with pikepdf.open(pdf_path) as pdf:
        images = list(pdf.pages[page - 1].get_images().values())
        if not images:
            raise ValueError(f"page {page} of {pdf_path} has no image")
        best = max(images, key=lambda im: int(im.get("/Width", 0)) * int(im.get("/Height", 0)))
        img = pikepdf.PdfImage(best).as_pil_image()
        img.load()
        return img


def render_thumbnail(pdf_path: Path, page: int, width: int = THUMB_WIDTH) -> bytes:
    img = _page_image(pdf_path, page)
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB" if "A" in img.mode or img.mode in ("P", "CMYK") else "L")
    height = max(1, round(img.height * width / img.width))
    # reduce() first (fast, box filter on whole factors), then an exact Lanczos step.
    factor = max(1, img.width // (width * 2))
    small = img.reduce(factor) if factor > 1 else img
    small = small.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def thumbnail(archive: Path, document_id: str, page: int, width: int = THUMB_WIDTH) -> Path:
    """The cached thumbnail of a page, made first if needed. `document_id` must already be
    checked (64 hex characters) and `page` within the document."""
    cached = cache_path(archive, document_id, page, width)
    if not cached.is_file():
        data = render_thumbnail(package_dir(archive, document_id) / PDF_NAME, page, width)
        atomic.write_bytes(cached, data)
    return cached
