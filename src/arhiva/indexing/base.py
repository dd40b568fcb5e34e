"""The SearchIndex interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from arhiva.archive.package import load_pages, relative_pdf_path
from arhiva.schemas.models import ArchivedDocument, IndexRecord, PageRecord, SearchHit


class SearchIndex(Protocol):
    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        """Replace every page record of a document. Returns the number of records written."""
        ...

    def has_document(self, document_id: str) -> bool: ...

    def count_pages(self) -> int: ...

    def count_documents(self) -> int: ...

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Documents matching `query`, best first, with the pages where it was found."""
        ...

    def close(self) -> None: ...


def index_records(doc: ArchivedDocument, pages: Iterable[PageRecord]) -> list[IndexRecord]:
    """One record per page: the page's text with the document's metadata."""
    meta = doc.metadata
    return [
        IndexRecord(
            document_id=doc.document_id,
            page=p.number,
            title=doc.title,
            collection=doc.collection,
            document_type=meta.document_type,
            issue_date=meta.issue_date,
            registration_number=meta.registration_number,
            access_level=doc.access_level,
            pdf_path=relative_pdf_path(doc.document_id),
            text=p.text,
        )
        for p in pages
    ]


def index_archived(index: SearchIndex, archive: Path, doc: ArchivedDocument) -> int:
    """Index a document from its archive package alone."""
    return index.upsert_document(doc.document_id, index_records(doc, load_pages(archive, doc.document_id)))
