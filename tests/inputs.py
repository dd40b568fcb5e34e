"""Small generated inputs for tests: good pages with known text, and broken files."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image

from arhiva.samples.render import PageStyle, ground_truth, layout, render_page
from arhiva.samples.texts import sample_document


def page(
    seed: int, *, size: str = "a6", skew: float = 0.0, rotation: int = 0, noise: float = 4.0
) -> tuple[Image.Image, str]:
    """A generated scan and its exact text."""
    style = PageStyle(size=size, skew=skew, rotation=rotation, noise=noise, blur=0.4, seed=seed)
    lines = layout(sample_document(seed).paragraphs, style)[0]
    return render_page(lines, style), ground_truth(lines)


def scribbles(seed: int) -> Image.Image:
    """An A5 page of handwriting-like strokes in rows: ink everywhere, no word to read."""
    rng = np.random.default_rng(seed)
    arr = np.full((2480, 1748), 240, np.uint8)
    for row in range(300, 2100, 110):
        x = 200
        while x < 1500:
            stroke = np.cumsum(rng.normal(0, 9, (12, 2)), axis=0) + np.array([x, row])
            cv2.polylines(arr, [stroke.astype(np.int32)], False, 40, 3)
            x += int(rng.integers(40, 120))
    img = Image.fromarray(arr)
    img.info["dpi"] = (300, 300)
    return img


def save_png(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", dpi=(300, 300))
    return path


def corrupt_tiff(path: Path) -> Path:
    """A TIFF whose header is fine but whose image data is cut off."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("L", (600, 800), 200).save(buf, format="TIFF", dpi=(300, 300))
    data = buf.getvalue()
    path.write_bytes(data[:8] + b"\x00" * 64)  # valid magic, garbage structure
    return path


def truncated_png(img: Image.Image, path: Path) -> Path:
    """A PNG that opens (its header is intact) but fails when its pixels are decoded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(300, 300))
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 3])
    return path


def encrypted_pdf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    pdf.save(path, encryption=pikepdf.Encryption(owner="proprietar", user="parola", R=6))
    return path


def image_pdf(img: Image.Image, path: Path) -> Path:
    """An image-only PDF, as many scanners write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PDF", resolution=300)
    return path
