"""A scanned stack split into documents at its separator sheets.

Every multi-page file and folder of pages may be a stack: once its pages are read, each
separator sheet (`arhiva.schemas.separator`) ends the document before it and opens the next,
which takes the record sheet the separator's code carries. Without a separator a stack is the
one document it was planned as, with the same id. The separator pages belong to no document;
each is recorded in the audit trail of the document it opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from arhiva.checksum import document_id
from arhiva.errors import ManifestError
from arhiva.ingest.manifest import separator_sheet
from arhiva.ingest.names import title_from_name
from arhiva.schemas.models import DocumentMetadata, DocumentPlan, OcrPage
from arhiva.schemas.separator import SeparatorPage

T = TypeVar("T")


def duplex_order(pages: Sequence[T]) -> list[T]:
    """A stack scanned in two passes, all fronts then all backs in reverse order (the stack
    turned over), in page order: front 1, back 1, front 2, back 2, ... Needs an even count."""
    if len(pages) % 2:
        raise ValueError(f"{len(pages)} pages: a stack of fronts and backs has an even number")
    half = len(pages) // 2
    fronts, backs = pages[:half], pages[half:][::-1]
    return [page for pair in zip(fronts, backs, strict=True) for page in pair]


@dataclass(frozen=True)
class Part:
    """One document of a stack: its plan and OCRed pages (numbered from 1), or, when its
    separator's fields are invalid, the error naming them."""

    plan: DocumentPlan
    pages: list[OcrPage]
    error: ManifestError | None = None


def split_stack(
    plan: DocumentPlan,
    results: Sequence[OcrPage | SeparatorPage],
    *,
    blank_ends: bool = False,
    duplex: bool = False,
) -> list[Part]:
    """The documents of a stack, in order, from its pages as read (separators among them).
    `blank_ends` (--blank-pages separate): a blank page also ends its document, as its last page.
    `duplex`: a blank page right after a separator is the sheet's back, part of no document."""
    if duplex:
        results = [
            r
            for i, r in enumerate(results)
            if not (isinstance(r, OcrPage) and r.blank and i and isinstance(results[i - 1], SeparatorPage))
        ]

    def ends(r: OcrPage | SeparatorPage) -> bool:
        return isinstance(r, SeparatorPage) or (blank_ends and r.blank and r is not results[-1])

    if not any(ends(r) for r in results):
        return [Part(plan, [r for r in results if isinstance(r, OcrPage)])]
    parts: list[Part] = []
    pages: list[OcrPage] = []
    openers: list[SeparatorPage] = []  # the separators since the last document: the last one opens
    for result in results:
        if isinstance(result, SeparatorPage):
            if pages:
                parts.append(_part(plan, pages, openers))
                pages, openers = [], []
            openers.append(result)
            continue
        pages.append(result)
        if ends(result):
            parts.append(_part(plan, pages, openers))
            pages, openers = [], []
    if pages:
        parts.append(_part(plan, pages, openers))
    return parts


def _part(plan: DocumentPlan, pages: list[OcrPage], openers: list[SeparatorPage]) -> Part:
    first, last = pages[0].page.number, pages[-1].page.number
    name = f"{plan.name} (page {first})" if first == last else f"{plan.name} (pages {first}-{last})"
    refs = tuple(p.page.ref for p in pages)
    used = {ref.source for ref in refs}
    notes = [
        *(n for n in plan.notes if n.split(": ", 1)[0] in used),
        *(
            f"separator sheet on page {s.number} of the stack ({s.source}, page {s.index + 1}, sha256 "
            f"{s.source_sha256}): {s.payload!r}" + ("" if s is openers[-1] else " (no pages after it)")
            for s in openers
        ),
    ]
    metadata, access, error = plan.metadata, plan.access_level, None
    if openers:
        try:
            sheet = separator_sheet(openers[-1].payload, f"separator sheet on page {openers[-1].number}")
        except ManifestError as exc:
            sheet, error = DocumentMetadata(), exc
        metadata = DocumentMetadata.model_validate(
            {**sheet.model_dump(), "title": sheet.title or title_from_name(name) or "untitled"}
        )
        access = sheet.access_level or plan.access_level
    part = DocumentPlan(
        document_id=document_id(ref.content_key for ref in refs),
        name=name,
        collection=plan.collection,
        metadata=metadata,
        access_level=access,
        sources=tuple(s for s in plan.sources if s.path in used),
        pages=refs,
        notes=tuple(notes),
    )
    numbered = [
        p.model_copy(update={"page": p.page.model_copy(update={"number": n})})
        for n, p in enumerate(pages, start=1)
    ]
    return Part(part, numbered, error)
