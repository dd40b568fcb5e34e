"""The ingest flow: one flow run per batch, one task per stage, pages streamed through."""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from pathlib import Path

from prefect import flow, tags
from prefect.context import TagsContext
from prefect.futures import PrefectFuture
from prefect.logging import get_run_logger
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from arhiva.archive.package import (
    clean_stale,
    is_archived,
    load_document,
    relative_pdf_path,
    work_dir,
)
from arhiva.config import PIPELINE_VERSION, Settings
from arhiva.errors import (
    ArhivaError,
    DiskFullError,
    InputFileError,
    MissingDependencyError,
    OcrEngineError,
    PdfaError,
    QuarantineReason,
    disk_full_in,
)
from arhiva.flows import progress, tasks
from arhiva.flows.artifacts import ProgressArtifact, publish_report
from arhiva.indexing.base import SearchIndex
from arhiva.ocr.page import discard_work
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    BatchReport,
    DocumentOutcome,
    DocumentPlan,
    DocumentSummary,
    LowConfidencePage,
    OcrPage,
    QuarantineRecord,
)

PageFutures = list[PrefectFuture[OcrPage]]


def _reason(exc: BaseException) -> QuarantineReason:
    if isinstance(exc, InputFileError):
        return exc.reason
    if isinstance(exc, OcrEngineError):
        return QuarantineReason.ocr_failed
    if isinstance(exc, PdfaError):
        return QuarantineReason.pdfa_failed
    return QuarantineReason.processing_failed


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


def _stop_if_disk_full(exc: BaseException, archive: Path) -> None:
    """A full disk is no fault of the document: stop the batch instead of quarantining it."""
    if (full := disk_full_in(exc)) is not None:
        raise DiskFullError(
            f"no space left on the device of {archive} ({full.strerror}); the batch stopped, and no partial "
            "file was kept. Free some space and run the same command again: finished documents are kept."
        ) from exc


@flow(name="arhiva-ingest", flow_run_name="{batch}", validate_parameters=False)
def ingest_batch(
    source: Path,
    archive: Path,
    batch: str,
    collection: str | None,
    access: AccessLevel | None,
    index_location: str | None,
    settings: Settings,
) -> BatchReport:
    """Archive and index every document of a scanner folder; quarantine what cannot be read."""
    # The run's tags name the flow run, which is what supervisors filter on. Its task runs are
    # left untagged: for every tagged task run Prefect asks its server for a concurrency slot
    # first, and on a busy machine those requests kept the page workers waiting a fifth of the time.
    with TagsContext(current_tags=set()):
        return _ingest(source, archive, batch, collection, access, index_location, settings)


def _ingest(
    source: Path,
    archive: Path,
    batch: str,
    collection: str | None,
    access: AccessLevel | None,
    index_location: str | None,
    settings: Settings,
) -> BatchReport:
    started = time.monotonic()
    log = get_run_logger()
    archive.mkdir(parents=True, exist_ok=True)
    clean_stale(archive)
    engine = tasks.check_tools(settings)
    plan = tasks.discover(source, batch, collection, access, settings)
    source_root = Path(plan.source)
    quarantined: list[QuarantineRecord] = list(plan.quarantined)

    def set_aside(record: QuarantineRecord) -> None:
        try:
            tasks.quarantine_file(archive, source_root, record)
        except Exception as exc:
            _stop_if_disk_full(exc, archive)
            raise

    for record in plan.quarantined:
        set_aside(record)

    summaries: list[DocumentSummary] = []
    todo: list[DocumentPlan] = []
    index_errors: list[str] = []
    index: SearchIndex | None
    try:
        index = tasks.shared_index(archive, index_location)
    except ArhivaError as exc:  # archive anyway; `arhiva reindex --pending` indexes later
        log.error("the index cannot be used, documents are archived but not indexed: %s", exc)
        index, index_down = None, str(exc)

    def index_one(doc: ArchivedDocument) -> bool:
        if index is None:
            index_errors.append(f"{doc.name} ({doc.document_id}): {index_down}")
            return False
        try:
            tasks.index_document(archive, doc, index_location)
            return True
        except Exception as exc:  # the document is archived whatever happens to its index entry
            log.error("%s archived but not indexed: %s", doc.name, exc)
            index_errors.append(f"{doc.name} ({doc.document_id}): {exc}")
            return False

    for doc in plan.documents:
        if is_archived(archive, doc.document_id):
            archived = load_document(archive, doc.document_id)
            try:
                present = index is not None and index.has_document(doc.document_id)
            except ArhivaError:
                present = False
            if not present:
                index_one(archived)
            discard_work(work_dir(archive), doc.pages, settings)
            summaries.append(_summary(archived, DocumentOutcome.already_archived))
            log.info("%s is already archived as %s", doc.name, doc.document_id)
        else:
            todo.append(doc)

    progress_artifact = ProgressArtifact(batch)
    listeners: list[progress.ProgressListener] = [progress.listener(), progress_artifact]
    for listener in listeners:
        listener.start(sum(len(d.pages) for d in todo))
    low_confidence: list[LowConfidencePage] = []
    work = work_dir(archive)
    pages_ocred = 0

    def complete(doc: DocumentPlan, futures: PageFutures) -> None:
        nonlocal pages_ocred
        pages: list[OcrPage] = []
        failure: tuple[int, BaseException] | None = None
        for number, ocred in enumerate(futures, start=1):
            try:
                pages.append(ocred.result())
                pages_ocred += not pages[-1].reused
            except MissingDependencyError:
                raise
            except Exception as exc:
                _stop_if_disk_full(exc, archive)
                failure = failure or (number, exc)
        if failure is None:
            try:
                # quote(): Prefect would otherwise walk every word box of every page looking for futures.
                archived = tasks.build_package(archive, batch, quote(doc), quote(pages), engine, settings)
            except MissingDependencyError:
                raise
            except Exception as exc:
                _stop_if_disk_full(exc, archive)
                failure = (0, exc)
            else:
                summaries.append(_summary(archived, DocumentOutcome.archived))
                low_confidence.extend(
                    LowConfidencePage(
                        document_id=doc.document_id,
                        title=archived.title,
                        page=p.page.number,
                        source=p.page.ref.source,
                        confidence=p.mean_confidence,
                    )
                    for p in pages
                    if p.mean_confidence < settings.qa_min_confidence
                )
                index_one(archived)
                return
        if is_archived(archive, doc.document_id):
            # Another run on the same folder published it first (and may have cleaned the
            # work folders this run was using): nothing is wrong with the document.
            log.info("%s was archived meanwhile by another run", doc.name)
            summaries.append(
                _summary(load_document(archive, doc.document_id), DocumentOutcome.already_archived)
            )
            return
        number, exc = failure
        where = f"page {number} ({doc.pages[number - 1].source}): " if number else ""
        log.error("%s could not be archived: %s%s", doc.name, where, exc)
        for src in doc.sources:
            record = QuarantineRecord(
                source=src.path,
                reason=_reason(exc),
                message=f"document {doc.name}, {where}{exc}",
                stage="ocr" if number else "archive",
                sha256=src.sha256,
                size=src.size,
                batch=batch,
                quarantined_at=dt.datetime.now(dt.UTC),
                pipeline_version=PIPELINE_VERSION,
            )
            set_aside(record)
            quarantined.append(record)
        summaries.append(
            DocumentSummary(
                document_id=doc.document_id,
                name=doc.name,
                title=doc.metadata.title or doc.name,
                pages=len(doc.pages),
                mean_confidence=None,
                pdf_path=None,
                outcome=DocumentOutcome.quarantined,
            )
        )

    window = max(4, settings.workers * 4)  # pages in flight: enough to keep every worker busy
    inflight: deque[tuple[DocumentPlan, PageFutures]] = deque()
    try:
        for doc in todo:
            futures: PageFutures = []
            for number, ref in enumerate(doc.pages, start=1):
                ocred = tasks.process_page.submit(source_root, doc.name, ref, number, work, settings)
                for listener in listeners:
                    ocred.add_done_callback(lambda _f, listener=listener: listener.advance(1))
                futures.append(ocred)
            inflight.append((doc, futures))
            while sum(len(f) for _, f in inflight) > window:
                complete(*inflight.popleft())
        while inflight:
            complete(*inflight.popleft())
        if index is not None:
            try:
                index.refresh()
            except ArhivaError as exc:  # what was written is kept; searches see it once it refreshes
                log.error("the index could not be refreshed: %s", exc)
                index_errors.append(f"refresh: {exc}")
    finally:
        tasks.close_indexes()

    progress_artifact.finish()
    report = BatchReport(
        batch=batch,
        source=str(source_root),
        archive=str(archive),
        documents=tuple(summaries),
        quarantined=tuple(quarantined),
        ignored=plan.ignored,
        held_back=plan.held_back,
        index_errors=tuple(index_errors),
        index=index.backend if index is not None else f"unavailable ({index_location})",
        low_confidence=tuple(low_confidence),
        pages_ocred=pages_ocred,
        seconds=round(time.monotonic() - started, 2),
    )
    publish_report(report, settings.qa_min_confidence)
    return report


def run_ingest(
    source: Path,
    archive: Path,
    *,
    batch: str | None = None,
    collection: str | None = None,
    access: AccessLevel | None = None,
    index_location: str | None = None,
    cluster: str | None = None,
    settings: Settings | None = None,
) -> BatchReport:
    """Run the ingest flow: pages on local threads sized to the settings' worker count, or, with
    `cluster` (a Dask scheduler address such as tcp://10.0.0.5:8786), on that Dask cluster's
    workers. Documents are assembled and indexed by this process either way."""
    settings = settings or Settings()
    runner: TaskRunner
    if cluster:
        from prefect_dask import DaskTaskRunner

        runner = DaskTaskRunner(address=cluster)
    else:
        runner = ThreadPoolTaskRunner(max_workers=settings.workers)
    run_tags = ["arhiva", *([f"collection:{collection}"] if collection else [])]
    if cluster:
        run_tags.append("dask")
    with tags(*run_tags):
        return ingest_batch.with_options(task_runner=runner)(
            source=source,
            archive=archive,
            batch=batch or source.resolve().name,
            collection=collection,
            access=access,
            index_location=index_location,
            settings=settings,
        )
