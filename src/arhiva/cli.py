"""The `arhiva` command. Thin: parse arguments, build Settings, call a flow or a function, and
hand what it returns to `arhiva.terminal` to print.

Errors become exit codes in one place, `_Commands.invoke`: an ArhivaError prints its message and
exits with its class's code; anything else is a bug, printed with its traceback, exit code 70.
Heavy libraries (Prefect, OpenCV) are imported inside the commands that need them, so
`arhiva --help` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperGroup

from arhiva import __version__, commands, stopping, terminal
from arhiva.api import commands as api_commands
from arhiva.errors import ArhivaError, ExitCode, UsageError
from arhiva.options import (
    AccessOpt,
    ArchiveOpt,
    BlankPagesOpt,
    ClusterOpt,
    CollectionOpt,
    DuplexOpt,
    IndexOpt,
    LanguagesOpt,
    VerboseOpt,
    WorkersOpt,
)
from arhiva.terminal import console, err_console

if TYPE_CHECKING:
    from arhiva.config import Settings
    from arhiva.schemas.models import AccessLevel, BatchReport


class _Commands(TyperGroup):
    """Runs a command and turns what it raises into an exit code: the one error path."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise  # typer's and click's own ways to end a command
        except ArhivaError as exc:
            terminal.error(str(exc))
            raise typer.Exit(int(exc.exit_code)) from exc
        except Exception as exc:
            terminal.unexpected(exc)
            raise typer.Exit(int(ExitCode.internal)) from exc


app = typer.Typer(
    name="arhiva",
    cls=_Commands,
    help="Turn scanner folders into deskewed, OCRed, searchable PDF/A-2b documents, and search them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


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


def _check_folders(source: Path, archive: Path) -> tuple[Path, Path]:
    if not source.is_dir():
        raise UsageError(f"source folder {source} does not exist or is not a folder")
    src, arc = source.resolve(), archive.resolve()
    if arc == src or arc.is_relative_to(src):
        raise UsageError(
            "the archive folder must not be inside the source folder (the source is never written to)"
        )
    if src.is_relative_to(arc):
        raise UsageError("the source folder must not be inside the archive folder")
    return src, arc


def _run_settings(
    access: str | None, index: str | None, verbose: bool, **given: object
) -> tuple[Settings, AccessLevel | None]:
    """Settings (those `given` a value override the environment's) and access level for an
    ingest; Prefect's environment set before it is imported."""
    from pydantic import ValidationError

    from arhiva.config import Settings, prefect_environment

    prefect_environment(verbose)
    from arhiva.indexing.open import check_location
    from arhiva.schemas.models import AccessLevel

    try:
        settings = Settings(**{name: value for name, value in given.items() if value})
        level = AccessLevel(access) if access else None
    except (ValidationError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    check_location(index)
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
    duplex: DuplexOpt = False,
    blank_pages: BlankPagesOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Archive every document of a scanner folder as PDF/A-2b and index it for search.

    Exit code 0 when every file was archived and indexed, 3 when some were quarantined (see
    the summary and ARCHIVE/quarantine/), 5 when some archived documents could not be indexed
    (run `arhiva reindex --pending`), 4 when Tesseract or another tool is missing, 7 when the
    disk is full, 1 on other errors, 70 on an unexpected error (a bug; the traceback is printed).
    """
    src, arc = _check_folders(source, archive)
    settings, level = _run_settings(
        access, index, verbose, languages=languages, workers=workers, duplex=duplex, blank_pages=blank_pages
    )

    from arhiva.flows import progress
    from arhiva.flows.ingest import run_ingest
    from arhiva.ingest.names import batch_name

    bar = terminal.progress_bar()
    progress.set_listener(terminal.BarListener(bar, batch_name(batch, src.name)))
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
    finally:
        progress.set_listener(None)
    terminal.print_report(report)
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
    duplex: DuplexOpt = False,
    blank_pages: BlankPagesOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Watch an inbox and ingest each batch folder once, when it is complete.

    A batch is complete when it holds a READY file, or when its files have not changed for
    --settle seconds. Each batch is ingested once (remembered in ARCHIVE/watch/), also across
    restarts; the inbox is only read. Stop with Ctrl-C.
    """
    import time

    from arhiva.ingest.names import check_label, printable
    from arhiva.ingest.watch import Inbox, mark_done, snapshot

    _check_folders(inbox, archive)
    if collection is not None:  # refused now, not at each batch
        check_label(collection, "--collection")
    arc = archive.resolve()
    settings, level = _run_settings(
        access, index, verbose, languages=languages, workers=workers, duplex=duplex, blank_pages=blank_pages
    )
    from arhiva.flows.ingest import run_ingest

    tracker = Inbox(inbox.resolve(), arc, settle=settle)
    console.print(f"Watching {inbox} (batches settle after {settle:g} s); archive: {arc}", soft_wrap=True)
    while True:
        for folder in tracker.ready():
            files = len(snapshot(folder))
            console.print(f"Ingesting {printable(folder.name)} ({files} files)", soft_wrap=True)
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
                terminal.error(f"{printable(folder.name)}: {exc}")
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
            terminal.print_report(report)
        if once:
            return
        time.sleep(poll)


def _require_documents(archive: Path) -> None:
    from arhiva.archive.package import documents_dir

    if not documents_dir(archive).is_dir():
        raise UsageError(f"{archive} holds no archived documents ({documents_dir(archive)} is missing)")


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

    from arhiva.indexing.open import open_index
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
        raise UsageError(f"invalid search: {problems}") from exc
    idx = open_index(archive, index, must_exist=True)
    try:
        result = idx.search(request)
    finally:
        idx.close()
    if as_json:
        console.print_json(result.model_dump_json())
        return
    terminal.print_search(query, result, offset, COUNT_LIMIT)


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
    --pending, adds only what is missing. A package that cannot be read is left out and named
    (exit code 6; `arhiva verify` says more); the rest is indexed.
    """
    from arhiva.archive.package import iter_document_ids, load_document
    from arhiva.errors import PackageError
    from arhiva.indexing.base import archive_records, index_archived, record_reindexed
    from arhiva.indexing.open import open_index

    _require_documents(archive)
    unreadable: list[PackageError] = []
    idx = open_index(archive, index)
    try:
        if pending:
            present = set(idx.document_ids())
            written = missing = 0
            for doc_id in (d for d in iter_document_ids(archive) if d not in present):
                try:
                    written += index_archived(idx, archive, load_document(archive, doc_id))
                    missing += 1
                except PackageError as exc:
                    unreadable.append(exc)
            idx.refresh()
            summary = f"Indexed {missing} pending documents, {written} pages, into the {idx.backend} index."
        else:
            written = idx.rebuild(archive_records(archive, unreadable))
            skip = {exc.document_id for exc in unreadable}
            record_reindexed(archive, idx.backend, (d for d in iter_document_ids(archive) if d not in skip))
            summary = (
                f"Reindexed {idx.count_documents()} documents, {written} pages, into the {idx.backend} index."
            )
    finally:
        idx.close()
    console.print(summary, soft_wrap=True)
    for exc in unreadable:
        terminal.error(f"left out: {exc}")
    if unreadable:
        raise typer.Exit(int(ExitCode.verify_failed))


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
    from arhiva.archive.fixity import verify_archive
    from arhiva.archive.verapdf import verapdf_jars
    from arhiva.indexing.open import open_index

    _require_documents(archive)
    idx = open_index(archive, index)
    try:
        indexed = dict(idx.document_levels())
    finally:
        idx.close()
    report = verify_archive(
        archive, pdfa=pdfa, jars=verapdf_jars(), budget_s=budget, resume=resume, indexed=indexed
    )
    terminal.print_verify(report, len(indexed), idx.backend)
    raise typer.Exit(int(ExitCode.ok if report.ok else ExitCode.verify_failed))


@app.command()
def show(
    document: Annotated[str, typer.Argument(help="Document id, or its first characters (at least 6).")],
    archive: ArchiveOpt,
) -> None:
    """Show an archived document: its record sheet, files with checksums, and audit trail."""
    from arhiva.archive.events import read_events
    from arhiva.archive.package import load_document, package_dir, resolve_id

    doc_id = resolve_id(archive, document)
    terminal.print_document(
        load_document(archive, doc_id),
        package_dir(archive, doc_id),
        read_events(package_dir(archive, doc_id)),
    )


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
    terminal.print_doctor(checks)
    if any(c.status is Status.missing for c in checks):
        raise typer.Exit(int(ExitCode.missing_dependency))


app.command()(api_commands.api)
app.add_typer(api_commands.keys_app, name="keys")
app.add_typer(commands.access_app, name="access")
app.command()(commands.separators)
app.command()(commands.samples)
app.command()(commands.rescan)
app.command()(commands.qa)


def main() -> None:
    # What arhiva writes (packages, the index with the text of every level, quarantine copies,
    # logs) is for its own user alone: files 0600, folders 0700, as the packages' staging folders.
    os.umask(0o077)
    stopping.run(app, err_console.print)
