"""Paper sizes and the fonts pages are drawn with (generated samples, separator sheets)."""

from __future__ import annotations

from pathlib import Path

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


def font_path(kind: str) -> Path:
    for name in FONTS[kind]:
        for d in _FONT_DIRS:
            if (d / name).exists():
                return d / name
    raise FileNotFoundError(f"no {kind} font found; install the Debian package fonts-dejavu-core")
