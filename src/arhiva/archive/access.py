"""Changing an archived document's access level: only on purpose, in one step, on the record.

The package's record is rewritten and swapped into place in one step (`rewrite_record`), and the
audit trail says who changed the level, from what, to what. The PDF/A is not touched: its XMP
keeps the level the document was archived with; metadata.json, the index and the audit trail
hold the current one. The caller updates the index (`indexing.base.index_archived`).
"""

from __future__ import annotations

from pathlib import Path

from arhiva.archive.events import EventType, append_events, event
from arhiva.archive.package import (
    load_document,
    package_dir,
    rewrite_record,
)
from arhiva.schemas.models import AccessLevel, ArchivedDocument


def set_access(archive: Path, document_id: str, level: AccessLevel, agent: str, why: str) -> ArchivedDocument:
    """The document at `level` (unchanged when it already is). `agent` and `why` go in the
    audit trail (e.g. 'arhiva access set, by ana@arhiva-01', 'decizia 12/2026')."""
    doc = load_document(archive, document_id)
    if doc.access_level is level:
        return doc
    changed = ArchivedDocument.model_validate(
        {
            **doc.model_dump(),
            "access_level": level,
            "metadata": {**doc.metadata.model_dump(), "access_level": level},
        }
    )
    rewrite_record(archive, changed)
    append_events(
        package_dir(archive, document_id),
        event(EventType.access_changed, agent, f"{doc.access_level} → {level}" + (f": {why}" if why else "")),
    )
    return changed
