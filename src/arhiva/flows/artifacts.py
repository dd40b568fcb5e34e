"""What a supervisor sees in the Prefect UI: a progress artifact while the batch runs, and at
the end tables of documents, quarantined files and pages to check (low OCR confidence)."""

from __future__ import annotations

import re
import threading
import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from arhiva.schemas.models import BatchReport


def artifact_key(batch: str, kind: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes; a key keeps history."""
    slug = re.sub(r"[^a-z0-9]+", "-", batch.lower()).strip("-") or "batch"
    return f"{slug[:60]}-{kind}"


class ProgressArtifact:
    """Pages done as a percentage, updated at most every `interval` seconds and at the end
    (each update opens a Prefect client: tens of milliseconds)."""

    def __init__(self, batch: str, interval: float = 10.0) -> None:
        self.batch = batch
        self.interval = interval
        self.total = 0
        self.done = 0
        self._last = 0.0
        self._lock = threading.Lock()
        self._id: UUID | None = None

    def start(self, total_pages: int) -> None:
        self.total = total_pages
        self._id = create_progress_artifact(
            progress=0.0 if total_pages else 100.0,
            key=artifact_key(self.batch, "progress"),
            description=f"Pages of {self.batch} OCRed and archived ({total_pages} to do)",
        )

    def advance(self, pages: int = 1) -> None:
        with self._lock:
            self.done += pages
            now = time.monotonic()
            if self._id is None or (now - self._last < self.interval and self.done < self.total):
                return
            self._last = now
            update_progress_artifact(self._id, 100.0 * self.done / max(1, self.total))

    def finish(self) -> None:
        if self._id is not None:
            update_progress_artifact(self._id, 100.0)


def publish_report(report: BatchReport, qa_threshold: float) -> None:
    create_table_artifact(
        key=artifact_key(report.batch, "documents"),
        table=[
            {
                "document": d.document_id,
                "title": d.title,
                "pages": d.pages,
                "mean confidence": d.mean_confidence,
                "result": d.outcome.value,
                "PDF/A": d.pdf_path or "",
            }
            for d in report.documents
        ],
        description=f"Documents of batch {report.batch}",
    )
    create_table_artifact(
        key=artifact_key(report.batch, "quarantine"),
        table=[
            {"file": q.source, "reason": q.reason.value, "stage": q.stage, "message": q.message}
            for q in report.quarantined
        ]
        or [{"file": "", "reason": "", "stage": "", "message": "nothing was quarantined"}],
        description=f"Files of batch {report.batch} set aside in quarantine, with the reason",
    )
    create_table_artifact(
        key=artifact_key(report.batch, "qa"),
        table=[
            {
                "document": p.document_id,
                "title": p.title,
                "page": p.page,
                "file": p.source,
                "confidence": p.confidence,
                "reason": p.reason,
            }
            for p in report.low_confidence
        ]
        or [
            {
                "document": "",
                "title": "",
                "page": "",
                "file": "",
                "confidence": f"every page above {qa_threshold:g}",
                "reason": "",
            }
        ],
        description=(
            f"Pages of batch {report.batch} with mean OCR confidence below {qa_threshold:g} or a doubtful "
            "orientation: candidates for checking or re-scanning"
        ),
    )
