"""Render pages that look like 300 dpi scans, with the exact text they carry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAPER_SIZES_MM = {"a4": (210, 297), "a5": (148, 210), "a6": (105, 148)}
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/opentype/urw-base35"),  # fonts-urw-base35, which Ghostscript brings
)
FONTS = {
    "serif": ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf"),
    "sans": ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    "typewriter": ("NimbusMonoPS-Regular.otf", "DejaVuSansMono.ttf"),  # a Courier, as typed
}


@dataclass(frozen=True)
class PageStyle:
    size: str = "a4"
    dpi: int = 300
    font: str = "serif"
    font_pt: float = 11.0
    skew: float = 0.0  # degrees, counter-clockwise positive
    rotation: int = 0  # quarter turns applied to the finished page, degrees clockwise
    noise: float = 0.0  # standard deviation of Gaussian noise, in grey levels
    blur: float = 0.0  # Gaussian blur sigma, in pixels
    seed: int = 0
    centred: bool = False  # each line centred, as on title pages and poems
    top: float = 0.0  # where the first line starts, a fraction of the page height; 0: at the margin
    spacing: float = 1.5  # line pitch over the font size

    @property
    def pixels(self) -> tuple[int, int]:
        w_mm, h_mm = PAPER_SIZES_MM[self.size]
        return round(w_mm / 25.4 * self.dpi), round(h_mm / 25.4 * self.dpi)


def font_path(kind: str) -> Path:
    for name in FONTS[kind]:
        for d in _FONT_DIRS:
            if (d / name).exists():
                return d / name
    raise FileNotFoundError(f"no {kind} font found; install the Debian package fonts-dejavu-core")


def _font(style: PageStyle) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(style.font)), round(style.font_pt / 72 * style.dpi))


def layout(paragraphs: list[str] | tuple[str, ...], style: PageStyle) -> list[list[str]]:
    """Wrap paragraphs into lines and the lines into pages. Returns the lines of each page."""
    font = _font(style)
    w, h = style.pixels
    margin = round(style.dpi * 0.8)
    width = w - 2 * margin
    line_h = round(font.size * 1.5)
    per_page = max(1, (h - 2 * margin) // line_h)
    lines: list[str] = []
    for para in paragraphs:
        current = ""
        for word in para.split():
            candidate = f"{current} {word}".strip()
            if font.getlength(candidate) <= width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        if current:
            lines.append(current)
        lines.append("")  # paragraph gap
    while lines and lines[-1] == "":
        lines.pop()
    return [lines[i : i + per_page] for i in range(0, len(lines), per_page)]


def ground_truth(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line) + "\n"


def render_page(lines: list[str], style: PageStyle) -> Image.Image:
    """A greyscale page with the given lines, skewed, rotated, blurred and noised as asked."""
    font = _font(style)
    w, h = style.pixels
    margin = round(style.dpi * 0.8)
    line_h = round(font.size * style.spacing)
    paper = 246
    img = Image.new("L", (w, h), paper)
    draw = ImageDraw.Draw(img)
    y = round(style.top * h) if style.top else margin
    for line in lines:
        if line:
            x = (w - font.getlength(line)) / 2 if style.centred else margin
            draw.text((x, y), line, font=font, fill=28)
        y += line_h
    arr = np.asarray(img)
    if style.skew:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), style.skew, 1.0)
        arr = cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=paper)
    if style.rotation:
        arr = np.rot90(arr, -(style.rotation // 90))
    rng = np.random.default_rng(style.seed)
    if style.blur:
        arr = cv2.GaussianBlur(arr, (0, 0), style.blur)
    if style.noise:
        noisy = arr.astype(np.float32) + rng.normal(0, style.noise, arr.shape).astype(np.float32)
        specks = rng.random(arr.shape) < 0.0002  # dust
        noisy[specks] = 40
        arr = noisy.clip(0, 255)
    out = Image.fromarray(np.ascontiguousarray(arr).astype(np.uint8), "L")
    out.info["dpi"] = (style.dpi, style.dpi)
    return out
