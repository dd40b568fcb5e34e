"""Fixity: prove that what the archive holds is what was written, and still valid PDF/A.

Every package lists its files with their SHA-256 in `checksums.sha256` (and in metadata.json).
`verify` re-hashes them, names any file changed, missing or unexpected, and can have veraPDF
re-validate the PDF/A files. It works through documents in id order and can stop after a time
budget, remembering where it stopped, so a large archive is verified over several runs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from arhiva import atomic
from arhiva.archive.events import EVENTS_NAME, EventType, append_events, event
from arhiva.archive.package import (
    CHECKSUMS_NAME,
    METADATA_NAME,
    OCR_NAME,
    PDF_NAME,
    iter_document_ids,
    load_document,
    load_pages,
    package_dir,
)
from arhiva.archive.verapdf import validate_pdfa
from arhiva.checksum import sha256_file
from arhiva.errors import ArhivaError, PackageError
from arhiva.schemas.models import AccessLevel

STATE_FILE = "verify-state.json"


@dataclass
class VerifyReport:
    documents_checked: int = 0
    files_checked: int = 0
    pdfa_checked: int = 0
    problems: list[str] = field(default_factory=list)
    finished: bool = True  # False when the time budget ran out
    resume_after: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_package(archive: Path, document_id: str) -> tuple[int, list[str]]:
    """Re-hash a package's files against checksums.sha256. Returns (files checked, problems)."""
    pkg = package_dir(archive, document_id)
    rel = pkg.relative_to(archive)
    listing = pkg / CHECKSUMS_NAME
    if not listing.is_file():
        return 0, [f"{rel}/{CHECKSUMS_NAME}: missing, the package cannot be verified"]
    expected: dict[str, str] = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([0-9a-f]{64})  (.+)", line.strip())
        if m:
            expected[m.group(2)] = m.group(1)
    problems = []
    checked = 0
    for name, digest in sorted(expected.items()):
        path = pkg / name
        if not path.is_file():
            problems.append(f"{rel}/{name}: missing")
            continue
        checked += 1
        actual = sha256_file(path)
        if actual != digest:
            problems.append(f"{rel}/{name}: SHA-256 {actual} differs from the recorded {digest}")
    present = {p.name for p in pkg.iterdir() if p.is_file()} - {CHECKSUMS_NAME, EVENTS_NAME}
    problems += [
        f"{rel}/{name}: not part of the package as written" for name in sorted(present - set(expected))
    ]
    if METADATA_NAME in expected and (pkg / METADATA_NAME).is_file():
        try:
            recorded = {f.name: f.sha256 for f in load_document(archive, document_id).files}
            if (pkg / OCR_NAME).is_file():
                load_pages(archive, document_id)
        except PackageError as exc:
            problems.append(str(exc))
        else:
            problems += [
                f"{rel}/{name}: metadata.json records {digest}, checksums.sha256 {expected.get(name)}"
                for name, digest in recorded.items()
                if expected.get(name) != digest
            ]
    return checked, problems


def verify_archive(
    archive: Path,
    *,
    pdfa: bool = True,
    jars: Path | None = None,
    budget_s: float | None = None,
    resume: bool = False,
    indexed: Mapping[str, AccessLevel] | None = None,
) -> VerifyReport:
    """Verify every package (from where the last run stopped, with `resume`).

    `indexed`, when given, is what the search index holds (document id: its access level there):
    archived documents missing from it, index entries without a document, and a document whose
    level in the index is not its package's, are problems too.
    """
    report = VerifyReport()
    state = archive / STATE_FILE
    start_after = None
    if resume and state.is_file():
        start_after = json.loads(state.read_text(encoding="utf-8")).get("resume_after")
    started = time.monotonic()
    ids = list(iter_document_ids(archive))
    pending_pdfs: list[tuple[str, Path]] = []
    checked_ids: list[str] = []
    superseded: set[str] = set()  # versions replaced by a re-scan: not in the index, rightly
    for doc_id in ids:
        if start_after and doc_id <= start_after:
            continue
        if budget_s is not None and report.documents_checked and time.monotonic() - started > budget_s:
            report.finished = False  # at least one document per run, so every run makes progress
            break
        files, problems = check_package(archive, doc_id)
        checked_ids.append(doc_id)
        report.documents_checked += 1
        report.files_checked += files
        report.problems += problems
        report.resume_after = doc_id
        if indexed is not None and not problems:
            doc = load_document(archive, doc_id)
            if doc.replaced_by:
                superseded.add(doc_id)
            elif doc_id in indexed and indexed[doc_id] is not doc.access_level:
                level = doc.access_level
                report.problems.append(
                    f"document {doc_id}: {level} in the archive but {indexed[doc_id]} in the search index; "
                    f"`arhiva access set {doc_id[:12]} {level}` repairs the index entry"
                )
        pdf = package_dir(archive, doc_id) / PDF_NAME
        if pdfa and pdf.is_file():
            pending_pdfs.append((doc_id, pdf))
    pdfa_ok: dict[str, bool] = {}
    if pending_pdfs:
        verdicts: dict[Path, bool] = {}
        if jars is None:
            report.problems.append("veraPDF is not available: run scripts/verapdf --fetch, or use --no-pdfa")
        else:
            try:
                verdicts = validate_pdfa([p for _, p in pending_pdfs], jars)
            except ArhivaError as exc:
                report.problems.append(f"the PDF/A files could not be validated: {exc}")
        if verdicts:
            for doc_id, pdf in pending_pdfs:
                report.pdfa_checked += 1
                pdfa_ok[doc_id] = verdicts[pdf]
                if not verdicts[pdf]:
                    report.problems.append(
                        f"{pdf.relative_to(archive)}: not valid PDF/A-2b according to veraPDF"
                    )
    for doc_id in checked_ids:
        rel = str(package_dir(archive, doc_id).relative_to(archive))
        mine = [p for p in report.problems if p.startswith(rel)]
        what = "checksums" + (", PDF/A-2b (veraPDF)" if doc_id in pdfa_ok else "")
        if package_dir(archive, doc_id).is_dir():
            append_events(
                package_dir(archive, doc_id),
                event(
                    EventType.verified,
                    "arhiva verify",
                    f"{what}: " + ("; ".join(mine) or "as recorded"),
                    ok=not mine,
                ),
            )
    if indexed is not None:
        in_index = set(indexed)
        report.problems += [  # of the documents verified in this run (all, without a time budget)
            f"document {d}: archived but not in the search index"
            for d in sorted(set(checked_ids) - superseded - in_index)
        ]
        archived = set(ids)
        report.problems += [
            f"document {d}: in the search index but not in the archive" for d in sorted(in_index - archived)
        ]
    if report.finished:
        state.unlink(missing_ok=True)
        report.resume_after = None
    else:
        atomic.write_text(state, json.dumps({"resume_after": report.resume_after}) + "\n")
    return report
