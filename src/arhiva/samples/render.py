"""Render pages that look like 300 dpi scans, with the exact text they carry."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from arhiva.paper import PAPER_SIZES_MM, font_path

PAPER, INK = 246, 28  # grey levels of the paper and the print


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


def _font(style: PageStyle) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(style.font)), round(style.font_pt / 72 * style.dpi))


def _wrap(paragraph: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines


def layout(paragraphs: list[str] | tuple[str, ...], style: PageStyle) -> list[list[str]]:
    """Wrap paragraphs into lines and the lines into pages. Returns the lines of each page."""
    font = _font(style)
    w, h = style.pixels
    margin = round(style.dpi * 0.8)
    line_h = round(font.size * 1.5)
    per_page = max(1, (h - 2 * margin) // line_h)
    lines: list[str] = []
    for para in paragraphs:
        lines += _wrap(para, font, w - 2 * margin)
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
    img = Image.new("L", (w, h), PAPER)
    draw = ImageDraw.Draw(img)
    y = round(style.top * h) if style.top else margin
    for line in lines:
        if line:
            x = (w - font.getlength(line)) / 2 if style.centred else margin
            draw.text((x, y), line, font=font, fill=INK)
        y += line_h
    return _scanned(img, style)


@dataclass(frozen=True)
class Section:
    """A full-width heading and the paragraphs that follow it, set in columns."""

    heading: str
    paragraphs: tuple[str, ...]


def render_columns(
    sections: list[Section] | tuple[Section, ...],
    style: PageStyle,
    columns: int = 2,
    gutter_mm: float = 8.0,
    rules: bool = False,
) -> tuple[Image.Image, str]:
    """A page of sections, as gazettes and two-column decisions are set: each section's heading
    centred across the page, its text in `columns` balanced columns (a vertical rule in each
    gutter when `rules`), and the page's text in reading order: heading, then each column top to
    bottom, left to right, section after section. Sections that do not fit are left out."""
    font = _font(style)
    w, h = style.pixels
    margin = round(style.dpi * 0.6)
    gutter = round(gutter_mm / 25.4 * style.dpi)
    col_w = (w - 2 * margin - (columns - 1) * gutter) / columns
    line_h = round(font.size * style.spacing)
    img = Image.new("L", (w, h), PAPER)
    draw = ImageDraw.Draw(img)
    truth: list[str] = []
    y = margin
    for section in sections:
        lines = [line for para in section.paragraphs for line in _wrap(para, font, col_w)]
        per_column = -(-len(lines) // columns)
        if y + (per_column + 2) * line_h > h - margin:
            break
        draw.text(((w - font.getlength(section.heading)) / 2, y), section.heading, font=font, fill=INK)
        truth.append(section.heading)
        y += 2 * line_h
        for c in range(columns):
            x = margin + c * (col_w + gutter)
            chunk = lines[c * per_column : (c + 1) * per_column]
            for i, line in enumerate(chunk):
                draw.text((x, y + i * line_h), line, font=font, fill=INK)
            truth += chunk
            if rules and c:
                draw.line([(x - gutter / 2, y), (x - gutter / 2, y + per_column * line_h)], fill=INK, width=3)
        y += (per_column + 1) * line_h
    return _scanned(img, style), ground_truth(truth)


def _scanned(img: Image.Image, style: PageStyle) -> Image.Image:
    """The drawn page skewed, rotated, blurred and noised as the style asks."""
    w, h = img.size
    arr = np.asarray(img)
    if style.skew:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), style.skew, 1.0)
        arr = cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=PAPER)
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
