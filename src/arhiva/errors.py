"""arhiva's errors. Each class says what it means for a batch (the quarantine reason of the
files it concerns) and for a command (its exit code); exceptions become exit codes only at the
edge, in cli.py's one handler."""

from __future__ import annotations

import errno
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    ok = 0
    error = 1  # the batch could not run (bad arguments, unreadable source, ...)
    usage = 2  # reserved by typer for command-line usage errors
    quarantined = 3  # the batch ran, but some files were quarantined
    missing_dependency = 4  # Tesseract, Ghostscript or another tool is missing
    not_indexed = 5  # every document was archived, but some could not be indexed
    verify_failed = 6  # `arhiva verify` found a changed, missing or invalid file
    disk_full = 7  # the archive's disk filled up; the batch stopped, nothing partial kept
    index_unavailable = 8  # the search index cannot be reached, or must be rebuilt (`arhiva reindex`)
    internal = 70  # an unexpected error (a bug): the traceback is printed; sysexits' EX_SOFTWARE


class QuarantineReason(StrEnum):
    empty_file = "empty_file"
    unsupported_type = "unsupported_type"
    corrupt_image = "corrupt_image"
    corrupt_pdf = "corrupt_pdf"
    encrypted_pdf = "encrypted_pdf"
    empty_pdf = "empty_pdf"
    image_too_large = "image_too_large"
    too_many_pages = "too_many_pages"
    not_duplex = "not_duplex"  # --duplex, and a stack of an odd number of pages
    symlink_outside_source = "symlink_outside_source"
    link_outside_source = "link_outside_source"  # a hard link whose file has names outside the batch
    bad_name = "bad_name"
    bad_manifest = "bad_manifest"
    ocr_failed = "ocr_failed"
    pdfa_failed = "pdfa_failed"
    processing_failed = "processing_failed"


class ArhivaError(Exception):
    """Base of every error arhiva raises on purpose."""

    exit_code: ExitCode = ExitCode.error
    retryable: bool = False  # the same call may succeed later (the index busy or restarting)
    reason: QuarantineReason = QuarantineReason.processing_failed  # when it stops a document


def quarantine_reason(exc: BaseException) -> QuarantineReason:
    """Why a document's files go to quarantine when `exc` stopped it."""
    return exc.reason if isinstance(exc, ArhivaError) else QuarantineReason.processing_failed


class UsageError(ArhivaError):
    """A command was given something it cannot work with (a missing folder, a bad value)."""


class InputFileError(ArhivaError):
    """One input file cannot be used; it goes to quarantine and the batch goes on."""

    def __init__(self, reason: QuarantineReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ManifestError(ArhivaError):
    """A sidecar manifest (or a separator sheet's code) is invalid. The message names the file,
    row and field."""

    reason = QuarantineReason.bad_manifest

    def __init__(self, manifest: str, problems: list[str]) -> None:
        self.manifest = manifest
        self.problems = problems
        super().__init__(f"{manifest}: " + "; ".join(problems))


class MissingDependencyError(ArhivaError):
    """A program or library arhiva needs is not installed; the message says how to install it."""

    exit_code = ExitCode.missing_dependency


class ToolError(ArhivaError):
    """An external program (Tesseract, veraPDF, ...) failed or did not finish in time."""


class OcrEngineError(ToolError):
    """Tesseract failed or timed out on a page."""

    reason = QuarantineReason.ocr_failed


class PdfaError(ArhivaError):
    """The PDF/A file could not be assembled."""

    reason = QuarantineReason.pdfa_failed


class IndexingError(ArhivaError):
    """The index cannot be reached, or some records were refused; the message says which."""

    exit_code = ExitCode.index_unavailable
    retryable = True


class IndexVersionError(IndexingError):
    """The index was built for another schema version: rebuild it with `arhiva reindex`."""

    retryable = False


class IndexLocationError(UsageError):
    """An --index value that names no index arhiva knows."""


class PackageError(ArhivaError):
    """An archived package cannot be read (its metadata.json or ocr.json is damaged or invalid):
    the commands reading the archive name it and go on; `arhiva verify` reports it."""

    exit_code = ExitCode.verify_failed

    def __init__(self, document_id: str, message: str) -> None:
        super().__init__(message)
        self.document_id = document_id


class DiskFullError(ArhivaError):
    """No space left where arhiva writes. The batch stops; no partial file is kept."""

    exit_code = ExitCode.disk_full


def disk_full_in(exc: BaseException) -> OSError | None:
    """The 'no space left on device' error behind an exception, if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
