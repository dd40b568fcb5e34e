"""A re-scan as a new version of the same record (`arhiva rescan`).

Some pages of an archived document are scanned again; the new version is a new package (its id
from its content, as always) made of the new scans and the old version's other pages, taken
from its PDF/A as they are (image and text layer) with their OCR records. The two are linked
both ways: `replaces` in the new version's metadata.json and XMP, `replaced_by` in the old
one's metadata.json (rewritten in one step, `rewrite_record`; its PDF/A, OCR and XMP untouched,
so it stays verifiable). Both audit trails say what happened.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf

from arhiva.archive.events import EventType, append_events, event
from arhiva.archive.package import (
    PDF_NAME,
    load_document,
    load_pages,
    package_dir,
    relative_pdf_path,
    rewrite_record,
)
from arhiva.checksum import sha256_file
from arhiva.schemas.models import ArchivedDocument, FileKind, OcrPage, PageRef, PreparedPage


def kept_pages(archive: Path, old: ArchivedDocument, numbers: list[int], out: Path) -> list[OcrPage]:
    """The old version's pages `numbers` (1-based) as the stages give pages: each a one-page PDF
    cut from its PDF/A into `out`, with its OCR record. Each page's content key is the PDF/A's
    SHA-256 and the page's place in it."""
    pdf_path = package_dir(archive, old.document_id) / PDF_NAME
    digest = sha256_file(pdf_path)
    records = {r.number: r for r in load_pages(archive, old.document_id)}
    out.mkdir(parents=True, exist_ok=True)
    kept = []
    with pikepdf.open(pdf_path) as pdf:
        for number in numbers:
            one = out / f"kept-{number}.pdf"
            with pikepdf.new() as single:
                single.pages.append(pdf.pages[number - 1])
                single.save(one)
            r = records[number]
            ref = PageRef(
                source=relative_pdf_path(old.document_id),
                source_sha256=digest,
                index=number - 1,
                kind=FileKind.pdf,
            )
            prepared = PreparedPage(
                number=number,
                ref=ref,
                image_path=str(one),
                width=r.width,
                height=r.height,
                dpi=r.dpi,
                color_mode="L",
                rotation=r.rotation,
                skew=r.skew,
                orientation=r.orientation,
                regions=r.regions,
            )
            kept.append(
                OcrPage(
                    page=prepared,
                    text=r.text,
                    mean_confidence=r.mean_confidence,
                    words=r.words,
                    engine=r.engine,
                    blank=r.blank,
                    page_pdf=str(one),
                )
            )
    return kept


def mark_replaced(archive: Path, old_id: str, new: ArchivedDocument, agent: str, detail: str) -> None:
    """Link the old version to the new one, and say so in its audit trail."""
    old = load_document(archive, old_id)
    if old.replaced_by == new.document_id:  # the same re-scan, run again
        return
    rewrite_record(archive, old.model_copy(update={"replaced_by": new.document_id}))
    append_events(
        package_dir(archive, old_id), event(EventType.replaced, agent, f"by {new.document_id}: {detail}")
    )
