"""The SearchIndex interface every backend implements, and what feeds it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from arhiva.archive.events import EventType, append_events, event
from arhiva.archive.package import (
    iter_document_ids,
    load_document,
    load_pages,
    package_dir,
    relative_pdf_path,
)
from arhiva.errors import IndexingError, IndexVersionError, PackageError
from arhiva.schemas.models import AccessLevel, ArchivedDocument, IndexRecord, PageRecord
from arhiva.schemas.search import SearchRequest, SearchResult
from arhiva.schemas.sheet import searchable

DocumentRecords = tuple[str, list[IndexRecord]]

__all__ = ["DocumentRecords", "IndexVersionError", "IndexingError", "SearchIndex"]


class SearchIndex(Protocol):
    """Every method raises arhiva's errors only, never its backend library's: IndexingError
    (IndexVersionError for an index to rebuild with `arhiva reindex`), naming where and what.

    Every backend keeps one full-text set per clearance (visibility.py) and answers a search
    from the set its access-level filter names, so that scores and counts cover only what the
    caller may see."""

    backend: str
    # A search counts documents (total, facets) over at most count_limit + 1 matching pages:
    # exactly when no more than count_limit match, else as lower bounds (SearchResult.total_exact).
    count_limit: int

    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        """Replace every page record of a document, in the sets of every clearance that sees its
        access level and in no other: a document whose level changed moves. No records: the
        document leaves the index (every set). Returns the number of page records written."""
        ...

    def refresh(self) -> None:
        """Make everything written so far visible to searches."""
        ...

    def has_document(self, document_id: str) -> bool: ...

    def document_ids(self) -> Iterator[str]:
        """Every document id the index holds."""
        ...

    def document_levels(self) -> Iterator[tuple[str, AccessLevel]]:
        """Every document id the index holds, with the access level it holds it at."""
        ...

    def count_pages(self) -> int: ...

    def count_documents(self) -> int: ...

    def search(self, request: SearchRequest) -> SearchResult:
        """Documents matching the request, best first, with pages, snippet and facets, all
        computed over the set of the highest access level the request's filter names (every
        document without one): visibility.scope."""
        ...

    def rebuild(self, documents: Iterable[DocumentRecords]) -> int:
        """Replace the whole index by these documents' records, switching over atomically:
        searches keep answering from the old content until the new one is complete.
        Returns the number of records written."""
        ...

    def close(self) -> None: ...


def index_records(doc: ArchivedDocument, pages: Iterable[PageRecord]) -> list[IndexRecord]:
    """One record per page: the page's text with the document's record-sheet fields that the
    index carries (those declared with a search role, schemas/sheet.py)."""
    sheet = searchable(doc.sheet)
    return [
        IndexRecord(
            document_id=doc.document_id,
            page=p.number,
            collection=doc.collection,
            pdf_path=relative_pdf_path(doc.document_id),
            text="" if p.blank else p.text,  # a blank page holds no text to find
            **sheet,
        )
        for p in pages
    ]


def index_archived(index: SearchIndex, archive: Path, doc: ArchivedDocument) -> int:
    """Index a document from its archive package alone, and say so in its audit trail."""
    written = index.upsert_document(doc.document_id, index_records(doc, load_pages(archive, doc.document_id)))
    append_events(
        package_dir(archive, doc.document_id),
        event(EventType.indexed, index.backend, f"{written} page records"),
    )
    return written


def record_reindexed(archive: Path, backend: str, document_ids: Iterable[str]) -> None:
    for doc_id in document_ids:
        append_events(
            package_dir(archive, doc_id),
            event(EventType.reindexed, backend, "index rebuilt from the archive"),
        )


def archive_records(archive: Path, unreadable: list[PackageError] | None = None) -> Iterator[DocumentRecords]:
    """Every archived document's records (of the newest version of each record), one document
    at a time, from the archive alone. A package that cannot be read is left out and added to `unreadable` (raised without one)."""
    for doc_id in iter_document_ids(archive):
        try:
            doc = load_document(archive, doc_id)
            if doc.replaced_by:  # the index holds the newest version of a record only
                continue
            records = index_records(doc, load_pages(archive, doc_id))
        except PackageError as exc:
            if unreadable is None:
                raise
            unreadable.append(exc)
            continue
        yield doc_id, records
