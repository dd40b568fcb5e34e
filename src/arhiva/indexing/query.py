"""Turn what an operator types into a search query: words, "quoted phrases" and prefix*."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # more than one: a phrase
    prefix: bool = False


def parse_query(query: str) -> list[Term]:
    """Every term must match (AND). Punctuation is ignored, as the index ignores it."""
    terms: list[Term] = []
    for phrase, bare in _TOKEN.findall(query):
        text = phrase if phrase else bare
        words = tuple(_WORD.findall(text))
        if not words:
            continue
        prefix = bool(bare) and bare.endswith("*") and len(words) == 1
        terms.append(Term(words, prefix))
    return terms


def to_fts5(terms: list[Term]) -> str:
    parts = []
    for t in terms:
        quoted = '"' + " ".join(w.replace('"', "") for w in t.words) + '"'
        parts.append(quoted + ("*" if t.prefix else ""))
    return " AND ".join(parts)
