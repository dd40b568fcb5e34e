"""`arhiva rescan`: some pages of an archived document scanned again, archived as a new version
of the same record (`arhiva.archive.versions`), and the index pointed at it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from prefect import flow

from arhiva.archive.assemble import archive_document
from arhiva.archive.package import load_document, work_dir
from arhiva.archive.versions import kept_pages, mark_replaced
from arhiva.checksum import document_id
from arhiva.config import Settings
from arhiva.errors import UsageError
from arhiva.flows import tasks
from arhiva.indexing.base import index_archived
from arhiva.indexing.open import open_index
from arhiva.ingest.discover import Planner
from arhiva.ingest.filetypes import Limits
from arhiva.ocr import page as ocr_stage
from arhiva.schemas.models import ArchivedDocument, DocumentPlan, OcrPage


@flow(name="arhiva-rescan", flow_run_name="rescan {document_id}", validate_parameters=False)
def rescan(
    archive: Path,
    document_id: str,
    pages: list[int],
    scans: Path,
    index_location: str | None,
    settings: Settings,
    agent: str,
) -> ArchivedDocument:
    """The new version of `document_id` with its `pages` (1-based) replaced by the scans in
    `scans` (a folder, files in natural order; or one multi-page file), in that order."""
    old = load_document(archive, document_id)
    if old.replaced_by:
        raise UsageError(f"{document_id[:12]} was replaced by {old.replaced_by[:12]}; re-scan that version")
    if sorted(set(pages)) != sorted(pages) or not all(1 <= n <= old.page_count for n in pages):
        raise UsageError(f"--pages must be distinct page numbers of the document, 1 to {old.page_count}")
    engine = tasks.check_tools(settings)
    root = scans if scans.is_dir() else scans.parent
    plan = Planner(
        root, f"rescan-{document_id[:12]}", limits=Limits(settings.max_image_pixels, settings.max_file_pages)
    ).plan()
    if not scans.is_dir():
        plan = plan.model_copy(update={"documents": tuple(d for d in plan.documents if d.name == scans.name)})
    if plan.quarantined:
        raise UsageError("; ".join(f"{q.source}: {q.message}" for q in plan.quarantined))
    refs = [ref for doc in plan.documents for ref in doc.pages]
    if len(refs) != len(pages):
        raise UsageError(f"{len(pages)} pages to replace, but {scans} holds {len(refs)} scanned pages")
    new: list[OcrPage] = []
    for number, ref in zip(pages, refs, strict=True):
        read = ocr_stage.process(root, ref, number, work_dir(archive), settings)
        if not isinstance(read, OcrPage):
            raise UsageError(f"{ref.source} is a separator sheet, not a page")
        new.append(read)
    with tempfile.TemporaryDirectory(prefix=".rescan-", dir=archive) as tmp:
        keep = [n for n in range(1, old.page_count + 1) if n not in pages]
        ordered = sorted(kept_pages(archive, old, keep, Path(tmp)) + new, key=lambda p: p.page.number)
        listed = ", ".join(str(n) for n in sorted(pages))
        plan_new = DocumentPlan(
            document_id=document_id_of(ordered),
            name=old.name,
            collection=old.collection,
            metadata=old.metadata,
            access_level=old.access_level,
            sources=tuple(
                {s.path: s for s in (*old.sources, *(s for d in plan.documents for s in d.sources))}.values()
            ),
            pages=tuple(p.page.ref for p in ordered),
            notes=(f"new version of {document_id}: pages {listed} re-scanned; the others from its PDF/A",),
            replaces=document_id,
        )
        version = archive_document(archive, plan.batch, plan_new, ordered, engine, settings)  # idempotent
    for p in new:  # their work is done
        shutil.rmtree(Path(p.page.image_path).parent, ignore_errors=True)
    mark_replaced(archive, document_id, version, agent, f"pages {listed} re-scanned")
    index = open_index(archive, index_location)
    try:
        index_archived(index, archive, version)
        index.upsert_document(document_id, [])  # the index points at the newest version only
        index.refresh()
    finally:
        index.close()
    return version


def document_id_of(pages: list[OcrPage]) -> str:
    return document_id(p.page.ref.content_key for p in pages)
