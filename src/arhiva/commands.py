"""`arhiva access` (change who may see an archived document, on purpose and on the record),
`arhiva separators` (sheets to put between the documents of a stack) and `arhiva samples`
(generated scans with their ground truth). Mounted by arhiva.cli,
whose one error handler turns what they raise into exit codes."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Annotated

import typer

from arhiva import __version__
from arhiva.errors import ArhivaError, IndexingError, UsageError
from arhiva.options import ArchiveOpt, IndexOpt
from arhiva.schemas.models import AccessLevel
from arhiva.terminal import console

access_app = typer.Typer(help="Change who may see archived documents.", no_args_is_help=True)


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def change_level(archive: Path, document_id: str, level: AccessLevel, index: str | None, why: str) -> str:
    """Set the level in the package and the index; the line to print. The package first: the
    document routes read it, and a failed index update is named (run the command again)."""
    from arhiva.archive.access import set_access
    from arhiva.archive.package import load_document
    from arhiva.indexing.base import index_archived
    from arhiva.indexing.open import open_index

    before = load_document(archive, document_id)
    doc = set_access(archive, document_id, level, f"arhiva {__version__} access set, by {_operator()}", why)
    try:
        idx = open_index(archive, index)
        try:
            index_archived(idx, archive, doc)
            idx.refresh()
        finally:
            idx.close()
    except ArhivaError as exc:
        raise IndexingError(
            f"{document_id[:12]} is {level} in the archive now, but the index could not be updated ({exc}); "
            "run the same command again when the index is back"
        ) from exc
    change = "unchanged" if before.access_level is level else f"{before.access_level} → {level}"
    return (
        f"{document_id[:12]} {doc.title}: access level {change}; metadata.json, index and audit trail updated"
    )


@access_app.command("set")
def access_set(
    document: Annotated[str, typer.Argument(help="Document id, or its first characters (at least 6).")],
    level: Annotated[AccessLevel, typer.Argument(help="The new level: public, internal or restricted.")],
    archive: ArchiveOpt,
    index: IndexOpt = None,
    reason: Annotated[
        str, typer.Option(help="Why, for the audit trail (e.g. the decision's number and date).")
    ] = "",
) -> None:
    """Set an archived document's access level: its metadata.json, the search index and its
    audit trail, in one step. The PDF/A is not rewritten (its XMP keeps the level it was
    archived with). Setting the level it already has repairs the index entry.
    """
    from arhiva.archive.package import resolve_id

    console.print(
        change_level(archive, resolve_id(archive, document), level, index, reason.strip()), soft_wrap=True
    )


def separators(
    out: Annotated[Path, typer.Option("--out", "-o", help="The PDF to write, e.g. sheets.pdf.")],
    count: Annotated[int, typer.Option(min=1, max=1000, help="Sheets without fields to make.")] = 10,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A manifest (CSV or JSON): one sheet per document, its record sheet in the code."
        ),
    ] = None,
) -> None:
    """Print separator sheets: put one before each document of a stack, scan the stack as one
    file or folder, and ingest splits it there (each sheet's fields become the next document's
    record sheet). The sheets themselves are not archived."""
    from arhiva.separator_sheets import sheets_from, write_sheets

    made = write_sheets(out, sheets_from(manifest, count))
    console.print(f"{made} separator sheets written to {out}", soft_wrap=True)


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
    stack: Annotated[
        str | None,
        typer.Option(
            help="Instead, one scanned stack of the documents between separator sheets, with blank backs: "
            "'tiff', 'pdf' or 'folder' (the expected split in .stack.json, which ingest skips)."
        ),
    ] = None,
    duplex: Annotated[bool, typer.Option(help="With --stack: scanned duplex, fronts then backs.")] = False,
) -> None:
    """Generate a batch of realistic Romanian administrative scans at 300 dpi, with ground truth.

    Each page's exact text is written beside it as NAME.gt.txt, which `ingest` skips.
    """
    from arhiva.samples.batch import BatchOptions, write_batch
    from arhiva.samples.render import PAPER_SIZES_MM

    if size not in PAPER_SIZES_MM:
        raise UsageError(f"unknown paper size {size!r}; use one of {', '.join(PAPER_SIZES_MM)}")
    if stack is not None:
        from arhiva.samples.stacks import StackOptions, write_stack

        if stack not in ("tiff", "pdf", "folder"):
            raise UsageError(f"--stack {stack!r}: use tiff, pdf or folder")
        options = StackOptions(
            documents=documents,
            max_pages=max_pages,
            blank_backs=documents,
            size=size,
            seed=seed,
            duplex=duplex,
        )
        expected = write_stack(outdir, options, stack)
        console.print(
            f"Wrote a stack of {len(expected)} documents ({sum(len(e.texts) for e in expected)} pages and "
            f"{len(expected)} separator sheets) to {outdir}; the expected split is in {outdir / '.stack.json'}"
        )
        return
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


def rescan(
    document: Annotated[str, typer.Argument(help="Document id, or its first characters (at least 6).")],
    scans: Annotated[
        Path, typer.Argument(help="The new scans: a folder (files in natural order) or one multi-page file.")
    ],
    pages: Annotated[str, typer.Option(help="The pages they replace, in order, e.g. 3,7.")],
    archive: ArchiveOpt,
    index: IndexOpt = None,
) -> None:
    """Replace some pages of an archived document with new scans, as a new version of the same
    record: a new package made of the new scans and the other pages as archived, linked both
    ways to the old version (`replaces`, `replaced_by`), which is kept untouched and verifiable.
    The index then holds the new version only; both audit trails say what happened."""
    from arhiva.archive.package import resolve_id
    from arhiva.config import Settings, prefect_environment

    try:
        numbers = [int(n) for n in pages.replace(" ", "").split(",") if n]
    except ValueError as exc:
        raise UsageError(f"--pages {pages!r}: give page numbers separated by commas, e.g. 3,7") from exc
    if not scans.exists():
        raise UsageError(f"{scans} does not exist")
    doc_id = resolve_id(archive, document)
    prefect_environment(verbose=False)
    from arhiva.flows.rescan import rescan as rescan_flow

    version = rescan_flow(
        archive.resolve(),
        doc_id,
        numbers,
        scans.resolve(),
        index,
        Settings(),
        f"arhiva {__version__} rescan, by {_operator()}",
    )
    console.print(
        f"{version.document_id[:12]} {version.title}: the new version of {doc_id[:12]} "
        f"({version.page_count} pages; pages {', '.join(map(str, numbers))} re-scanned)",
        soft_wrap=True,
    )


def qa(archive: ArchiveOpt) -> None:
    """List the pages across the archive that want a re-scan: a low OCR confidence, a doubtful
    orientation, or blank where text was expected (re-scan them with `arhiva rescan`)."""
    from arhiva.archive.package import iter_document_ids, load_document, load_pages
    from arhiva.config import Settings
    from arhiva.schemas.models import qa_reason
    from arhiva.terminal import print_qa

    threshold = Settings().qa_min_confidence
    rows = []
    for doc_id in iter_document_ids(archive):
        doc = load_document(archive, doc_id)
        if doc.replaced_by:
            continue
        for p in load_pages(archive, doc_id):
            if reason := qa_reason(p.blank, p.mean_confidence, p.orientation, threshold):
                rows.append((doc_id, doc.title, p.number, p.mean_confidence, reason))
    print_qa(rows)
