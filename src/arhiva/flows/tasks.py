"""Prefect tasks: one per stage, each a thin wrapper of a domain function."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from arhiva.archive.assemble import archive_document
from arhiva.config import Settings
from arhiva.indexing.base import index_archived
from arhiva.indexing.sqlite import SqliteIndex
from arhiva.ingest.discover import Planner
from arhiva.ingest.quarantine import quarantine
from arhiva.ocr import page as ocr_stage
from arhiva.ocr.tesseract import check_languages, engine_version
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    BatchPlan,
    DocumentPlan,
    OcrPage,
    PageRef,
    PreparedPage,
    QuarantineRecord,
)

_COMMON = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="check-tools", task_run_name="check-tools", **_COMMON)
def check_tools(settings: Settings) -> str:
    version = engine_version(settings.tesseract_cmd)
    check_languages(settings.languages, settings.tesseract_cmd)
    return version


@task(name="discover", task_run_name="discover {batch}", **_COMMON)
def discover(
    source: Path, batch: str, collection: str | None, access: AccessLevel | None, settings: Settings
) -> BatchPlan:
    plan = Planner(
        source,
        batch,
        collection=collection,
        access_level=access,
        default_access=AccessLevel(settings.default_access),
        max_pixels=settings.max_image_pixels,
    ).plan()
    log = get_run_logger()
    log.info(
        "%s: %d documents, %d pages, %d files quarantined, %d ignored",
        batch,
        len(plan.documents),
        plan.page_count,
        len(plan.quarantined),
        len(plan.ignored),
    )
    for q in plan.quarantined:
        log.warning("quarantine %s: %s (%s)", q.source, q.message, q.reason)
    return plan


@task(name="quarantine", task_run_name="quarantine {record.source}", **_COMMON)
def quarantine_file(archive: Path, source_root: Path, record: QuarantineRecord) -> str:
    return str(quarantine(archive, source_root, record))


@task(name="prepare", task_run_name="prepare {name} p{number}", **_COMMON)
def prepare_page(
    source_root: Path,
    document_id: str,
    name: str,
    ref: PageRef,
    number: int,
    work: Path,
    settings: Settings,
) -> PreparedPage:
    page = ocr_stage.prepare(source_root, document_id, ref, number, work, settings)
    get_run_logger().info(
        "%s page %d (%s): rotated %d°, deskewed %.2f°",
        name,
        number,
        ref.source,
        page.rotation,
        page.skew,
    )
    return page


@task(name="ocr", task_run_name="ocr {name} p{page.number}", **_COMMON)
def ocr_page(page: PreparedPage, name: str, settings: Settings) -> OcrPage:
    result = ocr_stage.recognise(page, settings)
    get_run_logger().info(
        "%s page %d: %d words, mean confidence %.1f",
        name,
        page.number,
        len(result.words),
        result.mean_confidence,
    )
    return result


@task(name="pdfa", task_run_name="pdfa {plan.name}", **_COMMON)
def build_package(
    archive: Path,
    batch: str,
    plan: DocumentPlan,
    pages: list[OcrPage],
    ocr_engine: str,
    settings: Settings,
) -> ArchivedDocument:
    doc = archive_document(archive, batch, plan, pages, ocr_engine, settings)
    get_run_logger().info("%s archived as %s (%d pages)", plan.name, doc.document_id, doc.page_count)
    return doc


@task(name="index", task_run_name="index {doc.name}", **_COMMON)
def index_document(archive: Path, doc: ArchivedDocument) -> int:
    index = SqliteIndex.in_archive(archive)
    try:
        return index_archived(index, archive, doc)
    finally:
        index.close()
