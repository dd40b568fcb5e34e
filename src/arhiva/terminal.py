"""What the `arhiva` command prints: the progress bar, end summaries, tables and errors (rich).

cli.py parses and calls; everything a person reads on the terminal is laid out here.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from arhiva.schemas.models import LOW_CONFIDENCE

if TYPE_CHECKING:
    from rich.progress import Progress

    from arhiva.archive.events import Event
    from arhiva.archive.fixity import VerifyReport
    from arhiva.doctor import Check
    from arhiva.keys import ApiKey
    from arhiva.schemas.models import ArchivedDocument, BatchReport, DocumentMetadata
    from arhiva.schemas.search import SearchResult

console = Console()
err_console = Console(stderr=True)


def error(message: str) -> None:
    err_console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)


def unexpected(exc: BaseException) -> None:
    """An error arhiva did not expect: a bug. Its traceback, for the report."""
    err_console.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
    error(
        f"unexpected {type(exc).__name__}: {exc}. This is a bug in arhiva: please report it with the "
        "traceback above. Finished work is kept: running the same command again is safe."
    )


# -- ingest ------------------------------------------------------------------------------------


def progress_bar() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
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


class BarListener:
    """A flow progress listener (arhiva.flows.progress) that moves a progress bar."""

    def __init__(self, bar: Progress, description: str) -> None:
        self.bar = bar
        self.description = description
        self.task: Any = None

    def start(self, total_pages: int) -> None:
        self.task = self.bar.add_task(self.description, total=total_pages)

    def advance(self, pages: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, pages)


def print_report(report: BatchReport) -> None:
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
    for n in report.notes:
        console.print(Text(f"note: {n}"), soft_wrap=True)
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
        worst = ", ".join(
            f"{p.source} ({p.confidence:.0f}{'' if p.reason == LOW_CONFIDENCE else '; ' + p.reason})"
            for p in report.low_confidence[:5]
        )
        console.print(
            f"{len(report.low_confidence)} pages have a low OCR confidence or a doubtful orientation; "
            f"check them or re-scan: {worst}",
            soft_wrap=True,
        )
    if report.quarantined:
        qdir = Path(report.archive) / "quarantine" / report.batch
        console.print(f"Quarantined copies and reasons: {qdir}", soft_wrap=True)


# -- search ------------------------------------------------------------------------------------


def _marked(snippet: str) -> Text:
    out = Text("   ")
    for i, part in enumerate(snippet.replace("]", "[").split("[")):
        out.append(f"[{part}]" if i % 2 else part, style="bold yellow" if i % 2 else "")
    return out


def print_search(query: str, result: SearchResult, offset: int, count_limit: int) -> None:
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
                f"counted over the first {count_limit + 1:,} matching pages; the hits are the best of all.",
                style="dim",
            ),
            soft_wrap=True,
        )
    at_least = "" if result.total_exact else "≥"
    for name, counts in result.facets.items():
        if counts:
            values = ", ".join(f"{c.value} ({at_least}{c.count})" for c in counts[:10])
            console.print(Text(f"{name}: {values}", style="dim"), soft_wrap=True)


# -- show --------------------------------------------------------------------------------------


def _shown(value: object, unit: str) -> str | None:
    from arhiva.schemas.sheet import as_text

    if value is None or value == ():
        return None
    if isinstance(value, tuple):
        return ", ".join(map(as_text, value))
    text = as_text(value)
    return text + unit if unit and text.isdigit() else text


def sheet_rows(sheet: DocumentMetadata) -> list[tuple[str, str | None]]:
    """The record sheet's rows as `arhiva show` prints them, from the fields' declarations: a
    group of fields (the paper's location) shares one row, '-' standing for a missing part."""
    from arhiva.schemas.models import DocumentMetadata
    from arhiva.schemas.sheet import sheet_fields

    rows: list[tuple[str, str | None]] = []
    groups: dict[str, list[str | None]] = {}
    for name, decl in sheet_fields(DocumentMetadata):
        if decl.label is None:
            continue
        value = _shown(getattr(sheet, name), decl.unit)
        if decl.group is None:
            rows.append((decl.label, value))
        elif decl.group in groups:
            groups[decl.group].append(value)
        else:
            groups[decl.group] = [value]
            rows.append((decl.group, None))
    return [
        (label, " / ".join(v or "-" for v in groups[label]) if any(groups[label]) else None)
        if label in groups
        else (label, value)
        for label, value in rows
    ]


def print_document(doc: ArchivedDocument, package: Path, events: list[Event]) -> None:
    sheet = Table(title=doc.title, title_justify="left", show_header=False)
    sheet.add_column("field", style="bold")
    sheet.add_column("value")
    rows = [
        ("document id", doc.document_id),
        ("collection", doc.collection),
        ("batch", doc.batch),
        *sheet_rows(doc.sheet),
        ("pages", str(doc.page_count)),
        ("mean OCR confidence", f"{doc.mean_confidence:.1f}"),
        ("OCR", f"{doc.ocr_engine} ({doc.languages})"),
        ("archived", doc.archived_at.isoformat()),
        ("PDF/A", str(package / "document.pdf")),
    ]
    for k, v in rows:
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
    for e in events:
        trail.add_row(e.at.isoformat(), e.event.value, Text(e.agent), e.outcome.value, Text(e.detail))
    console.print(trail)


# -- verify, doctor, keys ----------------------------------------------------------------------


def print_verify(report: VerifyReport, indexed: int, backend: str) -> None:
    for problem in report.problems:
        console.print(Text(problem, style="red"), soft_wrap=True)
    console.print(
        f"{report.documents_checked} documents, {report.files_checked} files re-hashed, "
        f"{report.pdfa_checked} PDF/A files validated, {indexed} documents in the {backend} index: "
        f"{len(report.problems)} problems.",
        soft_wrap=True,
    )
    if not report.finished:
        console.print("Stopped at the time budget; run again with --resume to go on.")


def print_doctor(checks: list[Check]) -> None:
    from arhiva.doctor import Status

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
    else:
        console.print("Everything arhiva needs is here.")


def print_keys(keys: tuple[ApiKey, ...]) -> None:
    table = Table(title=f"API keys ({len(keys)})", title_justify="left")
    for col in ("key id", "name", "level", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-"
        table.add_row(
            k.key_id, Text(k.name or "-"), k.level.value, k.created_at.isoformat(timespec="seconds"), revoked
        )
    console.print(table)


def print_qa(rows: list[tuple[str, str, int, float, str]]) -> None:
    """The pages that want a re-scan: document, title, page, confidence, why."""
    table = Table(title="Pages to check or re-scan", title_justify="left")
    for col in ("document", "title", "page", "confidence", "why"):
        table.add_column(col, justify="right" if col in ("page", "confidence") else "left")
    for doc_id, title, page, confidence, why in rows:
        table.add_row(doc_id[:12], Text(title), str(page), f"{confidence:.1f}", why)
    console.print(table)
    console.print(f"{len(rows)} pages to check.")
