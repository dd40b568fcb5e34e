"""Find and undo a page's quarter-turn rotation and its skew, with OpenCV.

Analysis runs on a copy downscaled to about 150 dpi; only the final rotation touches the
full-resolution image. The skew is found with a projection profile of the ink of
character-sized connected components (borders, rules and stamps are left out): text lines
give the sharpest row profile when they are horizontal. Whether lines run across or down the
page decides between 0/180 and 90/270; whether more ink sits above each line's x-height band
than below it (ascenders and capitals outnumber descenders) decides between upright and
upside down.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from arhiva.ocr.blank import ink_coverage
from arhiva.ocr.layout import Box, ink_mask, text_regions
from arhiva.schemas.models import Orientation

ANALYSIS_DPI = 150
BLANK_INK_POINTS = 50  # fewer ink pixels than this at the analysis resolution: a blank page
_MAX_POINTS = 40_000


# A bitonal page is not deskewed by less than this (degrees): turning black and white pixels by a
# fraction of a degree re-quantises every edge of every letter, which cost more than the skew it
# removed (real bitonal pages of ../shared/realscans with skews of 0.06-0.24°: 1.0-1.2% CER
# deskewed, 0.7-0.8% as scanned, as plain Tesseract reads them). Tesseract reads lines this
# little skewed as they are; the bound is the residual skew arhiva promises.
BITONAL_MIN_SKEW = 0.3

# A light frame round the sheet (a photographed page on a white ground) is painted the sheet's
# colour in the copy Tesseract reads when it covers at least this much of the image: a frame
# brighter than the paper makes the global threshold split frame from paper, so the whole sheet
# comes out as ink and no word is found (a real typed note: no text at all, 10% CER once painted).
FRAME_MIN_AREA = 0.02
_FRAME_ANALYSIS_PX = 800

# The layout's guess is taken as it is, with no recognition to confirm it, only when the page is
# upright by it and it is clear-cut: lines across the page give a row profile this many times
# sharper than lines down the page would, this many times more ink sits above the x-height bands
# than below them, and there is this much ink to judge by (at the analysis resolution). On the
# 40 real pages of ../shared/realscans the layout's two wrong quarter turns had profile ratios of
# 1.14 and 1.28 and its wrong half turn an ascender ratio of 1/2.8 on 252 ink points; upright
# gazette pages in two columns have ratios as low as 1.10, so below these bounds recognition decides.
CLEAR_LINES_RATIO = 1.8
CLEAR_ASCENDER_RATIO = 1.5
CLEAR_INK_POINTS = 3000


@dataclass(frozen=True)
class Geometry:
    rotation: int  # correction applied, degrees clockwise: 0, 90, 180 or 270
    skew: float  # skew found on the page, degrees, counter-clockwise positive; undone
    # The evidence of the layout analysis (`analyse`), for the orientation decision:
    lines_ratio: float = 0.0  # row-profile sharpness of the line direction chosen over the other's
    ascender_ratio: float = 0.0  # ink above the x-height bands over ink below, once turned
    ink_points: int = 0  # ink pixels judged, at the analysis resolution
    cross_skew: float = 0.0  # the skew if the lines ran the other way (for a quarter turn more)
    orientation: Orientation | None = None  # how the rotation was decided, once it is (`orient`)

    @property
    def clear(self) -> bool:
        """True when the layout alone settles the orientation (see CLEAR_LINES_RATIO)."""
        return (
            self.lines_ratio >= CLEAR_LINES_RATIO
            and self.ascender_ratio >= CLEAR_ASCENDER_RATIO
            and self.ink_points >= CLEAR_INK_POINTS
        )

    def skew_for(self, rotation: int) -> float:
        """The skew to undo after turning the page by `rotation` (a half turn keeps a slope)."""
        return self.skew if (rotation - self.rotation) % 180 == 0 else self.cross_skew

    def turned(self, rotation: int) -> Geometry:
        """This geometry with another quarter-turn correction, deskewed for it."""
        return replace(self, rotation=rotation, skew=self.skew_for(rotation))


def _to_gray(arr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY) if arr.ndim == 3 else arr


def _points(mask: np.ndarray, limit: int = _MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of ink pixels, an even subsample of at most about `limit` of them."""
    ys, xs = np.nonzero(mask)
    step = max(1, len(xs) // limit)
    return xs[::step].astype(np.float32), ys[::step].astype(np.float32)


def _profile_score(xs: np.ndarray, ys: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Sharpness of the row profile when lines of slope tan(angle) are made horizontal."""
    scores = np.empty(len(angles_deg))
    for i, a in enumerate(np.radians(angles_deg)):
        p = ys * np.float32(np.cos(a)) - xs * np.float32(np.sin(a))
        counts = np.bincount((p - p.min() + 0.5).astype(np.int32))
        scores[i] = float(np.dot(counts, counts))
    return scores


def _search(xs: np.ndarray, ys: np.ndarray, centre: float, half: float, step: float) -> tuple[float, float]:
    angles = np.arange(centre - half, centre + half + step / 2, step)
    s = _profile_score(xs, ys, angles)
    i = int(np.argmax(s))
    return float(angles[i]), float(s[i])


def _refine(xs: np.ndarray, ys: np.ndarray, coarse: float) -> tuple[float, float]:
    """Angle (degrees, y down) of text lines near the best angle of a 1° sweep, and the profile
    score there: 0.1° steps, then 0.02° steps."""
    best, _ = _search(xs, ys, coarse, 1.0, 0.1)
    return _search(xs, ys, best, 0.1, 0.02)


def _rotate(arr: np.ndarray, angle_deg: float, fill: int | tuple[int, int, int]) -> np.ndarray:
    """Rotate about the centre, counter-clockwise positive, keeping the size."""
    if abs(angle_deg) < 1e-3:
        return arr
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    return cv2.warpAffine(
        arr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )


def _ascender_ratio(mask: np.ndarray) -> float:
    """Ink above the x-height bands of the (horizontal-lined) text over ink below them: above 1
    when the text is upright (ascenders and capitals outnumber descenders), below 1 upside down."""
    profile = mask.sum(axis=1).astype(np.float64)
    if profile.max() <= 0:
        return 1.0
    on = profile > 0.03 * profile.max()
    above = below = 0.0
    start = None
    for y, flag in enumerate([*on.tolist(), False]):
        if flag and start is None:
            start = y
        elif not flag and start is not None:
            band = profile[start:y]
            if len(band) >= 4:
                core = np.nonzero(band >= 0.5 * band.max())[0]
                above += band[: core[0]].sum()
                below += band[core[-1] + 1 :].sum()
            start = None
    return (above + 1.0) / (below + 1.0)


def analyse(arr: np.ndarray, dpi: int, max_skew: float = 15.0) -> Geometry:
    """Find the rotation and skew of a page image (greyscale or RGB array), with the evidence."""
    gray = _to_gray(arr)
    scale = min(1.0, ANALYSIS_DPI / max(dpi, 1))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = ink_mask(gray)
    xs, ys = _points(mask)
    if len(xs) < BLANK_INK_POINTS:
        return Geometry(0, 0.0, ink_points=len(xs))
    # Lines across or down the page: the 1° sweeps decide. Both directions are refined, the
    # loser's skew kept for recognition to try a quarter turn more.
    h_coarse, h_score = _search(xs, ys, 0.0, max_skew, 1.0)
    turned = np.ascontiguousarray(np.rot90(mask, -1))  # a quarter clockwise
    txs, tys = _points(turned)
    v_coarse, v_score = _search(txs, tys, 0.0, max_skew, 1.0)
    h_angle, _ = _refine(xs, ys, h_coarse)
    v_angle, _ = _refine(txs, tys, v_coarse)
    if v_score > h_score:  # lines run down the page: turn it a quarter clockwise first
        quarter, angle, cross, level = 90, v_angle, h_angle, _rotate(turned, v_angle, 0)
    else:
        quarter, angle, cross, level = 0, h_angle, v_angle, _rotate(mask, h_angle, 0)
    ascenders = _ascender_ratio(level)
    upside_down = ascenders < 1.0
    # `angle` is the slope of the lines (y down) after the quarter turn; a 180° turn keeps it.
    # Lines sloping down to the right mean the page was turned clockwise: skew is its opposite.
    return Geometry(
        rotation=(quarter + 180) % 360 if upside_down else quarter,
        skew=round(-angle, 3),
        lines_ratio=round(max(h_score, v_score) / max(min(h_score, v_score), 1.0), 3),
        ascender_ratio=round(1 / ascenders if upside_down else ascenders, 3),
        ink_points=len(xs),
        cross_skew=round(-cross, 3),
    )


_QUARTER_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def apply(image: Image.Image, geometry: Geometry, arr: np.ndarray | None = None) -> Image.Image:
    """Undo rotation and skew on the full-resolution page. Keeps its mode ('1', 'L', 'RGB').

    `arr` is the image as an array ('L' for a bitonal page) when the caller already made one."""
    mode = image.mode
    if arr is None:
        arr = np.asarray(image.convert("L") if mode == "1" else image)
    if geometry.rotation:
        arr = cv2.rotate(arr, _QUARTER_TURNS[geometry.rotation])  # a copy, 10 times faster than numpy's
    if geometry.skew:
        fill: int | tuple[int, int, int] = (255, 255, 255) if arr.ndim == 3 else 255
        arr = _rotate(arr, -geometry.skew, fill)
    out = Image.fromarray(arr)
    if mode == "1":
        out = out.point(lambda v: 255 if v >= 128 else 0).convert("1")
    return out


def light_frame(gray: np.ndarray) -> np.ndarray | None:
    """Mask (full size, bool) of a light frame round the sheet, or None when there is none.

    A frame is a region brighter than the global threshold that touches the image's edge, covers
    FRAME_MIN_AREA of it, and lies along the edges: almost none of it is in the central half of
    the image (the sheet itself, when it is light, is all over the centre)."""
    h, w = gray.shape
    scale = min(1.0, _FRAME_ANALYSIS_PX / max(h, w))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    _, light = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=4)
    sh, sw = small.shape
    frame = np.zeros((sh, sw), bool)
    for i in range(1, n):
        x, y, cw, ch, area = stats[i]
        on_edge = x == 0 or y == 0 or x + cw == sw or y + ch == sh
        if not on_edge or area < FRAME_MIN_AREA * sh * sw:
            continue
        component = labels == i
        if component[sh // 4 : 3 * sh // 4, sw // 4 : 3 * sw // 4].sum() <= 0.02 * area:
            frame |= component
    if not frame.any():
        return None
    return cv2.resize(frame.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def paint_frame(arr: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """A copy of the page with the frame painted the sheet's median colour."""
    sheet = arr[~frame][::16]  # every 16th pixel of the sheet is plenty for its median
    out = arr.copy()
    out[frame] = np.median(sheet, axis=0).astype(np.uint8)
    return out


# Decides the orientation of a page (its greyscale array) from the layout's guess: `orient.orient` with a
# reader of samples; None takes the layout's guess as it is.
Orienter = Callable[[np.ndarray, Geometry], Geometry]


@dataclass(frozen=True)
class Prepared:
    geometry: Geometry
    image: Image.Image  # the straightened page, as archived
    ocr_image: Path | None  # the copy Tesseract reads when it differs (a frame painted), else None
    frame: float  # the fraction of the image painted as a frame
    regions: tuple[Box, ...] = ()  # the text regions in reading order (`arhiva.ocr.layout`), if columns
    ink: float = 1.0  # the ink's coverage inside the margins (`arhiva.ocr.blank`)


def prepare_page(
    image: Image.Image, dpi: int, out: Path, max_skew: float = 15.0, orienter: Orienter | None = None
) -> Prepared:
    """Analyse, straighten and save a page as an uncompressed TIFF (`out`); and, when the page has
    a light frame, the copy Tesseract reads, with the frame painted (`ocr-<out name>`).

    The files are scratch: written once, read by Tesseract and by the PDF/A assembly, then
    removed. Uncompressed, they cost milliseconds where PNG compression cost a third of a
    second per A4 page.
    """
    arr = np.asarray(image.convert("L") if image.mode == "1" else image)
    gray = _to_gray(arr)  # converted once: the frame, the analysis and the orientation samples
    frame = None if image.mode == "1" else light_frame(gray)
    read = arr if frame is None else paint_frame(arr, frame)
    if frame is not None:
        gray = _to_gray(read)
    geometry = analyse(gray, dpi, max_skew)
    ink = ink_coverage(gray, dpi)
    if orienter is not None:
        geometry = orienter(gray, geometry)
    if image.mode == "1" and abs(geometry.skew) < BITONAL_MIN_SKEW:
        geometry = replace(geometry, skew=0.0)
    fixed = apply(image, geometry, arr)
    _save(fixed, dpi, out)
    if frame is None:
        return Prepared(geometry, fixed, None, 0.0, _regions(fixed, dpi), ink)
    ocr_image = out.with_name(f"ocr-{out.name}")
    read_fixed = apply(Image.fromarray(read), geometry, read)
    _save(read_fixed, dpi, ocr_image)
    return Prepared(geometry, fixed, ocr_image, round(float(frame.mean()), 3), _regions(read_fixed, dpi), ink)


def _regions(image: Image.Image, dpi: int) -> tuple[Box, ...]:
    """The text regions of the straightened page Tesseract reads."""
    return text_regions(_to_gray(np.asarray(image.convert("L") if image.mode == "1" else image)), dpi)


def _save(image: Image.Image, dpi: int, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        image.save(tmp, format="TIFF", dpi=(dpi, dpi))
        os.replace(tmp, out)  # a concurrent run on the same page never reads half a file
    finally:
        tmp.unlink(missing_ok=True)
