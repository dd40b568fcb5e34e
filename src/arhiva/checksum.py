"""SHA-256 of files and of documents. Computed once at intake and passed along."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20
DOCUMENT_ID_VERSION = "arhiva-document-v1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_id(page_keys: Iterable[str]) -> str:
    """A document's id: derived only from the content of its pages, in order."""
    h = hashlib.sha256(DOCUMENT_ID_VERSION.encode())
    for key in page_keys:
        h.update(b"\n" + key.encode())
    return h.hexdigest()
