"""The sidecar manifest: how an operator maps scans to documents and gives their metadata.

A folder may hold `manifest.csv` or `manifest.json`. Paths in it are relative to that folder.

CSV: one row per file, in page order. Columns: `file` (required), `document` (rows with the
same value form one document; a row without one is a document of its own) and any of the
metadata fields of `ManifestDocument`. `keywords` are separated by ';'. A document's metadata
may be given on any of its rows; two rows giving different values is an error.

JSON: `{"documents": [{"files": ["p1.tif", "p2.tif"], "title": "...", ...}, ...]}`.

Dates are YYYY-MM-DD or DD.MM.YYYY.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from arhiva.schemas.models import DocumentMetadata

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
CSV_ONLY_COLUMNS = ("file", "document")


class ManifestDocument(DocumentMetadata):
    """One document of a manifest: its files in page order, and its record sheet."""

    files: tuple[str, ...] = Field(
        min_length=1, description="Files in page order, relative to the manifest's folder."
    )


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    documents: tuple[ManifestDocument, ...]


def metadata_fields() -> tuple[str, ...]:
    return tuple(DocumentMetadata.model_fields)


def schema_path() -> Path:
    """The JSON Schema of manifest.json, for operators' tools. Generated from `Manifest`."""
    return Path(__file__).with_name("manifest.schema.json")


if __name__ == "__main__":  # python -m arhiva.schemas.manifest  regenerates the schema file
    schema_path().write_text(
        json.dumps(Manifest.model_json_schema(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
