"""Diacritic folding done by arhiva itself, so it works on any Elasticsearch.

The Maven Central build of Elasticsearch has no `asciifolding` filter, so the folded copy of
each page's text is computed here and indexed beside the original. Folding keeps every
character in place (one character in, one out), so offsets found in the folded copy are
offsets in the original: highlights can be shown on the text with its diacritics.
"""

from __future__ import annotations

import re
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


# Romanian letters (both the comma-below and the old cedilla forms) and the Latin-1 letters
# that turn up in names: folded with str.replace, far cheaper than a Python call per character.
_COMMON = tuple((ch, _fold_char(ch)) for ch in "ăâîșțşţĂÂÎȘȚŞŢáàäéèëíìïóòöőúùüűçñÁÀÄÉÈËÍÌÏÓÒÖŐÚÙÜŰÇÑ")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _fold_match(m: re.Match[str]) -> str:
    return _fold_char(m.group())


def fold(text: str) -> str:
    """'Autorizaţie ȘTIINȚĂ' -> 'Autorizatie STIINTA'. Same length as the input."""
    if text.isascii():
        return text
    for ch, folded in _COMMON:
        if ch in text:
            text = text.replace(ch, folded)
    if text.isascii():
        return text
    return _NON_ASCII.sub(_fold_match, text)
