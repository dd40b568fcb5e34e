"""A batch's bookkeeping: what became of each document and file, and the report at its end.

Plain Python, no Prefect: the flow tells the ledger what happened (a document archived, already
archived, failed, not indexed; a page OCRed) and the ledger decides what that means for the
batch: which files go to quarantine and why, which pages are listed for re-scanning, what the
report says. `stop_on` holds the batch's one rule for errors that no document is to blame for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from arhiva.archive.package import relative_pdf_path
from arhiva.errors import DiskFullError, MissingDependencyError, disk_full_in, quarantine_reason
from arhiva.ingest.quarantine import quarantine_record
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    BatchPlan,
    BatchReport,
    DocumentOutcome,
    DocumentPlan,
    DocumentSummary,
    LowConfidencePage,
    OcrPage,
    QuarantineRecord,
    qa_reason,
)


def stop_on(exc: BaseException, archive: Path) -> None:
    """Stop the batch, instead of quarantining a document, when the fault is not the document's:
    a missing tool (raised again as it is) or a full disk (DiskFullError)."""
    if isinstance(exc, MissingDependencyError):
        raise exc
    if (full := disk_full_in(exc)) is not None:
        raise DiskFullError(
            f"no space left on the device of {archive} ({full.strerror}); the batch stopped, and no partial "
            "file was kept. Free some space and run the same command again: finished documents are kept."
        ) from exc


class BatchLedger:
    def __init__(self, plan: BatchPlan, archive: Path, qa_min_confidence: float) -> None:
        self.plan = plan
        self.archive = archive
        self.qa_min_confidence = qa_min_confidence
        self.documents: list[DocumentSummary] = []
        self.quarantined: list[QuarantineRecord] = list(plan.quarantined)
        self.index_errors: list[str] = []
        self.notes: list[str] = []
        self.low_confidence: list[LowConfidencePage] = []
        self.pages_ocred = 0

    def page_done(self, page: OcrPage) -> None:
        """Counts the pages OCRed in this run, not those an interrupted run had finished."""
        self.pages_ocred += not page.reused

    def archived(self, doc: ArchivedDocument, pages: Sequence[OcrPage]) -> None:
        self.documents.append(_summary(doc, DocumentOutcome.archived))
        self.low_confidence.extend(
            LowConfidencePage(
                document_id=doc.document_id,
                title=doc.title,
                page=p.page.number,
                source=p.page.ref.source,
                confidence=p.mean_confidence,
                reason=reason,
            )
            for p in pages
            if (reason := _qa_reason(p, self.qa_min_confidence))
        )

    def already_archived(self, doc: ArchivedDocument, planned: DocumentPlan | None = None) -> None:
        """`planned`: this run's plan of the document, when its access level may differ."""
        self.documents.append(_summary(doc, DocumentOutcome.already_archived))
        if planned is not None and planned.access_level is not doc.access_level:
            self.notes.append(
                f"{doc.name}: archived as {doc.access_level}, and kept so (not {planned.access_level}): an "
                "archived document's level changes only with its manifest's access_level or `arhiva access set`"
            )

    def access_changed(self, doc: ArchivedDocument, before: AccessLevel) -> None:
        self.documents.append(_summary(doc, DocumentOutcome.already_archived))
        self.notes.append(f"{doc.name}: access level {before} → {doc.access_level}, as its manifest says")

    def failed(self, plan: DocumentPlan, page: int, exc: BaseException) -> list[QuarantineRecord]:
        """The document could not be archived because of `exc`, on `page` (0: while assembling
        it). Returns the quarantine records of its files, for the flow to set them aside."""
        records = [
            quarantine_record(
                src.path,
                quarantine_reason(exc),
                f"document {plan.name}, {failure_place(plan, page)}{exc}",
                stage="ocr" if page else "archive",
                batch=self.plan.batch,
                sha256=src.sha256,
                size=src.size,
            )
            for src in plan.sources
        ]
        self.quarantined.extend(records)
        self.documents.append(
            DocumentSummary(
                document_id=plan.document_id,
                name=plan.name,
                title=plan.metadata.title or plan.name,
                pages=len(plan.pages),
                mean_confidence=None,
                pdf_path=None,
                outcome=DocumentOutcome.quarantined,
            )
        )
        return records

    def not_indexed(self, doc: ArchivedDocument, why: object) -> None:
        """The document is archived, but the index lacks it."""
        self.index_errors.append(f"{doc.name} ({doc.document_id}): {why}")

    def refresh_failed(self, why: object) -> None:
        """What was written to the index is kept; searches see it once the index refreshes."""
        self.index_errors.append(f"refresh: {why}")

    def report(self, index: str, seconds: float) -> BatchReport:
        return BatchReport(
            batch=self.plan.batch,
            source=self.plan.source,
            archive=str(self.archive),
            documents=tuple(self.documents),
            quarantined=tuple(self.quarantined),
            ignored=self.plan.ignored,
            held_back=self.plan.held_back,
            index_errors=tuple(self.index_errors),
            notes=tuple(self.notes),
            index=index,
            low_confidence=tuple(self.low_confidence),
            pages_ocred=self.pages_ocred,
            seconds=seconds,
        )


def failure_place(plan: DocumentPlan, page: int) -> str:
    """'page 2 (scan-2.tif): ' for a page's failure, '' for the document's."""
    return f"page {page} ({plan.pages[page - 1].source}): " if page else ""


def _summary(doc: ArchivedDocument, outcome: DocumentOutcome) -> DocumentSummary:
    return DocumentSummary(
        document_id=doc.document_id,
        name=doc.name,
        title=doc.title,
        pages=doc.page_count,
        mean_confidence=doc.mean_confidence,
        pdf_path=relative_pdf_path(doc.document_id),
        outcome=outcome,
    )


def _qa_reason(page: OcrPage, qa_min_confidence: float) -> str:
    return qa_reason(page.blank, page.mean_confidence, page.page.orientation, qa_min_confidence)
