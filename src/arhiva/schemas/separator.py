"""Separator sheets: a page put between documents of a scanned stack.

A separator carries a QR code (or a Code 128) whose text starts with `ARHIVA-SEP`; after the
prefix it may carry the next document's record sheet as a URL query, in the manifest's field
names, e.g. `ARHIVA-SEP?title=Autoriza%C8%9Bie%20de%20construire&registration_number=12/2024`.
A code reading `PATCHT` (a patch-code T sheet, paperless-ngx's convention) is a separator with
no fields. The separator page belongs to no document.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SEPARATOR_PREFIX = "ARHIVA-SEP"
PATCH_T = "PATCHT"


def is_separator(code: str) -> bool:
    return code in (PATCH_T, SEPARATOR_PREFIX) or code.startswith(SEPARATOR_PREFIX + "?")


class SeparatorPage(BaseModel):
    """A page of a stack found to be a separator sheet: not OCRed, not archived as a page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1, description="1-based position in the stack as submitted.")
    source: str
    source_sha256: str
    index: int = Field(ge=0, description="0-based page index inside the source file.")
    payload: str = Field(description="The code's text as read.")
