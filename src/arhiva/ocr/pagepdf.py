"""A page as a one-page PDF: the prepared scan at its own resolution with the invisible text
Tesseract placed over it, made as soon as the page is OCRed.

The page image is embedded once, with no Ghostscript re-render: bitonal pages losslessly as
CCITT G4, greyscale pages as JPEG after their bare paper is flattened, colour pages as JPEG.
The archive stage joins a document's one-page PDFs into its PDF/A (`arhiva.archive.pdfa`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from pikepdf import Dictionary, Name
from PIL import Image

from arhiva.errors import PdfaError
from arhiva.ocr.tesseract import TextLayer
from arhiva.text import CEDILLA_TO_COMMA

# Tesseract's glyphless font maps character codes to Unicode one to one (UTF-16BE), and its text
# layer writes every string in hex: the cedilla letters can be swapped for the comma-below ones
# code unit by code unit inside those hex strings, without parsing the content stream.
_HEX_SWAPS = {f"{ord(a):04X}".encode(): f"{ord(b):04X}".encode() for a, b in CEDILLA_TO_COMMA.items()}
_HEX_STRING = re.compile(rb"(?<!<)<([0-9A-Fa-f]*)>(?!>)")


def _swap_hex(match: re.Match[bytes]) -> bytes:
    hexdigits = match.group(1).upper()
    if len(hexdigits) % 4:
        return match.group(0)  # not UTF-16 code units: leave it alone
    units = (hexdigits[i : i + 4] for i in range(0, len(hexdigits), 4))
    return b"<" + b"".join(_HEX_SWAPS.get(u, u) for u in units) + b">"


def _fix_text_layer(pdf: pikepdf.Pdf, page: pikepdf.Page) -> None:
    """Replace ş ţ Ş Ţ by ș ț Ș Ț in the invisible text, so copy-paste and search agree."""
    contents = page.obj.Contents
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    data = b"\n".join(s.read_bytes() for s in streams)
    page.obj.Contents = pdf.make_stream(_HEX_STRING.sub(_swap_hex, data))


def flatten_paper(gray: np.ndarray) -> np.ndarray:
    """Set the bare paper of a greyscale page to one grey level; leave every mark as it is.

    Scanner noise on blank paper is most of what a JPEG of a text page spends its bytes on.
    The paper level is the brightest frequent grey and its noise is measured around it. A pixel
    becomes that level only when it is itself within three noise deviations of it and its 3x3
    neighbourhood is within one: ink, anti-aliased edges, dust, stamps and faint pencil are
    darker, or next to something darker, and are kept.
    """
    sample = gray[::4, ::4]
    hist = np.bincount(sample.ravel(), minlength=256)
    if hist[128:].sum() < 0.5 * sample.size:  # a dark or photographic page: no paper to speak of
        return gray
    paper = int(np.argmax(hist[128:])) + 128
    # The noise: the median absolute deviation from the paper level of the greys within 24 of it,
    # read off the histogram (deviation d counts the greys paper - d and paper + d).
    below, above = hist[paper - 23 : paper + 1][::-1], hist[paper : paper + 24]
    per_deviation = below + np.pad(above, (0, 24 - len(above)))
    per_deviation[0] = hist[paper]
    cumulative = np.cumsum(per_deviation)
    mad = int(np.searchsorted(cumulative, cumulative[-1] / 2))
    sigma = max(1.0, 1.4826 * mad)
    bare = cv2.bitwise_and(  # 255 where bare paper, 0 elsewhere
        cv2.compare(gray, paper - 3.0 * sigma, cv2.CMP_GE),
        cv2.compare(cv2.blur(gray, (3, 3)), paper - sigma, cv2.CMP_GE),
    )
    return cv2.copyTo(np.full_like(gray, paper), bare, gray.copy())


def _g4(img: Image.Image) -> bytes:
    """CCITT Group 4 data of a bitonal image: Pillow's libtiff encoder, one strip for the page."""
    buf = io.BytesIO()
    img.save(buf, format="TIFF", compression="group4", tiffinfo={278: img.height})
    buf.seek(0)
    with Image.open(buf) as tif:
        offsets, counts = tif.tag_v2[273], tif.tag_v2[279]
        photometric = tif.tag_v2.get(262, 0)
    if len(offsets) != 1 or photometric != 1:
        raise PdfaError(f"unexpected G4 encoding ({len(offsets)} strips, photometric {photometric})")
    data = buf.getvalue()
    return data[offsets[0] : offsets[0] + counts[0]]


def _image_xobject(pdf: pikepdf.Pdf, img: Image.Image, jpeg_quality: int) -> pikepdf.Stream:
    """Bitonal pages as CCITT G4 (lossless), greyscale and colour pages as JPEG."""
    w, h = img.size
    if img.mode == "1":
        # Pillow's G4 is photometric min-is-black; with BlackIs1 a reader decodes the page as it
        # was (the tests compare it pixel for pixel after poppler decodes it).
        return pikepdf.Stream(
            pdf,
            _g4(img),
            Type=Name.XObject,
            Subtype=Name.Image,
            Width=w,
            Height=h,
            ColorSpace=Name.DeviceGray,
            BitsPerComponent=1,
            Filter=Name.CCITTFaxDecode,
            DecodeParms=Dictionary(K=-1, Columns=w, Rows=h, BlackIs1=True),
        )
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    arr = np.asarray(img)
    arr = flatten_paper(arr) if img.mode == "L" else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(
        ".jpg", arr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
    )
    if not ok:
        raise PdfaError("OpenCV could not encode the page as JPEG")
    return pikepdf.Stream(
        pdf,
        jpeg.tobytes(),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=w,
        Height=h,
        ColorSpace=Name.DeviceGray if img.mode == "L" else Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )


def build_page_pdf(
    image: Path | Image.Image,
    text_layers: Sequence[TextLayer],
    dpi: int,
    out: Path,
    jpeg_quality: int = 75,
) -> None:
    """One page: the prepared scan (a file, or the image itself) at its resolution with
    Tesseract's invisible text over it, the whole page's or each region's at its place, in
    reading order.

    Written to `out` (the caller makes it atomic). Not yet PDF/A: `build_pdfa` joins the pages
    of a document and adds what PDF/A asks for.
    """
    try:
        with pikepdf.new() as pdf, ExitStack() as opened:
            img = image if isinstance(image, Image.Image) else opened.enter_context(Image.open(image))
            img.load()
            w_pt, h_pt = img.width * 72.0 / dpi, img.height * 72.0 / dpi
            xobject = _image_xobject(pdf, img, jpeg_quality)
            page = pikepdf.Page(pdf.add_blank_page(page_size=(w_pt, h_pt)))
            page.obj.Resources = Dictionary(XObject=Dictionary(Im0=xobject))
            page.obj.Contents = pdf.make_stream(f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode())
            for layer in text_layers:
                text_pdf = opened.enter_context(pikepdf.open(layer.pdf))
                text_page = text_pdf.pages[0]
                _fix_text_layer(text_pdf, text_page)
                if layer.box is None:
                    page.add_overlay(text_page)
                else:
                    left, top, right, bottom = (v * 72.0 / dpi for v in layer.box)
                    page.add_overlay(text_page, pikepdf.Rectangle(left, h_pt - bottom, right, h_pt - top))
            pdf.save(out, compress_streams=True)
    except (pikepdf.PdfError, OSError) as exc:
        raise PdfaError(f"cannot make the PDF page: {exc}") from exc
