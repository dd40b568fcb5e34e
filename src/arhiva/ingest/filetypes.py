"""Tell what a file is from its first bytes, and open it just enough to trust it."""

from __future__ import annotations

import warnings
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


@dataclass(frozen=True)
class Probe:
    kind: FileKind
    pages: int
    format: str


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


def probe(path: Path, size: int, max_pixels: int) -> Probe:
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
        return _probe_pdf(path)
    return _probe_image(path, fmt, max_pixels)


def _probe_pdf(path: Path) -> Probe:
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise InputFileError(
                    QuarantineReason.encrypted_pdf,
                    "the PDF is encrypted; save an unencrypted copy and retry",
                )
            n = len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise InputFileError(
            QuarantineReason.encrypted_pdf,
            "the PDF is encrypted with a password; it cannot be read",
        ) from exc
    except pikepdf.PdfError as exc:
        raise InputFileError(QuarantineReason.corrupt_pdf, f"the PDF is damaged: {exc}") from exc
    if n == 0:
        raise InputFileError(QuarantineReason.empty_pdf, "the PDF has no pages")
    return Probe(FileKind.pdf, n, "pdf")


def _probe_image(path: Path, fmt: str, max_pixels: int) -> Probe:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                frames = getattr(img, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputFileError(
            QuarantineReason.image_too_large, f"the image is too large to process safely: {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(
            QuarantineReason.corrupt_image, f"the {fmt.upper()} image is damaged: {exc}"
        ) from exc
    if w * h > max_pixels:
        raise InputFileError(
            QuarantineReason.image_too_large,
            f"the image has {w}×{h} = {w * h:,} pixels, above the limit of {max_pixels:,}",
        )
    if w < 16 or h < 16:
        raise InputFileError(
            QuarantineReason.corrupt_image, f"the image is only {w}×{h} pixels; not a scanned page"
        )
    kind = FileKind.multipage_image if frames > 1 else FileKind.image
    return Probe(kind, frames, fmt)
