"""Orientation by recognition, for pages whose layout does not settle it.

The projection profile (`prepare.analyse`) is a first guess. Where it is not clear-cut (see
`prepare.CLEAR_LINES_RATIO`), or where it would turn the page, a band of text lines is cut
from the page at each orientation in question and read by Tesseract as one block of text:
upright text reads with a high confidence (55-95 on the real pages of ../shared/realscans),
text on its side or upside down reads as garbage (10-43). A blank page is not turned. The guess that reads clearly best is
kept; when nothing reads clearly, the page is left as it was scanned and marked doubtful, for
the QA list. The band is at most a few text lines, at about 150 dpi: a fraction of the page's
own recognition, and only on the pages that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np

from arhiva.ocr.layout import ink_mask
from arhiva.ocr.prepare import BLANK_INK_POINTS, Geometry, _rotate
from arhiva.schemas.models import Orientation, OrientationVote

SAMPLE_LONG_SIDE = 1800  # pixels: about 150 dpi on an A4 scan; smaller scans are used as they are
SAMPLE_HEIGHT = 0.12  # of the page: the band with the most ink, a few lines of text
READABLE = 50.0  # Tesseract's mean confidence per character of upright text, at least (wrong: 43 at most)
MARGIN = 15.0  # points of confidence by which the orientation kept beats every other one tried
MIN_CHARS = 20  # letters and digits read, fewer are no evidence

_TURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def sampler(gray: np.ndarray, dpi: int, geometry: Geometry) -> Callable[[int], tuple[np.ndarray, int]]:
    """`sample(rotation)`: the band of the page with the most ink, turned by `rotation` and
    deskewed for it, at about 150 dpi; and its resolution. The page (greyscale) is reduced once,
    when the first sample is asked for."""
    reduced: list[tuple[np.ndarray, int]] = []

    def sample(rotation: int) -> tuple[np.ndarray, int]:
        if not reduced:
            scale = min(1.0, SAMPLE_LONG_SIDE / max(gray.shape))
            small = (
                gray
                if scale == 1.0
                else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            )
            reduced.append((small, max(1, round(dpi * scale))))
        page, page_dpi = reduced[0]
        band = cv2.rotate(page, _TURN[rotation]) if rotation else page
        band = _rotate(band, -geometry.skew_for(rotation), 255)
        height = max(40, round(band.shape[0] * SAMPLE_HEIGHT))
        if height < band.shape[0]:
            rows = ink_mask(band).sum(axis=1).astype(np.float64)
            top = int(np.argmax(np.convolve(rows, np.ones(height), "valid")))
            band = band[top : top + height]
        return np.ascontiguousarray(band), page_dpi

    return sample


def _readable(vote: OrientationVote) -> bool:
    return vote.chars >= MIN_CHARS and vote.confidence >= READABLE


def _clearly_best(votes: list[OrientationVote]) -> OrientationVote | None:
    best = max(votes, key=lambda v: v.confidence if v.chars >= MIN_CHARS else -1.0)
    if not _readable(best):
        return None
    others = [v.confidence for v in votes if v is not best and v.chars >= MIN_CHARS]
    return best if all(best.confidence >= c + MARGIN for c in others) else None


def orient(geometry: Geometry, read: Callable[[int], tuple[float, int]]) -> Geometry:
    """The page's geometry once its orientation is decided, with the evidence (`.orientation`).

    `read(rotation)` recognises the sample at that rotation. The layout's guess is taken alone
    when it is clear-cut and upright; it is taken when its sample reads well and it leaves the
    page as scanned, or is a clear-cut turn; otherwise the orientations are read in turn, the guess and the page as scanned first, until
    one reads clearly best."""
    evidence = {
        "lines_ratio": geometry.lines_ratio,
        "ascender_ratio": geometry.ascender_ratio,
        "ink_points": geometry.ink_points,
    }
    if geometry.ink_points < BLANK_INK_POINTS:  # nothing to turn, nothing to doubt
        return replace(geometry, orientation=Orientation(method="blank", **evidence))
    if geometry.rotation == 0 and geometry.clear:
        return replace(geometry, orientation=Orientation(method="layout", **evidence))
    votes: list[OrientationVote] = []
    order = [geometry.rotation, *(r for r in (0, 180, 90, 270) if r != geometry.rotation)]
    for rotation in order:
        confidence, chars = read(rotation)
        votes.append(OrientationVote(rotation=rotation, confidence=round(confidence, 1), chars=chars))
        if len(votes) == 1 and _readable(votes[0]) and (geometry.rotation == 0 or geometry.clear):
            return replace(
                geometry,
                orientation=Orientation(method="layout, confirmed by recognition", votes=votes, **evidence),
            )
        best = _clearly_best(votes) if len(votes) > 1 else None
        if best is not None:
            turned = geometry.turned(best.rotation)
            return replace(turned, orientation=Orientation(method="recognition", votes=votes, **evidence))
    doubt = (
        "no orientation reads clearly: "
        + ", ".join(f"{v.rotation}° {v.confidence:.0f}" for v in votes)
        + "; left as scanned"
    )
    doubtful = Orientation(method="as scanned", votes=votes, doubt=doubt, **evidence)
    return replace(geometry.turned(0), orientation=doubtful)
