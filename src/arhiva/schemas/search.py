"""The search contract both index backends honour: request, hits grouped per document, facets."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arhiva.schemas.models import AccessLevel, IndexRecord

FACET_FIELDS = ("collection", "document_type", "access_level", "year")
# A search counts documents (the total and every facet) over at most COUNT_LIMIT + 1 matching
# pages: exactly when no more than COUNT_LIMIT pages match, else as lower bounds. Counting every
# match of a common word over a million pages takes far longer than the answer itself.
COUNT_LIMIT = 5_000


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SearchFilters(_Model):
    """Every filter given must hold; several values of one filter mean any of them."""

    collection: tuple[str, ...] = ()
    document_type: tuple[str, ...] = ()
    access_level: tuple[AccessLevel, ...] = Field(
        (),
        description=(
            "Only documents of these levels. The answer (scores, order, counts) is computed over the "
            "documents of the highest level named and the levels below it, never over documents "
            "above: a caller's answer is the same whatever documents it may not see hold."
        ),
    )
    date_from: dt.date | None = Field(None, description="Issue date on or after this day.")
    date_to: dt.date | None = Field(None, description="Issue date on or before this day.")

    @model_validator(mode="after")
    def _range(self) -> SearchFilters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self


class SearchRequest(_Model):
    """Words must all occur on one page; "quoted words" are a phrase; word* is a prefix.

    Case and diacritics are ignored, and the cedilla letters ş ţ equal the comma-below ș ț.
    """

    query: str = Field(min_length=1, max_length=1000)
    filters: SearchFilters = SearchFilters()
    limit: int = Field(20, ge=1, le=100, description="Documents per page of results.")
    offset: int = Field(0, ge=0, le=10_000)
    facets: bool = True


class SearchHit(_Model):
    """A document that matches, with the pages where the text was found."""

    document_id: str
    title: str
    pages: tuple[int, ...] = Field(description="Matching page numbers, ascending (at most 100).")
    snippet: str = Field(description="Text around the match on the best page; matches in [brackets].")
    snippet_page: int
    score: float
    collection: str | None
    document_type: str | None
    issue_date: dt.date | None
    access_level: AccessLevel
    pdf_path: str = Field(description="The PDF/A, relative to the archive folder.")


# What a hit shows of its document, as the index stores it: read back by name by both backends.
HIT_FIELDS = tuple(name for name in SearchHit.model_fields if name in IndexRecord.model_fields)


class FacetCount(_Model):
    value: str
    count: int = Field(
        description="Matching documents with this value; a lower bound when total_exact is false."
    )


class SearchResult(_Model):
    total_documents: int = Field(
        description="Matching documents; when total_exact is false, a lower bound: at least this many."
    )
    total_exact: bool = Field(
        True,
        description=(
            "True: total_documents and every facet count are exact. False: the query matched more than "
            f"{COUNT_LIMIT:,} pages, and the counts are of the documents of the first {COUNT_LIMIT + 1:,} "
            "matching pages found, so each is a lower bound. Hits are the best of all matches either way."
        ),
    )
    hits: tuple[SearchHit, ...]
    facets: dict[str, tuple[FacetCount, ...]] = Field(default_factory=dict)


MARK_START, MARK_END = "[", "]"
