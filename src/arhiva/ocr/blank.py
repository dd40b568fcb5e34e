"""Blank pages: the backs of single-sided originals, the empty sheets between documents.

A page is blank when it has almost no ink away from its margins, once specks are left out, and
Tesseract read no text on it with confidence. Ink is what is clearly darker than the paper
(not the grey of text showing through from the other side); the margins hold punch holes,
the scanner's dark edges and staples. A blank page is flagged, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from arhiva.schemas.models import Word

COVERAGE_DPI = 150
MIN_WIDTH = 1200
MARGIN = 0.08  # of the width and of the height, on each side
INK_BELOW_PAPER = 70  # grey levels darker than the paper that count as ink
SPECK_MM2 = 0.5  # smaller marks are dust
BLANK_COVERAGE = 0.0005  # of the area inside the margins: a short line of small print is ~0.1%
WORD_CONFIDENCE = 60  # a word read at least this surely is text
SURE_SHARE = 0.5  # ... and a page with text has at least this share of its letters read surely


def ink_coverage(gray: np.ndarray, dpi: int) -> float:
    """The fraction of the page inside its margins covered by ink, specks left out."""
    # Not below MIN_WIDTH pixels: a scan's stated resolution may be a guess, and thin strokes
    # averaged away would look like paper.
    scale = min(1.0, max(COVERAGE_DPI / max(dpi, 1), MIN_WIDTH / max(gray.shape[1], 1)))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    h, w = small.shape
    inner = small[round(h * MARGIN) : h - round(h * MARGIN), round(w * MARGIN) : w - round(w * MARGIN)]
    if inner.size == 0:
        return 0.0
    counts = np.cumsum(np.bincount(inner.ravel(), minlength=256))
    paper = float(np.searchsorted(counts, inner.size / 2))  # the median grey, from the histogram
    ink = (inner < paper - INK_BELOW_PAPER).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    px_mm2 = (25.4 / (dpi * scale)) ** 2
    areas = stats[1:n, cv2.CC_STAT_AREA]
    return round(float(areas[areas * px_mm2 >= SPECK_MM2].sum()) / inner.size, 6)


def is_blank(coverage: float, words: Iterable[Word]) -> bool:
    """Almost no ink, and no text read with confidence: fewer than 3 letters read surely, or
    most of what was read unsure (Tesseract reads show-through as garbage: 11-17% of its letters
    sure on generated backs; faint real typewritten pages with as little ink: 87-97%)."""
    if coverage >= BLANK_COVERAGE:
        return False
    read = [(len(w.text.strip()), w.confidence >= WORD_CONFIDENCE) for w in words]
    sure = sum(n for n, ok in read if ok)
    return sure < 3 or sure < SURE_SHARE * sum(n for n, _ in read)
