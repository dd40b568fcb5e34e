"""Set a bad input aside: a copy of it and a JSON reason under DIR/quarantine/<batch>/."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from arhiva import atomic
from arhiva.config import PIPELINE_VERSION
from arhiva.errors import QuarantineReason
from arhiva.ingest.names import is_plain, printable
from arhiva.schemas.models import QuarantineRecord

REASON_SUFFIX = ".quarantine.json"
# Files that are not the batch's own to hand in: only the reason is written, never a copy.
NOT_COPIED = frozenset({QuarantineReason.symlink_outside_source, QuarantineReason.link_outside_source})


def quarantine_record(
    source: str,
    reason: QuarantineReason,
    message: str,
    *,
    stage: str,
    batch: str,
    sha256: str | None = None,
    size: int | None = None,
) -> QuarantineRecord:
    """Why a file of a batch is set aside, stamped with the time and the pipeline's version. A name
    that is not plain UTF-8 text is recorded escaped, with its exact bytes beside it."""
    return QuarantineRecord(
        source=printable(source),
        source_bytes=None if is_plain(source) else os.fsencode(source).hex(),
        reason=reason,
        message=message,
        stage=stage,
        sha256=sha256,
        size=size,
        batch=batch,
        quarantined_at=dt.datetime.now(dt.UTC),
        pipeline_version=PIPELINE_VERSION,
    )


def quarantine_dir(archive: Path, batch: str) -> Path:
    return archive / "quarantine" / batch


def quarantine(archive: Path, source_root: Path, record: QuarantineRecord) -> Path:
    """Copy the file (never move it) and write its reason. Returns the reason file's path.

    Links that leave the batch folder (symbolic or hard) are not followed: only the reason is
    written.
    Re-running with the same batch overwrites the same entry, so quarantine is idempotent.
    """
    dest_dir = quarantine_dir(archive, record.batch)
    dest = dest_dir / record.source
    src = source_root / (
        os.fsdecode(bytes.fromhex(record.source_bytes)) if record.source_bytes else record.source
    )
    if record.reason not in NOT_COPIED and src.is_file() and not src.is_symlink():
        atomic.copy_file(src, dest)
    reason_name = dest.name + REASON_SUFFIX
    if len(reason_name.encode()) > 255:  # a very long scan name: keep the reason file legal
        digest = hashlib.sha256(dest.name.encode()).hexdigest()[:16]
        reason_name = dest.name.encode()[:180].decode("utf-8", "ignore") + f"…{digest}" + REASON_SUFFIX
    reason_path = dest.with_name(reason_name)
    atomic.write_text(reason_path, record.model_dump_json(indent=2) + "\n")
    return reason_path
