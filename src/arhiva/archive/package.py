"""The on-disk archive: one folder per document, published whole or not at all.

    DIR/documents/<id[:2]>/<id>/document.pdf      the PDF/A-2b
                               /metadata.json     ArchivedDocument (record sheet, sources, checksums)
                               /ocr.json          every page's text, word boxes and confidence
                               /checksums.sha256  sha256sum-compatible list of the files above
    DIR/quarantine/<batch>/...                    copies of bad input, with a .quarantine.json each
    DIR/splits/<id[:2]>/<id>.json                 the documents a stack was split into at its separators
    DIR/index.sqlite                              the embedded search index (derived, rebuildable)

A package is written in DIR/.staging and renamed into place in one step, so a folder under
documents/ is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from arhiva import atomic
from arhiva.archive.events import EVENTS_NAME
from arhiva.checksum import sha256_file
from arhiva.errors import PackageError, UsageError
from arhiva.schemas.models import ArchivedDocument, ArchivedFile, PageRecord

PDF_NAME = "document.pdf"
METADATA_NAME = "metadata.json"
OCR_NAME = "ocr.json"
CHECKSUMS_NAME = "checksums.sha256"

_PAGES = TypeAdapter(tuple[PageRecord, ...])


def documents_dir(archive: Path) -> Path:
    return archive / "documents"


def package_dir(archive: Path, document_id: str) -> Path:
    return documents_dir(archive) / document_id[:2] / document_id


def is_archived(archive: Path, document_id: str) -> bool:
    return (package_dir(archive, document_id) / METADATA_NAME).is_file()


def work_dir(archive: Path) -> Path:
    """Scratch space for prepared pages and Tesseract outputs, on the archive's filesystem."""
    return archive / ".work"


class PackageWriter:
    """Collects a document's files in a staging folder, then publishes them atomically."""

    def __init__(self, archive: Path, document_id: str) -> None:
        self.archive = archive
        self.document_id = document_id
        self.staging = staging_dir(archive, document_id)

    @property
    def pdf_path(self) -> Path:
        return self.staging / PDF_NAME

    def write_pages(self, pages: tuple[PageRecord, ...]) -> None:
        (self.staging / OCR_NAME).write_bytes(_PAGES.dump_json(pages, indent=1) + b"\n")

    def files(self) -> tuple[ArchivedFile, ...]:
        return tuple(
            ArchivedFile(name=f.name, sha256=sha256_file(f), size=f.stat().st_size)
            for f in sorted(self.staging.iterdir())
            if f.is_file() and f.name != EVENTS_NAME
        )

    def publish(self, record: ArchivedDocument) -> bool:
        """Write metadata and checksums, then move the package into place.

        Returns False when the same document was published meanwhile (by a concurrent run).
        """
        write_record(self.staging, record)
        return atomic.publish_dir(self.staging, package_dir(self.archive, self.document_id))

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _package_file(archive: Path, document_id: str, name: str) -> bytes:
    try:
        return (package_dir(archive, document_id) / name).read_bytes()
    except OSError as exc:
        raise PackageError(document_id, f"{_rel(document_id)}/{name} cannot be read: {exc.strerror}") from exc


def _invalid(document_id: str, name: str, exc: ValidationError) -> PackageError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the file"
    more = f", and {exc.error_count() - 1} more problems" if exc.error_count() > 1 else ""
    return PackageError(
        document_id,
        f"{_rel(document_id)}/{name} is not a valid record ({where}: {first['msg']}{more}); "
        "restore the package from a backup, or run `arhiva verify`",
    )


def _rel(document_id: str) -> str:
    return f"documents/{document_id[:2]}/{document_id}"


def write_record(folder: Path, record: ArchivedDocument) -> None:
    """Write a package's metadata.json, then its checksums.sha256 over every file but the
    audit trail (which only grows)."""
    (folder / METADATA_NAME).write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    lines = [
        f"{sha256_file(f)}  {f.name}\n"
        for f in sorted(folder.iterdir())
        if f.is_file() and f.name != EVENTS_NAME
    ]
    (folder / CHECKSUMS_NAME).write_text("".join(lines), encoding="utf-8")


def staging_dir(archive: Path, document_id: str) -> Path:
    """A new folder to write a package in, named for its owner (see clean_stale)."""
    root = archive / ".staging"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{document_id[:16]}.{atomic.owner_tag()}.", dir=root))


def load_document(archive: Path, document_id: str) -> ArchivedDocument:
    """The package's record. Raises PackageError, naming the package, when it cannot be read."""
    try:
        return ArchivedDocument.model_validate_json(_package_file(archive, document_id, METADATA_NAME))
    except ValidationError as exc:
        raise _invalid(document_id, METADATA_NAME, exc) from exc


def load_pages(archive: Path, document_id: str) -> tuple[PageRecord, ...]:
    try:
        return _PAGES.validate_json(_package_file(archive, document_id, OCR_NAME))
    except ValidationError as exc:
        raise _invalid(document_id, OCR_NAME, exc) from exc


def iter_document_ids(archive: Path) -> Iterator[str]:
    root = documents_dir(archive)
    if not root.is_dir():
        return
    for shard in sorted(root.iterdir()):
        for pkg in sorted(shard.iterdir()):
            if (pkg / METADATA_NAME).is_file():
                yield pkg.name


def resolve_id(archive: Path, prefix: str) -> str:
    """The full id of the one archived document whose id starts with `prefix` (6+ characters)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 6 or not all(c in "0123456789abcdef" for c in prefix):
        raise UsageError(f"{prefix!r} is not a document id (64 hex characters, or at least the first 6)")
    shard = documents_dir(archive) / prefix[:2]
    matches = (
        [p.name for p in shard.glob(f"{prefix}*") if (p / METADATA_NAME).is_file()] if shard.is_dir() else []
    )
    if not matches:
        raise UsageError(f"no archived document has an id starting with {prefix}")
    if len(matches) > 1:
        raise UsageError(f"{len(matches)} documents have ids starting with {prefix}; give more characters")
    return matches[0]


def relative_pdf_path(document_id: str) -> str:
    return f"{_rel(document_id)}/{PDF_NAME}"


def _owner_gone(name: str) -> bool:
    """True when a staging folder's name (<id>.<host>.<pid>.<random>) says its process is gone."""
    parts = name.split(".")
    return len(parts) >= 4 and atomic.owner_gone(f"{parts[1]}.{parts[2]}")


def clean_stale(archive: Path, max_age_s: float = 7 * 24 * 3600) -> int:
    """Remove what interrupted runs left behind. Returns how many entries went.

    Staging folders (half-written packages) go when the process that wrote them is gone, or
    after `max_age_s` when they come from another host. Page work folders (prepared pages and
    OCR results of documents not yet archived) are kept for resuming and go after `max_age_s`.
    """
    removed = 0
    now = time.time()
    staging = archive / ".staging"
    if staging.is_dir():
        for child in staging.iterdir():
            if _owner_gone(child.name) or now - child.stat().st_mtime > max_age_s:
                shutil.rmtree(child, ignore_errors=True)
                removed += 1
    pages = work_dir(archive) / "pages"
    if pages.is_dir():
        for shard in pages.iterdir():
            for child in shard.iterdir():
                if now - child.stat().st_mtime > max_age_s:
                    shutil.rmtree(child, ignore_errors=True)
                    removed += 1
    return removed


def _split_path(archive: Path, stack_id: str) -> Path:
    return archive / "splits" / stack_id[:2] / f"{stack_id}.json"


def record_split(archive: Path, stack_id: str, document_ids: list[str]) -> None:
    """Remember what documents a stack (a file or folder planned as one document) was split into
    at its separator sheets, so that ingesting it again finds them archived without reading it."""
    atomic.write_text(
        _split_path(archive, stack_id), json.dumps({"stack": stack_id, "documents": document_ids}) + "\n"
    )


def split_of(archive: Path, stack_id: str) -> list[str] | None:
    """The documents a stack was split into, when it was."""
    path = _split_path(archive, stack_id)
    try:
        return [str(d) for d in json.loads(path.read_bytes())["documents"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def rewrite_record(archive: Path, changed: ArchivedDocument) -> None:
    """Replace a package's metadata.json by `changed` (its other files as they are): the
    package is rewritten beside itself (its files hard-linked, metadata.json and checksums.sha256
    written anew) and swapped into place in one rename, so a reader sees the old package or the
    new one, never one whose checksums do not match. The audit trail is the same file in both."""
    live = package_dir(archive, changed.document_id)
    staging = staging_dir(archive, changed.document_id)
    try:
        for f in live.iterdir():
            if f.is_file() and f.name not in (METADATA_NAME, CHECKSUMS_NAME):
                os.link(f, staging / f.name)
        write_record(staging, changed)
        atomic.exchange_dirs(live, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after the swap: the old package
