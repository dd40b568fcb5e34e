"""How each field of the record sheet (`DocumentMetadata`) shows outside the model.

A field is declared once, on the model, with a `Sheet` beside its type:

    registration_number: Annotated[Text | None, Sheet("număr de înregistrare",
        "arhiva:registrationNumber", search=SearchRole.stored)] = Field(None, description=...)

and the rest is derived from that declaration: the manifest's columns and its JSON schema (from
the model itself), the XMP of the PDF/A (`arhiva.archive.xmp`: an `arhiva:` property, described
in the packet's extension schema by the field's description, or a Dublin Core term), the rows of
`arhiva show`, and the values each page record of the search index carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel


class SearchRole(StrEnum):
    none = "none"  # kept in the archive only
    stored = "stored"  # in every page record of the index, and shown with its hits
    filter = "filter"  # stored, and a filter or facet of searches


@dataclass(frozen=True)
class Sheet:
    label: str | None  # its row in `arhiva show`; None when it has none (the title heads the table)
    xmp: str  # 'arhiva:<name>' (arhiva's own namespace) or a Dublin Core term such as 'dc:title'
    search: SearchRole = SearchRole.none
    group: str | None = None  # consecutive fields of one group share a row of `arhiva show`
    unit: str = ""  # written after a number in `arhiva show`, e.g. ' years'


@cache
def sheet_fields(model: type[BaseModel]) -> tuple[tuple[str, Sheet], ...]:
    """(field name, Sheet) of every declared field of the model, in the model's order."""
    out = []
    for name, info in model.model_fields.items():
        declared = [m for m in info.metadata if isinstance(m, Sheet)]
        if declared:
            out.append((name, declared[0]))
    return tuple(out)


def as_text(value: object) -> str:
    """One value of a record sheet as text: an enum by its value, a date as YYYY-MM-DD."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def searchable(sheet: BaseModel) -> dict[str, Any]:
    """The values of a record sheet that the index's page records carry."""
    return {
        name: getattr(sheet, name)
        for name, decl in sheet_fields(type(sheet))
        if decl.search is not SearchRole.none
    }
