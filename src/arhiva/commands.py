"""`arhiva access` (change who may see an archived document, on purpose and on the record) and
`arhiva separators` (sheets to put between the documents of a stack). Mounted by arhiva.cli,
whose one error handler turns what they raise into exit codes."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Annotated

import typer

from arhiva import __version__
from arhiva.errors import ArhivaError, IndexingError
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
