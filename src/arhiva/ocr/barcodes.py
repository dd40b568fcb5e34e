"""Find a separator sheet's code on a page: QR or Code 128, read by zxing-cpp on the ~150 dpi
copy the page analysis already works at (a few milliseconds a page)."""

from __future__ import annotations

import cv2
import numpy as np
import zxingcpp

from arhiva.schemas.separator import is_separator

READ_DPI = 150
_FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128)


def separator_code(gray: np.ndarray, dpi: int) -> str | None:
    """The text of the page's separator code (ARHIVA-SEP… or PATCHT), or None."""
    scale = min(1.0, READ_DPI / max(dpi, 1))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    for found in zxingcpp.read_barcodes(np.ascontiguousarray(small), formats=_FORMATS):
        if found.valid and is_separator(found.text):
            return found.text
    return None
