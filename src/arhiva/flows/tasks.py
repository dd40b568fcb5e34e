"""Prefect tasks: one per stage, each a thin wrapper of a domain function."""

from __future__ import annotations

import threading
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.states import State

from arhiva.archive.assemble import archive_document
from arhiva.config import Settings
from arhiva.errors import ArhivaError
from arhiva.indexing.base import SearchIndex, index_archived
from arhiva.indexing.open import open_index
from arhiva.ingest.discover import Planner
from arhiva.ingest.filetypes import Limits
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
    QuarantineRecord,
)
from arhiva.schemas.separator import SeparatorPage

_COMMON = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="check-tools", task_run_name="check-tools", **_COMMON)
def check_tools(settings: Settings) -> str:
    check_languages(settings.languages, settings.tessdata)
    return engine_version(settings.languages, settings.tessdata)


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
        limits=Limits(settings.max_image_pixels, settings.max_file_pages, settings.pdf_render_dpi),
        duplex=settings.duplex,
        max_manifest_bytes=settings.max_manifest_bytes,
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


@task(name="page", task_run_name="page {name} p{number}", **_COMMON)
def process_page(
    source_root: Path,
    name: str,
    ref: PageRef,
    number: int,
    work: Path,
    settings: Settings,
) -> OcrPage | SeparatorPage:
    """One page from its scan to its one-page PDF: straightened, then OCRed once. A separator
    sheet is only recognised as one."""
    result = ocr_stage.process(source_root, ref, number, work, settings)
    if isinstance(result, SeparatorPage):
        get_run_logger().info(
            "%s page %d (%s): a separator sheet (%s)", name, number, ref.source, result.payload
        )
        return result
    page = result.page
    get_run_logger().info(
        "%s page %d (%s): rotated %d° (%s), deskewed %.2f°; %d words, mean confidence %.1f",
        name,
        number,
        ref.source,
        page.rotation,
        (page.orientation.doubt or page.orientation.method) if page.orientation else "as prepared before",
        page.skew,
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


_indexes: dict[tuple[Path, str | None], SearchIndex] = {}
_indexes_lock = threading.Lock()


def shared_index(archive: Path, location: str | None) -> SearchIndex:
    """One open index per archive and location in this process, shared by the task threads."""
    with _indexes_lock:
        key = (archive, location)
        if key not in _indexes:
            _indexes[key] = open_index(archive, location)
        return _indexes[key]


def close_indexes() -> None:
    with _indexes_lock:
        for index in _indexes.values():
            index.close()
        _indexes.clear()


def _retry_if_passing(task: object, task_run: object, state: State) -> bool:
    """Retry only errors that can pass (the index busy or briefly unreachable): those arhiva
    marks retryable."""
    try:
        state.result()
    except ArhivaError as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@task(
    name="index",
    task_run_name="index {doc.name}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_if_passing,
    **_COMMON,
)
def index_document(archive: Path, doc: ArchivedDocument, location: str | None) -> int:
    return index_archived(shared_index(archive, location), archive, doc)
