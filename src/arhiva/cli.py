"""The `arhiva` command. Thin: parse arguments, build Settings, call a flow or a function.

This is the only place where errors become exit codes. Heavy libraries (Prefect, OpenCV) are
imported inside the commands that need them, so `arhiva --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from arhiva import __version__
from arhiva.errors import ArhivaError, ExitCode

if TYPE_CHECKING:
    from arhiva.schemas.models import BatchReport

app = typer.Typer(
    name="arhiva",
    help="Turn scanner folders into deskewed, OCRed, searchable PDF/A-2b documents, and search them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)

ArchiveOpt = Annotated[
    Path,
    typer.Option("--archive", "-a", help="Archive folder (created if missing).", envvar="ARHIVA_ARCHIVE"),
]


def _fail(message: str, code: ExitCode) -> typer.Exit:
    err_console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    return typer.Exit(int(code))


def _version(value: bool) -> None:
    if value:
        console.print(f"arhiva {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    pass


CollectionOpt = Annotated[
    str | None, typer.Option("--collection", "-c", help="Collection the batch belongs to, e.g. urbanism.")
]
AccessOpt = Annotated[
    str | None,
    typer.Option(
        help="Access level for documents whose manifest gives none: public, internal or restricted."
    ),
]
LanguagesOpt = Annotated[
    str | None,
    typer.Option(
        "--languages", "-l", help="Tesseract languages, joined with '+' (e.g. ron+eng) [default: ron]."
    ),
]
WorkersOpt = Annotated[int | None, typer.Option(min=1, help="Pages processed at once [default: CPU count].")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        help="Run the page work on this Dask cluster (scheduler address, e.g. tcp://10.0.0.5:8786) "
        "instead of local threads. Workers need the same arhiva and the same paths to SOURCE and ARCHIVE.",
        envvar="ARHIVA_CLUSTER",
    ),
]
IndexOpt = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="Search index: 'sqlite' (ARCHIVE/index.sqlite, the default) or an Elasticsearch URL "
        "such as http://127.0.0.1:9200 (optionally /ALIAS at the end).",
        envvar="ARHIVA_INDEX",
    ),
]


def _check_folders(source: Path, archive: Path) -> tuple[Path, Path]:
    if not source.is_dir():
        raise _fail(f"source folder {source} does not exist or is not a folder", ExitCode.error)
    src, arc = source.resolve(), archive.resolve()
    if arc == src or arc.is_relative_to(src):
        raise _fail(
            "the archive folder must not be inside the source folder (the source is never written to)",
            ExitCode.error,
        )
    if src.is_relative_to(arc):
        raise _fail("the source folder must not be inside the archive folder", ExitCode.error)
    return src, arc


def _run_settings(
    languages: str | None, workers: int | None, access: str | None, index: str | None, verbose: bool
):
    """Settings and access level for an ingest; Prefect's environment set before it is imported."""
    # Prefect's log lines still reach its API (and the UI); on the terminal the progress bar
    # and the end summary say what happened, unless --verbose asks for the log lines too.
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary server gives up after 20 s by default, which a busy machine can exceed.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

    from pydantic import ValidationError

    from arhiva.config import Settings
    from arhiva.indexing.open import check_location
    from arhiva.schemas.models import AccessLevel

    overrides: dict[str, object] = {}
    if languages:
        overrides["languages"] = languages
    if workers:
        overrides["workers"] = workers
    try:
        settings = Settings(**overrides)
        level = AccessLevel(access) if access else None
        check_location(index)
    except (ValidationError, ValueError) as exc:
        raise _fail(str(exc), ExitCode.error) from exc
    return settings, level


def _exit_code(report: BatchReport) -> ExitCode:
    if not report.complete:
        return ExitCode.quarantined
    return ExitCode.not_indexed if report.index_errors else ExitCode.ok


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="Scanner output folder. It is only read, never changed.")],
    archive: ArchiveOpt,
    collection: CollectionOpt = None,
    access: AccessOpt = None,
    batch: Annotated[
        str | None, typer.Option(help="Batch name; the source folder's name by default.")
    ] = None,
    languages: LanguagesOpt = None,
    workers: WorkersOpt = None,
    index: IndexOpt = None,
    cluster: ClusterOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Archive every document of a scanner folder as PDF/A-2b and index it for search.

    Exit code 0 when every file was archived and indexed, 3 when some were quarantined (see
    the summary and ARCHIVE/quarantine/), 5 when some archived documents could not be indexed
    (run `arhiva reindex --pending`), 4 when Tesseract or another tool is missing, 1 on other errors.
    """
    src, arc = _check_folders(source, archive)
    settings, level = _run_settings(languages, workers, access, index, verbose)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from arhiva.flows import progress as flow_progress
    from arhiva.flows.ingest import run_ingest

    bar = Progress(
        TextColumn("[bold]OCR[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )

    class _Bar:
        task = None

        def start(self, total_pages: int) -> None:
            self.task = bar.add_task(batch or src.name, total=total_pages)

        def advance(self, pages: int = 1) -> None:
            if self.task is not None:
                bar.advance(self.task, pages)

    flow_progress.set_listener(_Bar())
    try:
        with bar:
            report = run_ingest(
                src,
                arc,
                batch=batch,
                collection=collection,
                access=level,
                index_location=index,
                cluster=cluster,
                settings=settings,
            )
    except ArhivaError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    finally:
        flow_progress.set_listener(None)
    _print_report(report)
    raise typer.Exit(int(_exit_code(report)))


@app.command()
def watch(
    inbox: Annotated[Path, typer.Argument(help="Inbox folder: each folder inside it is one batch.")],
    archive: ArchiveOpt,
    collection: CollectionOpt = None,
    access: AccessOpt = None,
    settle: Annotated[
        float, typer.Option(min=0, help="Seconds a batch's files must stay unchanged before it is taken.")
    ] = 30.0,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between looks at the inbox.")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Ingest what is ready now, then stop.")] = False,
    languages: LanguagesOpt = None,
    workers: WorkersOpt = None,
    index: IndexOpt = None,
    cluster: ClusterOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Watch an inbox and ingest each batch folder once, when it is complete.

    A batch is complete when it holds a READY file, or when its files have not changed for
    --settle seconds. Each batch is ingested once (remembered in ARCHIVE/watch/), also across
    restarts; the inbox is only read. Stop with Ctrl-C.
    """
    import time

    from arhiva.ingest.watch import Inbox, mark_done, snapshot

    _check_folders(inbox, archive)
    arc = archive.resolve()
    settings, level = _run_settings(languages, workers, access, index, verbose)
    from arhiva.flows.ingest import run_ingest

    tracker = Inbox(inbox.resolve(), arc, settle=settle)
    console.print(f"Watching {inbox} (batches settle after {settle:g} s); archive: {arc}", soft_wrap=True)
    while True:
        for folder in tracker.ready():
            files = len(snapshot(folder))
            console.print(f"Ingesting {folder.name} ({files} files)", soft_wrap=True)
            try:
                report = run_ingest(
                    folder,
                    arc,
                    collection=collection,
                    access=level,
                    index_location=index,
                    cluster=cluster,
                    settings=settings,
                )
            except ArhivaError as exc:
                err_console.print(Text(f"error: {folder.name}: {exc}", style="bold red"), soft_wrap=True)
                if exc.exit_code == ExitCode.missing_dependency:
                    raise typer.Exit(int(exc.exit_code)) from exc
                continue  # not marked done: taken up again at the next look
            mark_done(
                arc,
                folder.name,
                files,
                {
                    "exit_code": int(_exit_code(report)),
                    "documents": len(report.documents),
                    "quarantined": len(report.quarantined),
                    "pages_ocred": report.pages_ocred,
                },
            )
            _print_report(report)
        if once:
            return
        time.sleep(poll)


def _print_report(report: BatchReport) -> None:
    docs = Table(title=f"Batch {report.batch}", title_justify="left")
    for col in ("document", "title", "pages", "confidence", "result"):
        docs.add_column(col, justify="right" if col in ("pages", "confidence") else "left")
    for d in report.documents:
        conf = f"{d.mean_confidence:.1f}" if d.mean_confidence is not None else "-"
        docs.add_row(d.document_id[:12], Text(d.title), str(d.pages), conf, d.outcome.value.replace("_", " "))
    console.print(docs)
    if report.quarantined:
        q = Table(title="Quarantined", title_justify="left", title_style="bold red")
        q.add_column("file")
        q.add_column("reason")
        q.add_column("message")
        for r in report.quarantined:
            q.add_row(Text(r.source), r.reason.value, Text(r.message))
        console.print(q)
    for h in report.held_back:
        console.print(Text(f"held back: {h}", style="yellow"), soft_wrap=True)
    for e in report.index_errors:
        console.print(Text(f"archived but not indexed: {e}", style="red"), soft_wrap=True)
    if report.index_errors:
        console.print("Run `arhiva reindex --pending` once the index is reachable again.")
    archived = sum(1 for d in report.documents if d.outcome == "archived")
    already = sum(1 for d in report.documents if d.outcome == "already_archived")
    pages = sum(d.pages for d in report.documents if d.outcome != "quarantined")
    confs = [d.mean_confidence for d in report.documents if d.mean_confidence is not None]
    mean = f"{sum(confs) / len(confs):.1f}" if confs else "-"
    console.print(
        f"{archived} documents archived, {already} already archived, {pages} pages, "
        f"mean OCR confidence {mean}, {len(report.quarantined)} files quarantined, "
        f"{report.pages_ocred} pages OCRed in {report.seconds:.1f} s. Archive: {report.archive}",
        soft_wrap=True,
    )
    if report.low_confidence:
        worst = ", ".join(f"{p.source} ({p.confidence:.0f})" for p in report.low_confidence[:5])
        console.print(
            f"{len(report.low_confidence)} pages have a low OCR confidence; check them or re-scan: {worst}",
            soft_wrap=True,
        )
    if report.quarantined:
        qdir = Path(report.archive) / "quarantine" / report.batch
        console.print(f"Quarantined copies and reasons: {qdir}", soft_wrap=True)


def _open_index(archive: Path, location: str | None, *, must_exist: bool):
    from arhiva.indexing.open import EMBEDDED, open_index
    from arhiva.indexing.sqlite import INDEX_FILE

    if must_exist and (not location or location == EMBEDDED) and not (archive / INDEX_FILE).is_file():
        raise _fail(
            f"{archive} has no search index ({INDEX_FILE}); run `arhiva ingest` first", ExitCode.error
        )
    try:
        return open_index(archive, location)
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.error) from exc
    except ArhivaError as exc:
        raise _fail(str(exc), exc.exit_code) from exc


def _marked(snippet: str) -> Text:
    out = Text("   ")
    for i, part in enumerate(snippet.replace("]", "[").split("[")):
        out.append(f"[{part}]" if i % 2 else part, style="bold yellow" if i % 2 else "")
    return out


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help='Words to find; "quoted words" for a phrase, word* for a prefix.')
    ],
    archive: ArchiveOpt,
    index: IndexOpt = None,
    collection: Annotated[list[str] | None, typer.Option(help="Only this collection (repeatable).")] = None,
    doc_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only this document type (repeatable).")
    ] = None,
    access: Annotated[
        list[str] | None,
        typer.Option(help="Only this access level: public, internal, restricted (repeatable)."),
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Issued on or after YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Issued on or before YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Documents per page of results.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many documents (for paging).")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (the search contract).")
    ] = False,
) -> None:
    """Search the archive's text, one result per document with the pages where it was found.

    All words must be on one page. Diacritics and case are ignored, and ş ţ equal ș ț:
    autorizatie finds autorizație.
    """
    from pydantic import ValidationError

    from arhiva.schemas.search import COUNT_LIMIT, SearchFilters, SearchRequest

    try:
        request = SearchRequest(
            query=query,
            filters=SearchFilters(
                collection=tuple(collection or ()),
                document_type=tuple(doc_type or ()),
                access_level=tuple(access or ()),
                date_from=date_from,
                date_to=date_to,
            ),
            limit=limit,
            offset=offset,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(f"invalid search: {problems}", ExitCode.error) from exc
    idx = _open_index(archive, index, must_exist=True)
    try:
        result = idx.search(request)
    except ArhivaError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    finally:
        idx.close()
    if as_json:
        console.print_json(result.model_dump_json())
        return
    if not result.hits:
        console.print(f"No documents match {query!r}.")
        return
    for n, hit in enumerate(result.hits, start=offset + 1):
        pages = ", ".join(str(p) for p in hit.pages)
        console.print(
            Text.assemble(
                (f"{n}. {hit.title}", "bold"), f"  (page{'s' if len(hit.pages) > 1 else ''} {pages})"
            )
        )
        console.print(Text(f"   id: {hit.document_id}", style="dim"))
        console.print(_marked(hit.snippet))
    shown = f"{offset + 1}-{offset + len(result.hits)}"
    found = f"{result.total_documents}" if result.total_exact else f"At least {result.total_documents}"
    console.print(f"{found} documents found; showing {shown}.", soft_wrap=True)
    if not result.total_exact:
        console.print(
            Text(
                "Too many matches to count exactly: the document and facet counts are lower bounds, "
                f"counted over the first {COUNT_LIMIT + 1:,} matching pages; the hits are the best of all.",
                style="dim",
            ),
            soft_wrap=True,
        )
    at_least = "" if result.total_exact else "≥"
    for name, counts in result.facets.items():
        if counts:
            values = ", ".join(f"{c.value} ({at_least}{c.count})" for c in counts[:10])
            console.print(Text(f"{name}: {values}", style="dim"), soft_wrap=True)


@app.command()
def reindex(
    archive: ArchiveOpt,
    index: IndexOpt = None,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="Only index the archived documents the index lacks (after an ingest that could not reach "
            "it), instead of rebuilding it all.",
        ),
    ] = False,
) -> None:
    """Rebuild the search index from the archive folder alone.

    Builds a new index and switches to it atomically: searches keep working meanwhile. With
    --pending, adds only what is missing.
    """
    from arhiva.archive.package import documents_dir, iter_document_ids, load_document
    from arhiva.indexing.base import archive_records, index_archived, record_reindexed

    if not documents_dir(archive).is_dir():
        raise _fail(
            f"{archive} holds no archived documents ({documents_dir(archive)} is missing)", ExitCode.error
        )
    idx = _open_index(archive, index, must_exist=False)
    try:
        if pending:
            present = set(idx.document_ids())
            missing = [d for d in iter_document_ids(archive) if d not in present]
            written = sum(index_archived(idx, archive, load_document(archive, d)) for d in missing)
            idx.refresh()
            console.print(
                f"Indexed {len(missing)} pending documents, {written} pages, into the {idx.backend} index.",
                soft_wrap=True,
            )
            return
        written = idx.rebuild(archive_records(archive))
        docs = idx.count_documents()
        record_reindexed(archive, idx.backend, iter_document_ids(archive))
    except ArhivaError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    finally:
        idx.close()
    console.print(
        f"Reindexed {docs} documents, {written} pages, into the {idx.backend} index.", soft_wrap=True
    )


@app.command()
def verify(
    archive: ArchiveOpt,
    index: IndexOpt = None,
    pdfa: Annotated[bool, typer.Option(help="Also validate every PDF/A with veraPDF.")] = True,
    budget: Annotated[
        float | None, typer.Option(min=1, help="Stop after this many seconds; --resume goes on from there.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Start after the last document an earlier, stopped run verified.")
    ] = False,
) -> None:
    """Prove the archive's integrity: re-hash every stored file against its recorded SHA-256,
    validate the PDF/A files with veraPDF, and check that the search index holds exactly the
    archived documents.

    Exit code 0 when everything checks out, 6 when something does not (each problem is named).
    """
    from arhiva.archive.fixity import verapdf_jars, verify_archive
    from arhiva.archive.package import documents_dir

    if not documents_dir(archive).is_dir():
        raise _fail(
            f"{archive} holds no archived documents ({documents_dir(archive)} is missing)", ExitCode.error
        )
    idx = _open_index(archive, index, must_exist=False)
    try:
        indexed = list(idx.document_ids())
    except ArhivaError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    finally:
        idx.close()
    report = verify_archive(
        archive, pdfa=pdfa, jars=verapdf_jars(), budget_s=budget, resume=resume, indexed=indexed
    )
    for problem in report.problems:
        console.print(Text(problem, style="red"), soft_wrap=True)
    console.print(
        f"{report.documents_checked} documents, {report.files_checked} files re-hashed, "
        f"{report.pdfa_checked} PDF/A files validated, {len(indexed)} documents in the {idx.backend} index: "
        f"{len(report.problems)} problems.",
        soft_wrap=True,
    )
    if not report.finished:
        console.print("Stopped at the time budget; run again with --resume to go on.")
    raise typer.Exit(int(ExitCode.ok if report.ok else ExitCode.verify_failed))


@app.command()
def show(
    document: Annotated[str, typer.Argument(help="Document id, or its first characters (at least 6).")],
    archive: ArchiveOpt,
) -> None:
    """Show an archived document: its record sheet, files with checksums, and audit trail."""
    from arhiva.archive.events import read_events
    from arhiva.archive.package import load_document, package_dir, resolve_id

    try:
        doc_id = resolve_id(archive, document)
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.error) from exc
    doc = load_document(archive, doc_id)
    meta = doc.metadata
    sheet = Table(title=doc.title, title_justify="left", show_header=False)
    sheet.add_column("field", style="bold")
    sheet.add_column("value")
    rows = {
        "document id": doc.document_id,
        "collection": doc.collection,
        "batch": doc.batch,
        "document type": meta.document_type,
        "issuer": meta.issuer,
        "date of issue": meta.issue_date.isoformat() if meta.issue_date else None,
        "număr de înregistrare": meta.registration_number,
        "location (fond / inventar / dosar)": " / ".join(
            x or "-" for x in (meta.fond, meta.inventar, meta.dosar)
        )
        if any((meta.fond, meta.inventar, meta.dosar))
        else None,
        "keywords": ", ".join(meta.keywords) or None,
        "access level": doc.access_level.value,
        "termen de păstrare": (meta.retention + (" years" if meta.retention.isdigit() else ""))
        if meta.retention
        else None,
        "pages": str(doc.page_count),
        "mean OCR confidence": f"{doc.mean_confidence:.1f}",
        "OCR": f"{doc.ocr_engine} ({doc.languages})",
        "archived": doc.archived_at.isoformat(),
        "PDF/A": str(package_dir(archive, doc_id) / "document.pdf"),
    }
    for k, v in rows.items():
        sheet.add_row(k, Text(v or "-"))
    console.print(sheet)
    files = Table(title="Files", title_justify="left")
    for col in ("file", "bytes", "SHA-256"):
        files.add_column(col)
    for s in doc.sources:
        files.add_row(Text(f"source: {s.path}"), str(s.size), s.sha256)
    for f in doc.files:
        files.add_row(f.name, str(f.size), f.sha256)
    console.print(files)
    trail = Table(title="Audit trail", title_justify="left")
    for col in ("when", "event", "agent", "outcome", "detail"):
        trail.add_column(col)
    for e in read_events(package_dir(archive, doc_id)):
        trail.add_row(e.at.isoformat(), e.event.value, Text(e.agent), e.outcome.value, Text(e.detail))
    console.print(trail)


@app.command()
def samples(
    outdir: Annotated[Path, typer.Argument(help="Folder to write the sample batch into.")],
    documents: Annotated[int, typer.Option(min=1, max=1000, help="Number of documents.")] = 4,
    max_pages: Annotated[int, typer.Option(min=1, max=50, help="Most pages per document.")] = 3,
    size: Annotated[str, typer.Option(help="Paper size: a4, a5 or a6.")] = "a4",
    skew: Annotated[float, typer.Option(min=0, max=15, help="Largest skew, in degrees either way.")] = 7.0,
    noise: Annotated[float, typer.Option(min=0, max=60, help="Scanner noise (grey levels, std dev).")] = 6.0,
    blur: Annotated[float, typer.Option(min=0, max=5, help="Blur (Gaussian sigma, pixels).")] = 0.5,
    rotate: Annotated[bool, typer.Option(help="Turn some pages by 90, 180 or 270 degrees.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same batch.")] = 1,
    bitonal: Annotated[
        bool, typer.Option(help="Black-and-white pages (G4 TIFF), as a scanner in bitonal mode writes.")
    ] = False,
) -> None:
    """Generate a batch of realistic Romanian administrative scans at 300 dpi, with ground truth.

    Each page's exact text is written beside it as NAME.gt.txt, which `ingest` skips.
    """
    from arhiva.samples.batch import BatchOptions, write_batch
    from arhiva.samples.render import PAPER_SIZES_MM

    if size not in PAPER_SIZES_MM:
        raise _fail(f"unknown paper size {size!r}; use one of {', '.join(PAPER_SIZES_MM)}", ExitCode.error)
    opts = BatchOptions(
        documents=documents,
        max_pages=max_pages,
        size=size,
        max_skew=skew,
        noise=noise,
        blur=blur,
        rotate=rotate,
        seed=seed,
        bitonal=bitonal,
    )
    pages = write_batch(outdir, opts)
    console.print(f"Wrote {len(pages)} pages in {documents} documents to {outdir}")


@app.command()
def doctor(
    archive: Annotated[
        Path, typer.Option("--archive", "-a", help="Archive folder to check.", envvar="ARHIVA_ARCHIVE")
    ] = Path("."),
    index: IndexOpt = None,
) -> None:
    """Check Tesseract and its languages, poppler, Ghostscript, Java, veraPDF, the search index,
    the Prefect API and free disk space; say how to fix what is missing.

    Exit code 0 when ingest can run, 4 when something it needs is missing.
    """
    from arhiva.config import Settings
    from arhiva.doctor import Status, run_checks

    checks = run_checks(archive, index, Settings())
    table = Table(title="arhiva doctor", title_justify="left")
    for col in ("check", "status", "detail", "how to fix"):
        table.add_column(col)
    style = {Status.ok: "green", Status.warning: "yellow", Status.missing: "bold red"}
    for c in checks:
        table.add_row(c.name, Text(c.status.value, style=style[c.status]), Text(c.detail), Text(c.fix))
    console.print(table)
    missing = [c.name for c in checks if c.status is Status.missing]
    if missing:
        console.print(f"Missing: {', '.join(missing)}.", soft_wrap=True)
        raise typer.Exit(int(ExitCode.missing_dependency))
    console.print("Everything arhiva needs is here.")


@app.command()
def api(
    archive: ArchiveOpt,
    index: IndexOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Keep 127.0.0.1 behind a reverse proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    query_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a search may take before it is answered with 504.")
    ] = 10.0,
    rate: Annotated[float, typer.Option(min=0.01, help="Requests per second each key may make.")] = 20.0,
    burst: Annotated[int, typer.Option(min=1, help="Requests a key may make at once after a pause.")] = 60,
) -> None:
    """Serve the portal search API (JSON, OpenAPI at /docs and /openapi.json) and the operator
    search page (/ui) over this archive and its index.

    Every route but /health needs an API key (`arhiva keys create`). Access logs go to stderr
    as JSON lines, without keys.
    """
    import logging

    import uvicorn

    from arhiva.api.app import create_app
    from arhiva.api.limits import ApiLimits

    idx = _open_index(archive, index, must_exist=True)
    limits = ApiLimits(query_timeout_s=query_timeout, rate_per_s=rate, burst=burst)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("arhiva.api.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    app_ = create_app(archive, index, limits=limits, index=idx)
    err_console.print(
        f"arhiva API on http://{host}:{port} ({idx.backend} index); operator page /ui, OpenAPI /docs",
        soft_wrap=True,
    )
    try:
        uvicorn.run(app_, host=host, port=port, access_log=False, log_level="warning")
    finally:
        idx.close()


keys_app = typer.Typer(
    help="Manage the API keys of `arhiva api` (stored hashed in ARCHIVE/keys.json).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    archive: ArchiveOpt,
    level: Annotated[
        str, typer.Option(help="What the key may see: public, internal or restricted (and the levels below).")
    ],
    name: Annotated[str, typer.Option(help="Who or what the key is for, e.g. portal-svu.")] = "",
) -> None:
    """Create an API key. The key is printed once, as the last line: store it now."""
    from arhiva.keys import KeyStore
    from arhiva.schemas.models import AccessLevel

    try:
        access = AccessLevel(level)
    except ValueError as exc:
        raise _fail(f"unknown level {level!r}: use public, internal or restricted", ExitCode.error) from exc
    if len(name) > 200:
        raise _fail("the name is longer than 200 characters", ExitCode.error)
    record, key = KeyStore(archive).create(access, name)
    err_console.print(f"Created key {record.key_id} ({record.level.value}). It is shown only once:")
    print(key)


@keys_app.command("list")
def keys_list(archive: ArchiveOpt) -> None:
    """List the API keys: id, name, level, when created and revoked (never the keys)."""
    from arhiva.keys import ApiKeyError, KeyStore

    try:
        keys = KeyStore(archive).list()
    except ApiKeyError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    table = Table(title=f"API keys ({len(keys)})", title_justify="left")
    for col in ("key id", "name", "level", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-"
        table.add_row(
            k.key_id, Text(k.name or "-"), k.level.value, k.created_at.isoformat(timespec="seconds"), revoked
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the 12 characters after arh_).")],
    archive: ArchiveOpt,
) -> None:
    """Revoke an API key. A running API refuses it from its next request on."""
    from arhiva.keys import ApiKeyError, KeyStore

    try:
        record = KeyStore(archive).revoke(key_id.strip())
    except ApiKeyError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    console.print(f"Revoked key {record.key_id} ({record.level.value}).")


_stopped_by: list[int] = []  # the stop signals received


def _stop(signum: int, frame: object) -> None:
    _stopped_by.append(signum)
    raise KeyboardInterrupt  # typer turns it into exit code 130; main() names the signal


def _take_stop_signals() -> None:
    """Ctrl-C and SIGTERM stop arhiva through its normal exit: a message, an exit code, and
    Prefect's temporary server stopped with it (SIGTERM's default would orphan that server).
    Python leaves SIGINT ignored when the parent ignored it, as a script's background job
    does; Ctrl-C must stop a batch all the same."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)


def main() -> None:
    _take_stop_signals()
    try:
        app()
    except KeyboardInterrupt:  # raised outside typer's own handling
        sys.exit(130)
    finally:
        if _stopped_by:
            term = _stopped_by[0] == signal.SIGTERM
            how = "stopped by SIGTERM" if term else "interrupted (Ctrl-C)"
            err_console.print(f"{how}; finished work is kept: run the same command again to go on")
            if term:
                sys.exit(143)  # replaces typer's 130: 128 + SIGTERM, as a shell reports it
