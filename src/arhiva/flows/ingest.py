"""The ingest flow: one flow run per batch, one task per stage, pages streamed through."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from prefect import flow, tags
from prefect.context import TagsContext
from prefect.futures import PrefectFuture
from prefect.logging import get_run_logger
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from arhiva import __version__
from arhiva.archive.access import set_access
from arhiva.archive.package import clean_stale, is_archived, load_document, record_split, split_of, work_dir
from arhiva.config import Settings
from arhiva.errors import ArhivaError, PackageError
from arhiva.flows import progress, tasks
from arhiva.flows.artifacts import ProgressArtifact, publish_report
from arhiva.flows.ledger import BatchLedger, failure_place, stop_on
from arhiva.indexing.base import SearchIndex
from arhiva.ingest.names import batch_name, check_label
from arhiva.ingest.stacks import Part, split_stack
from arhiva.ocr.pagework import PageWork
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    BatchPlan,
    BatchReport,
    DocumentPlan,
    OcrPage,
    QuarantineRecord,
)
from arhiva.schemas.separator import SeparatorPage

PageFutures = list[PrefectFuture[OcrPage | SeparatorPage]]


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
    archive.mkdir(parents=True, exist_ok=True)
    clean_stale(archive)
    engine = tasks.check_tools(settings)
    plan = tasks.discover(source, batch, collection, access, settings)
    run = _BatchRun(archive, plan, engine, index_location, settings)
    for record in plan.quarantined:
        run.set_aside(record)
    todo = [doc for doc in plan.documents if not run.skip_if_archived(doc)]
    progress_artifact = ProgressArtifact(batch)
    try:
        for doc, futures in run.in_flight(todo, [progress.listener(), progress_artifact]):
            run.complete(doc, futures)
        run.refresh_index()
    finally:
        tasks.close_indexes()
    progress_artifact.finish()
    report = run.ledger.report(run.index_name, round(time.monotonic() - started, 2))
    publish_report(report, settings.qa_min_confidence)
    return report


class _BatchRun:
    """One batch on its way through the stages: the tasks it submits, and what it tells the
    ledger. Errors that are no document's fault stop the batch (`stop_on`)."""

    def __init__(
        self, archive: Path, plan: BatchPlan, engine: str, index_location: str | None, settings: Settings
    ) -> None:
        self.archive = archive
        self.plan = plan
        self.source_root = Path(plan.source)
        self.engine = engine
        self.index_location = index_location
        self.settings = settings
        self.ledger = BatchLedger(plan, archive, settings.qa_min_confidence)
        self.pages = PageWork(work_dir(archive), settings, plan.documents)
        self.log = get_run_logger()
        self.index: SearchIndex | None = None
        self.index_down = ""
        try:
            self.index = tasks.shared_index(archive, index_location)
        except ArhivaError as exc:  # archive anyway; `arhiva reindex --pending` indexes later
            self.log.error("the index cannot be used, documents are archived but not indexed: %s", exc)
            self.index_down = str(exc)

    @property
    def index_name(self) -> str:
        return self.index.backend if self.index is not None else f"unavailable ({self.index_location})"

    def set_aside(self, record: QuarantineRecord) -> None:
        try:
            tasks.quarantine_file(self.archive, self.source_root, record)
        except Exception as exc:
            stop_on(exc, self.archive)
            raise

    def index_document(self, doc: ArchivedDocument) -> None:
        if self.index is None:
            self.ledger.not_indexed(doc, self.index_down)
            return
        try:
            tasks.index_document(self.archive, doc, self.index_location)
        except Exception as exc:  # the document is archived whatever happens to its index entry
            self.log.error("%s archived but not indexed: %s", doc.name, exc)
            self.ledger.not_indexed(doc, exc)

    def refresh_index(self) -> None:
        if self.index is None:
            return
        try:
            self.index.refresh()
        except ArhivaError as exc:
            self.log.error("the index could not be refreshed: %s", exc)
            self.ledger.refresh_failed(exc)

    def skip_if_archived(self, doc: DocumentPlan) -> bool:
        """True when an earlier run archived the document (or every document its separator
        sheets split it into): indexed if the index lacks it, and what that run left of its
        pages in the work folder goes."""
        parts = split_of(self.archive, doc.document_id)
        if parts is not None and all(is_archived(self.archive, d) for d in parts):
            for part in parts:
                self._already(part, None)
        elif is_archived(self.archive, doc.document_id):
            if not self._already(doc.document_id, doc):
                self.pages.release(doc, archived=False)
                return True
        else:
            return False
        self.pages.release(doc, archived=True)
        return True

    def _already(self, document_id: str, planned: DocumentPlan | None) -> bool:
        """An archived document met again: its level changed if its manifest says so, indexed if
        the index lacks it. False (and its files set aside) when its package cannot be read."""
        try:
            archived = load_document(self.archive, document_id)
        except PackageError as exc:  # the files are set aside; the package is verify's to name
            if planned is not None:
                self._fail(planned, (0, exc))
            else:
                self.ledger.notes.append(str(exc))
            return False
        before = archived.access_level
        if planned is not None and (wanted := planned.metadata.access_level) not in (None, before):
            archived = self._set_access(archived, wanted)
        try:
            present = self.index is not None and self.index.has_document(document_id)
        except ArhivaError:
            present = False
        if archived.replaced_by:  # re-scanned since: the newer version stands in the index
            self.ledger.notes.append(
                f"{archived.name}: replaced by {archived.replaced_by[:12]} (arhiva rescan)"
            )
        elif not present or archived.access_level is not before:
            self.index_document(archived)
        if archived.access_level is not before:
            self.ledger.access_changed(archived, before)
        else:
            self.ledger.already_archived(archived, planned)
        self.log.info("%s is already archived as %s", archived.name, document_id)
        return True

    def _set_access(self, doc: ArchivedDocument, level: AccessLevel) -> ArchivedDocument:
        """The level a manifest gives an archived document, set on purpose (and on the record)."""
        agent = f"arhiva {__version__} ingest, manifest of batch {self.plan.batch}"
        try:
            return set_access(self.archive, doc.document_id, level, agent, "")
        except Exception as exc:
            stop_on(exc, self.archive)
            self.log.error("%s: the access level could not be changed: %s", doc.name, exc)
            self.ledger.notes.append(f"{doc.name}: the access level could not be changed to {level}: {exc}")
            return doc

    def in_flight(
        self, todo: list[DocumentPlan], listeners: list[progress.ProgressListener]
    ) -> Iterator[tuple[DocumentPlan, PageFutures]]:
        """Submit the pages of the documents in order, and give back each document with its
        pages' futures, oldest first, whenever more pages than the window are in flight: enough
        to keep every worker busy, never the whole batch."""
        for listener in listeners:
            listener.start(sum(len(d.pages) for d in todo))
        window = max(4, self.settings.workers * 4)
        work = work_dir(self.archive)
        inflight: deque[tuple[DocumentPlan, PageFutures]] = deque()
        for doc in todo:
            self.pages.hold(doc)
            futures: PageFutures = []
            for number, ref in enumerate(doc.pages, start=1):
                ocred = tasks.process_page.submit(
                    self.source_root, doc.name, ref, number, work, self.settings
                )
                for listener in listeners:
                    ocred.add_done_callback(lambda _f, listener=listener: listener.advance(1))
                futures.append(ocred)
            inflight.append((doc, futures))
            while sum(len(f) for _, f in inflight) > window:
                yield inflight.popleft()
        while inflight:
            yield inflight.popleft()

    def complete(self, doc: DocumentPlan, futures: PageFutures) -> None:
        """Archive and index a document once its pages are OCRed (each document of it, when
        separator sheets split it), or quarantine its files."""
        results, failure = self._collect(futures)
        if failure is not None:
            done = self._archived_meanwhile(doc)
            if not done:
                self._fail(doc, failure)
        else:
            parts = split_stack(
                doc, results, blank_ends=self.settings.blank_pages == "separate", duplex=self.settings.duplex
            )
            done = all([self._archive(part) for part in parts])
            if parts[0].plan is not doc:
                record_split(self.archive, doc.document_id, [p.plan.document_id for p in parts])
        self.pages.release(doc, archived=done)  # kept for a re-run once the cause is fixed

    def _archive(self, part: Part) -> bool:
        if part.error is not None:
            self._fail(part.plan, (0, part.error))
            return False
        if is_archived(self.archive, part.plan.document_id):  # a stack met again, split the same way
            return self._already(part.plan.document_id, part.plan)
        try:
            # quote(): Prefect would otherwise walk every word box of every page looking for futures.
            archived = tasks.build_package(
                self.archive, self.plan.batch, quote(part.plan), quote(part.pages), self.engine, self.settings
            )
        except Exception as exc:
            stop_on(exc, self.archive)
            if self._archived_meanwhile(part.plan):
                return True
            self._fail(part.plan, (0, exc))
            return False
        self.ledger.archived(archived, part.pages)
        self.index_document(archived)
        return True

    def _archived_meanwhile(self, doc: DocumentPlan) -> bool:
        """Another run on the same folder published the document first: nothing is wrong with it."""
        if not is_archived(self.archive, doc.document_id):
            return False
        try:
            self.ledger.already_archived(load_document(self.archive, doc.document_id))
        except PackageError:
            return False
        self.log.info("%s was archived meanwhile by another run", doc.name)
        return True

    def _fail(self, doc: DocumentPlan, failure: tuple[int, BaseException]) -> None:
        number, exc = failure
        self.log.error("%s could not be archived: %s%s", doc.name, failure_place(doc, number), exc)
        for record in self.ledger.failed(doc, number, exc):
            self.set_aside(record)

    def _collect(
        self, futures: PageFutures
    ) -> tuple[list[OcrPage | SeparatorPage], tuple[int, BaseException] | None]:
        """The pages as read, and the first page that failed (its number and why), if one did."""
        pages: list[OcrPage | SeparatorPage] = []
        failure: tuple[int, BaseException] | None = None
        for number, ocred in enumerate(futures, start=1):
            try:
                page = ocred.result()
            except Exception as exc:
                stop_on(exc, self.archive)
                failure = failure or (number, exc)
            else:
                if isinstance(page, OcrPage):
                    self.ledger.page_done(page)
                pages.append(page)
        return pages, failure


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
    batch = batch_name(batch, source.resolve().name)
    collection = None if collection is None else check_label(collection, "--collection")
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
            batch=batch,
            collection=collection,
            access=access,
            index_location=index_location,
            settings=settings,
        )
