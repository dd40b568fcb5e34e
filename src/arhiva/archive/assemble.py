"""Turn a document's OCRed pages into an archive package: PDF/A, OCR record, metadata."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pikepdf

from arhiva import __version__
from arhiva.archive.events import EventType, append_events, event
from arhiva.archive.package import OCR_NAME, PDF_NAME, PackageWriter, is_archived, load_document
from arhiva.archive.pdfa import build_pdfa
from arhiva.archive.xmp import XmpInfo, build_xmp
from arhiva.config import PIPELINE_VERSION, Settings
from arhiva.errors import PdfaError
from arhiva.schemas.models import ArchivedDocument, DocumentPlan, OcrPage, PageRecord


def _page_records(pages: list[OcrPage]) -> tuple[PageRecord, ...]:
    return tuple(
        PageRecord(
            number=p.page.number,
            width=p.page.width,
            height=p.page.height,
            dpi=p.page.dpi,
            rotation=p.page.rotation,
            skew=p.page.skew,
            orientation=p.page.orientation,
            regions=p.page.regions,
            engine=p.engine,
            blank=p.blank,
            mean_confidence=p.mean_confidence,
            text=p.text,
            words=p.words,
        )
        for p in pages
    )


def _orientation_notes(pages: list[OcrPage]) -> str:
    """The pages turned, how it was decided, and those whose orientation is doubtful."""
    notes = []
    for p in pages:
        o = p.page.orientation
        if o is not None and o.doubt:
            notes.append(f"page {p.page.number} orientation doubtful: {o.doubt}")
        elif p.page.rotation:
            notes.append(f"page {p.page.number} turned {p.page.rotation}° ({o.method if o else 'layout'})")
    return "".join(f"; {n}" for n in notes)


def _mean_confidence(pages: list[OcrPage]) -> float:
    words = sum(len(p.words) for p in pages)
    if not words:
        return 0.0
    return round(sum(p.mean_confidence * len(p.words) for p in pages) / words, 2)


def archive_document(
    archive: Path,
    batch: str,
    plan: DocumentPlan,
    pages: list[OcrPage],
    ocr_engine: str,
    settings: Settings,
) -> ArchivedDocument:
    """Write the document's package and publish it. Idempotent: an existing package wins."""
    if is_archived(archive, plan.document_id):
        return load_document(archive, plan.document_id)
    pages = sorted(pages, key=lambda p: p.page.number)
    if [p.page.number for p in pages] != list(range(1, len(plan.pages) + 1)):
        raise PdfaError(f"document {plan.name}: expected {len(plan.pages)} OCRed pages, got {len(pages)}")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    mean = _mean_confidence(pages)
    xmp = build_xmp(
        XmpInfo(
            identifier=plan.document_id,
            sheet=plan.sheet,
            languages=settings.languages,
            page_count=len(pages),
            sources=tuple(s.path for s in plan.sources),
            created=now,
            creator_tool=f"arhiva {__version__}",
            producer=f"arhiva {__version__} with pikepdf {pikepdf.__version__}",
            arhiva={
                "collection": plan.collection or "",
                "batch": batch,
                **({"replaces": plan.replaces} if plan.replaces else {}),
                "ocrEngine": ocr_engine,
                "ocrLanguages": settings.languages,
                "meanConfidence": f"{mean:.2f}",
                "pipelineVersion": PIPELINE_VERSION,
            },
        )
    )
    writer = PackageWriter(archive, plan.document_id)
    try:
        build_pdfa([Path(p.page_pdf) for p in pages], xmp, writer.pdf_path)
        writer.write_pages(_page_records(pages))
        record = ArchivedDocument(
            document_id=plan.document_id,
            name=plan.name,
            batch=batch,
            collection=plan.collection,
            access_level=plan.access_level,
            metadata=plan.metadata,
            page_count=len(pages),
            mean_confidence=mean,
            languages=settings.languages,
            ocr_engine=ocr_engine,
            pipeline_version=PIPELINE_VERSION,
            archived_at=now,
            sources=plan.sources,
            files=writer.files(),
            blank_pages=tuple(p.page.number for p in pages if p.blank),
            replaces=plan.replaces,
        )
        digests = {f.name: f.sha256 for f in record.files}
        me = f"arhiva {__version__} ({PIPELINE_VERSION})"
        append_events(
            writer.staging,
            event(
                EventType.ingested,
                me,
                f"batch {batch}: "
                + ", ".join(f"{s.path} (sha256 {s.sha256})" for s in plan.sources)
                + "".join(f"; {note}" for note in plan.notes),
                plan.document_id,
            ),
            event(
                EventType.ocred,
                f"{ocr_engine} ({settings.languages})",
                f"{len(pages)} pages, mean word confidence {mean:.1f}" + _orientation_notes(pages),
                digests.get(OCR_NAME),
            ),
            event(
                EventType.converted, f"pikepdf {pikepdf.__version__}, {me}", "PDF/A-2b", digests.get(PDF_NAME)
            ),
        )
        if not writer.publish(record):
            return load_document(archive, plan.document_id)
    except BaseException:
        writer.discard()
        raise
    return record
