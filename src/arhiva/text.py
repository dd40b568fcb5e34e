"""Romanian text normalisation for what arhiva stores and indexes."""

from __future__ import annotations

# Tesseract's Romanian model often emits the old cedilla letters; Romanian uses comma-below.
CEDILLA_TO_COMMA = {"ş": "ș", "ţ": "ț", "Ş": "Ș", "Ţ": "Ț"}
_TABLE = str.maketrans(CEDILLA_TO_COMMA)


def fix_romanian(text: str) -> str:
    return text.translate(_TABLE)
