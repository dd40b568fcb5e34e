"""Rotation and deskew on generated scans whose true skew and rotation are known."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from arhiva.ocr.prepare import analyse, apply, prepare_page

from .inputs import page

MAX_RESIDUAL_SKEW = 0.3  # degrees, the bound


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("skew", [-7.0, -3.3, 0.0, 0.4, 5.5, 7.0])
def test_rotation_and_skew_are_found(skew: float, rotation: int) -> None:
    img, _ = page(seed=abs(int(skew * 10)) + rotation, size="a6", skew=skew, rotation=rotation, noise=6)
    g = analyse(np.asarray(img), dpi=300)
    assert g.rotation == (360 - rotation) % 360
    assert abs(g.skew - skew) <= MAX_RESIDUAL_SKEW


@pytest.mark.parametrize(("skew", "rotation", "font_seed"), [(6.2, 0, 3), (-4.8, 180, 8), (2.5, 90, 11)])
def test_full_a4_pages(skew: float, rotation: int, font_seed: int) -> None:
    img, _ = page(seed=font_seed, size="a4", skew=skew, rotation=rotation, noise=8)
    g = analyse(np.asarray(img), dpi=300)
    assert g.rotation == (360 - rotation) % 360
    assert abs(g.skew - skew) <= MAX_RESIDUAL_SKEW


def test_straightened_page_has_no_residual_skew() -> None:
    img, _ = page(seed=5, size="a6", skew=-6.0, rotation=90)
    fixed = apply(img, analyse(np.asarray(img), dpi=300))
    assert fixed.size == (img.height, img.width)
    again = analyse(np.asarray(fixed), dpi=300)
    assert again.rotation == 0 and abs(again.skew) <= MAX_RESIDUAL_SKEW


def test_blank_and_bitonal_pages() -> None:
    blank = np.full((1000, 700), 250, np.uint8)
    assert analyse(blank, dpi=300).rotation == 0 and analyse(blank, dpi=300).skew == 0.0
    img, _ = page(seed=2, skew=3.0, noise=0)
    bitonal = img.point(lambda v: 255 if v > 128 else 0).convert("1")
    g = analyse(np.asarray(bitonal.convert("L")), dpi=300)
    assert abs(g.skew - 3.0) <= MAX_RESIDUAL_SKEW
    out = apply(bitonal, g)
    assert out.mode == "1" and out.size == bitonal.size


def test_colour_page_keeps_colour() -> None:
    img, _ = page(seed=4, skew=-2.0)
    rgb = Image.merge("RGB", (img, img, img.point(lambda v: max(0, v - 30))))
    g = analyse(np.asarray(rgb), dpi=300)
    assert abs(g.skew + 2.0) <= MAX_RESIDUAL_SKEW
    assert apply(rgb, g).mode == "RGB"


@pytest.mark.parametrize(("skew", "corrected"), [(0.2, False), (-2.0, True)])
def test_bitonal_pages_are_not_turned_by_a_fraction_of_a_degree(
    skew: float, corrected: bool, tmp_path
) -> None:
    img, _ = page(seed=9, size="a6", skew=skew, noise=0)
    bitonal = img.point(lambda v: 255 if v > 128 else 0).convert("1")
    prepared = prepare_page(bitonal, 300, tmp_path / "page.tif")
    geometry, out = prepared.geometry, prepared.image
    assert out.mode == "1"
    if corrected:
        assert abs(geometry.skew - skew) <= MAX_RESIDUAL_SKEW
    else:  # left as scanned, pixel for pixel
        assert geometry.skew == 0.0 and out.tobytes() == bitonal.tobytes()
