"""Diacritic folding done by arhiva itself, so it works on any Elasticsearch.

The Maven Central build of Elasticsearch has no `asciifolding` filter, so the folded copy of
each page's text is computed here and indexed beside the original. Folding keeps every
character in place (one character in, one out), so offsets found in the folded copy are
offsets in the original: highlights can be shown on the text with its diacritics.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFD", ch)
    base = decomposed[0]
    if (
        len(decomposed) > 1
        and all(unicodedata.combining(c) for c in decomposed[1:])
        and not unicodedata.combining(base)
    ):
        return base
    return ch


def fold(text: str) -> str:
    """'Autorizaţie ȘTIINȚĂ' -> 'Autorizatie STIINTA'. Same length as the input."""
    return "".join(_fold_char(ch) for ch in text) if not text.isascii() else text
