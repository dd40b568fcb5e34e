"""Changing an archived document's access level: only on purpose, in one step, on the record.

The package is rewritten beside itself (its files hard-linked, metadata.json and
checksums.sha256 written anew) and swapped into place in one rename, so a reader sees the old
package or the new one, never a package whose checksums do not match. The audit trail (the same
file in both) says who changed the level, from what, to what. The PDF/A is not touched: its XMP
keeps the level the document was archived with; metadata.json, the index and the audit trail
hold the current one. The caller updates the index (`indexing.base.index_archived`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from arhiva import atomic
from arhiva.archive.events import EventType, append_events, event
from arhiva.archive.package import (
    CHECKSUMS_NAME,
    METADATA_NAME,
    load_document,
    package_dir,
    staging_dir,
    write_record,
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
    live = package_dir(archive, document_id)
    staging = staging_dir(archive, document_id)
    try:
        for f in live.iterdir():
            if f.is_file() and f.name not in (METADATA_NAME, CHECKSUMS_NAME):
                os.link(f, staging / f.name)  # the same files: the audit trail goes on growing in both
        write_record(staging, changed)
        atomic.exchange_dirs(live, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after the swap: the old package
    append_events(
        live,
        event(EventType.access_changed, agent, f"{doc.access_level} → {level}" + (f": {why}" if why else "")),
    )
    return changed
