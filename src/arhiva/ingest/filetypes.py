"""Tell what a file is from its first bytes, and open it just enough to trust it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from arhiva.errors import InputFileError, QuarantineReason
from arhiva.schemas.models import FileKind

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF file (WebP, WAV or AVI)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
)


# arhiva enforces its own pixel limit (Limits.max_pixels, from ARHIVA_MAX_IMAGE_PIXELS) before any
# pixel is decoded; Pillow's fixed one (89 Mpx) would override the setting.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class Limits:
    """What discovery accepts of one file (the settings' limits)."""

    max_pixels: int = 200_000_000  # per page; a PDF page counted as rendered at pdf_dpi
    max_pages: int = 2_000  # pages of a PDF, frames of a TIFF
    pdf_dpi: int = 300


@dataclass(frozen=True)
class Probe:
    kind: FileKind
    pages: int
    format: str
    note: str | None = None  # for the audit trail: what the file restricted that was not kept


_PERMISSIONS = (
    ("print_highres", "printing"),
    ("extract", "copying text and images"),
    ("modify_other", "changes"),
    ("modify_annotation", "comments"),
    ("modify_form", "filling in forms"),
    ("modify_assembly", "assembling"),
)


def _restrictions(pdf: pikepdf.Pdf) -> str:
    enc = pdf.encryption
    denied = [label for attr, label in _PERMISSIONS if not getattr(pdf.allow, attr)]
    return (
        f"an owner password (encryption R{enc.R}, {enc.bits}-bit) restricts "
        f"{', '.join(denied) or 'nothing'}; the PDF opens without a password, so its pages were "
        "read, and the archived copy carries no restrictions"
    )


def sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    # PDF files may have a few bytes of junk before the header.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def _describe_unknown(head: bytes) -> str:
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "an unknown binary format"


def probe(path: Path, size: int, limits: Limits) -> Probe:
    """Identify a candidate scan. Raises InputFileError with the quarantine reason."""
    if size == 0:
        raise InputFileError(QuarantineReason.empty_file, "the file is empty (0 bytes)")
    with path.open("rb") as f:
        head = f.read(2048)
    fmt = sniff(head)
    if fmt is None:
        raise InputFileError(
            QuarantineReason.unsupported_type,
            f"not a scan arhiva can read: looks like {_describe_unknown(head)}; "
            "expected TIFF, PNG, JPEG or PDF",
        )
    if fmt == "pdf":
        return _probe_pdf(path, limits)
    return _probe_image(path, fmt, limits)


def _too_many(what: str, n: int, limits: Limits) -> InputFileError:
    return InputFileError(
        QuarantineReason.too_many_pages,
        f"the file has {n:,} {what}, above the limit of {limits.max_pages:,} (ARHIVA_MAX_FILE_PAGES); "
        "split it, or raise the limit",
    )


def _too_large(what: str, w: int, h: int, limits: Limits) -> InputFileError:
    return InputFileError(
        QuarantineReason.image_too_large,
        f"{what} {w:,}×{h:,} = {w * h:,} pixels, above the limit of {limits.max_pixels:,} "
        "(ARHIVA_MAX_IMAGE_PIXELS)",
    )


def _probe_pdf(path: Path, limits: Limits) -> Probe:
    try:
        with pikepdf.open(path) as pdf:
            # Opened without a password: at most an owner password, which only restricts what a
            # viewer may do (print, copy). The pages can be read, so they are archived.
            n = len(pdf.pages)
            if n > limits.max_pages:
                raise _too_many("pages", n, limits)
            for number, pg in enumerate(pdf.pages, start=1):
                _check_pdf_page(pg, number, limits)
            note = _restrictions(pdf) if pdf.is_encrypted else None
    except pikepdf.PasswordError as exc:
        raise InputFileError(
            QuarantineReason.encrypted_pdf,
            "the PDF is encrypted with a password; it cannot be read",
        ) from exc
    except pikepdf.PdfError as exc:
        raise InputFileError(QuarantineReason.corrupt_pdf, f"the PDF is damaged: {exc}") from exc
    if n == 0:
        raise InputFileError(QuarantineReason.empty_pdf, "the PDF has no pages")
    return Probe(FileKind.pdf, n, "pdf", note)


def _check_pdf_page(pg: pikepdf.Page, number: int, limits: Limits) -> None:
    """A PDF page's size in pixels as it will be rendered (its crop box at the render DPI)."""
    try:
        x0, y0, x1, y1 = (float(v) for v in pg.cropbox)
        unit = float(pg.obj.get("/UserUnit", 1))
    except (TypeError, ValueError) as exc:
        raise InputFileError(QuarantineReason.corrupt_pdf, f"page {number} has no usable page size") from exc
    scale = unit * limits.pdf_dpi / 72
    w, h = round(abs(x1 - x0) * scale), round(abs(y1 - y0) * scale)
    if w < 1 or h < 1:
        raise InputFileError(QuarantineReason.corrupt_pdf, f"page {number} has an empty page size")
    if w * h > limits.max_pixels:
        raise _too_large(f"page {number}, rendered at {limits.pdf_dpi} dpi, would be", w, h, limits)


def _probe_image(path: Path, fmt: str, limits: Limits) -> Probe:
    try:
        with Image.open(path) as img:
            sizes = [img.size]
            frames = getattr(img, "n_frames", 1)
            if frames > limits.max_pages:
                raise _too_many("frames", frames, limits)
            for i in range(1, frames):  # each frame of a TIFF has a size of its own
                img.seek(i)
                sizes.append(img.size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputFileError(
            QuarantineReason.corrupt_image, f"the {fmt.upper()} image is damaged: {exc}"
        ) from exc
    for number, (w, h) in enumerate(sizes, start=1):
        where = "the image has" if frames == 1 else f"frame {number} has"
        if w * h > limits.max_pixels:
            raise _too_large(where, w, h, limits)
        if w < 16 or h < 16:
            raise InputFileError(
                QuarantineReason.corrupt_image, f"{where} only {w}×{h} pixels; not a scanned page"
            )
    kind = FileKind.multipage_image if frames > 1 else FileKind.image
    return Probe(kind, frames, fmt)
