"""The records arhiva passes between stages and writes to disk."""

from __future__ import annotations

import datetime as dt
import unicodedata
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from arhiva.errors import QuarantineReason
from arhiva.schemas.sheet import SearchRole, Sheet


class AccessLevel(StrEnum):
    """Who may see a document: the public portal, city hall staff, or named staff only."""

    public = "public"
    internal = "internal"
    restricted = "restricted"


class FileKind(StrEnum):
    image = "image"  # a single-page PNG, JPEG or TIFF
    multipage_image = "multipage_image"  # a TIFF with several pages
    pdf = "pdf"


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _safe_text(value: str) -> str:
    """Refuse control characters, and text a spreadsheet would run as a formula (CSV injection)
    when the record sheet is exported: a leading = or @, or + or - not followed by a digit."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("contains control characters")
    if value[:1] in ("=", "@") or (value[:1] in ("+", "-") and len(value) > 1 and not value[1].isdigit()):
        raise ValueError(f"starts with {value[0]!r}, which a spreadsheet would run as a formula")
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_safe_text),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Retention = Annotated[str, StringConstraints(pattern=r"^(permanent|[1-9][0-9]{0,2})$")]
LOCATION = "location (fond / inventar / dosar)"


class DocumentMetadata(_Model):
    """The electronic record sheet of an archived document (Legea 135/2007).

    Every field is optional at intake: a batch without a manifest still gets archived, with
    the title taken from the file or folder name. Each field declares (`Sheet`) its row in
    `arhiva show`, its XMP property and its role in the search index; see schemas/sheet.py.
    """

    title: Annotated[Text | None, Sheet(None, "dc:title", search=SearchRole.stored)] = Field(
        None, description="Title of the document."
    )
    document_type: Annotated[Text | None, Sheet("document type", "dc:type", search=SearchRole.filter)] = (
        Field(None, description="Kind of document, e.g. autorizație de construire.")
    )
    issuer: Annotated[Text | None, Sheet("issuer", "arhiva:issuer")] = Field(
        None, description="Issuer (emitent) of the document."
    )
    issue_date: Annotated[dt.date | None, Sheet("date of issue", "dc:date", search=SearchRole.filter)] = (
        Field(None, description="Date of issue, YYYY-MM-DD.")
    )
    registration_number: Annotated[
        Text | None, Sheet("număr de înregistrare", "arhiva:registrationNumber", search=SearchRole.stored)
    ] = Field(None, description="Număr de înregistrare.")
    fond: Annotated[Text | None, Sheet("fond", "arhiva:fond", group=LOCATION)] = Field(
        None, description="Physical location: fond (archival fonds)."
    )
    inventar: Annotated[Text | None, Sheet("inventar", "arhiva:inventar", group=LOCATION)] = Field(
        None, description="Physical location: inventar (inventory)."
    )
    dosar: Annotated[Text | None, Sheet("dosar", "arhiva:dosar", group=LOCATION)] = Field(
        None, description="Physical location: dosar (file folder)."
    )
    keywords: Annotated[tuple[Text, ...], Sheet("keywords", "dc:subject")] = Field(
        (), description="Keywords (cuvinte cheie)."
    )
    access_level: Annotated[
        AccessLevel | None, Sheet("access level", "arhiva:accessLevel", search=SearchRole.filter)
    ] = Field(None, description="public, internal or restricted.")
    retention: Annotated[Retention | None, Sheet("termen de păstrare", "arhiva:retention", unit=" years")] = (
        Field(None, description="Termen de păstrare: a number of years, or 'permanent'.")
    )

    def resolved(self, name: str, access_level: AccessLevel) -> DocumentMetadata:
        """This sheet as a document archives it: the title, if none is given, the name of the file
        or folder it came from; the access level the document was given."""
        return self.model_copy(update={"title": self.title or name, "access_level": access_level})


class SourceFile(_Model):
    """An original file of the scanner folder, as it was when read."""

    path: str = Field(description="Path relative to the batch folder, with '/' separators.")
    sha256: Sha256
    size: int = Field(ge=0)
    kind: FileKind
    pages: int = Field(ge=1)


class PageRef(_Model):
    """One page of a document: a page of a source file."""

    source: str
    source_sha256: Sha256
    index: int = Field(ge=0, description="0-based page index inside the source file.")
    kind: FileKind

    @property
    def content_key(self) -> str:
        return f"{self.source_sha256}:{self.index}"


class DocumentPlan(_Model):
    """A document discovered in a batch, before any page is processed."""

    document_id: Sha256
    name: str = Field(description="The file or folder the document came from, relative to the batch.")
    collection: str | None
    metadata: DocumentMetadata
    access_level: AccessLevel
    sources: tuple[SourceFile, ...]
    pages: tuple[PageRef, ...]
    notes: tuple[str, ...] = Field((), description="For the audit trail: what intake noticed of the sources.")
    replaces: Sha256 | None = Field(
        None, description="The archived version this document replaces (a re-scan)."
    )

    @property
    def sheet(self) -> DocumentMetadata:
        """The record sheet as it is archived: its title and access level resolved."""
        return self.metadata.resolved(self.name, self.access_level)


class QuarantineRecord(_Model):
    """Why a file was set aside. Written as JSON beside the quarantined copy."""

    source: str = Field(
        description="Path relative to the batch folder; bytes of a name that are not UTF-8 written "
        "as \\xNN (the exact name is in source_bytes)."
    )
    source_bytes: str | None = Field(
        None, description="The path's bytes in hex, when it is not UTF-8 text (else absent)."
    )
    reason: QuarantineReason
    message: str
    stage: str
    sha256: Sha256 | None = None
    size: int | None = None
    batch: str
    quarantined_at: dt.datetime
    pipeline_version: str


class BatchPlan(_Model):
    batch: str
    source: str
    documents: tuple[DocumentPlan, ...]
    quarantined: tuple[QuarantineRecord, ...]
    ignored: tuple[str, ...] = Field(description="Scanner litter and duplicates, skipped on purpose.")
    held_back: tuple[str, ...] = Field(
        description="Readable files not ingested because their manifest is wrong."
    )

    @property
    def page_count(self) -> int:
        return sum(len(d.pages) for d in self.documents)


class Word(_Model):
    text: str
    confidence: float
    box: tuple[int, int, int, int] = Field(
        description="left, top, width, height in pixels of the prepared page."
    )


class OrientationVote(_Model):
    """A band of the page's text read at one orientation."""

    rotation: int = Field(description="Clockwise quarter-turn correction tried, in degrees.")
    confidence: float = Field(description="Tesseract's mean confidence per character read, 0-100.")
    chars: int = Field(description="Letters and digits read.")


class Orientation(_Model):
    """How the page's orientation was decided, and on what evidence."""

    method: str = Field(
        description="'blank' (no ink to judge), 'layout' (the projection profile alone), "
        "'layout, confirmed by recognition', "
        "'recognition' (the orientation that read clearly best) or 'as scanned' (nothing read "
        "clearly: the page was not turned, and is doubtful)."
    )
    lines_ratio: float = Field(
        description="Row-profile sharpness of the line direction chosen over the other's."
    )
    ascender_ratio: float = Field(description="Ink above the text's x-height bands over ink below.")
    ink_points: int = Field(description="Ink pixels the layout analysis judged.")
    votes: tuple[OrientationVote, ...] = ()
    doubt: str = Field("", description="Why the orientation is still doubtful; empty when it is not.")


class PreparedPage(_Model):
    """A page after rotation and deskew, stored losslessly in the work folder."""

    number: int = Field(ge=1)
    ref: PageRef
    image_path: str
    width: int
    height: int
    dpi: int
    color_mode: str = Field(description="'1' bitonal, 'L' greyscale or 'RGB' colour.")
    rotation: int = Field(description="Clockwise quarter-turn correction applied, in degrees.")
    skew: float = Field(description="Skew angle corrected, in degrees.")
    orientation: Orientation | None = Field(None, description="How the rotation was decided.")
    ocr_image_path: str | None = Field(
        None,
        description="The copy Tesseract reads when it differs from the archived image (a frame painted).",
    )
    frame: float = Field(
        0.0, description="Fraction of the image that is a light frame, painted for Tesseract."
    )
    regions: list[tuple[int, int, int, int]] = Field(
        default_factory=list,
        description="Text regions (left, top, right, bottom, pixels) read one at a time in this order, "
        "on a page set in columns; empty: the page is read whole.",
    )
    ink: float = Field(
        1.0, description="Fraction of the page inside its margins covered by ink (specks left out)."
    )


ENGINE_DESCRIPTION = (
    "The OCR engine and the models that read the page: version, and each language model's version "
    "string and sha256 (first 12 hex digits)."
)


class OcrPage(_Model):
    """The result of the one Tesseract run of a page."""

    page: PreparedPage
    text: str
    mean_confidence: float
    words: tuple[Word, ...]
    engine: str = Field("", description=ENGINE_DESCRIPTION)
    blank: bool = Field(False, description="No text and almost no ink: kept, flagged, not indexed.")
    page_pdf: str = Field(
        description="The page as a one-page PDF (scan image and invisible text), in the work folder."
    )
    reused: bool = Field(
        False,
        exclude=True,
        description="Read back from an earlier, interrupted run's work folder instead of OCRed now.",
    )


class PageRecord(_Model):
    """What the archive keeps of each page's OCR, enough to rebuild the index."""

    number: int
    width: int
    height: int
    dpi: int
    rotation: int
    skew: float
    orientation: Orientation | None = None
    regions: list[tuple[int, int, int, int]] = Field(
        default_factory=list, description="The text regions read in order, on a page set in columns."
    )
    engine: str = Field("", description=ENGINE_DESCRIPTION)
    blank: bool = Field(False, description="No text and almost no ink: kept, flagged, not indexed.")
    mean_confidence: float
    text: str
    words: tuple[Word, ...]


class ArchivedFile(_Model):
    name: str
    sha256: Sha256
    size: int


class ArchivedDocument(_Model):
    """metadata.json of an archive package."""

    document_id: Sha256
    name: str
    batch: str
    collection: str | None
    access_level: AccessLevel
    metadata: DocumentMetadata
    page_count: int
    mean_confidence: float
    languages: str
    ocr_engine: str
    pipeline_version: str
    archived_at: dt.datetime
    sources: tuple[SourceFile, ...]
    files: tuple[ArchivedFile, ...] = Field(description="Files of the package with their SHA-256.")
    blank_pages: tuple[int, ...] = Field((), description="Pages with no text and almost no ink (kept).")
    replaces: Sha256 | None = Field(None, description="The earlier version of this record, re-scanned.")
    replaced_by: Sha256 | None = Field(
        None, description="The newer version of this record (`arhiva rescan`)."
    )

    @field_validator("files")
    @classmethod
    def _sorted(cls, v: tuple[ArchivedFile, ...]) -> tuple[ArchivedFile, ...]:
        return tuple(sorted(v, key=lambda f: f.name))

    @property
    def title(self) -> str:
        return self.metadata.title or self.name

    @property
    def sheet(self) -> DocumentMetadata:
        """The record sheet as archived: its title and access level resolved."""
        return self.metadata.resolved(self.name, self.access_level)


class IndexRecord(_Model):
    """One page as the search index stores it."""

    document_id: Sha256
    page: int
    title: str
    collection: str | None
    document_type: str | None
    issue_date: dt.date | None
    registration_number: str | None
    access_level: AccessLevel
    pdf_path: str
    text: str


class DocumentOutcome(StrEnum):
    archived = "archived"
    already_archived = "already_archived"
    quarantined = "quarantined"


class DocumentSummary(_Model):
    document_id: str
    name: str
    title: str
    pages: int
    mean_confidence: float | None
    pdf_path: str | None
    outcome: DocumentOutcome


LOW_CONFIDENCE = "low OCR confidence"  # the QA list's reason for a page below the threshold
BLANK_PAGE = "blank page"  # ... for a page with no text and almost no ink (kept in its document)


def qa_reason(blank: bool, mean_confidence: float, orientation: Orientation | None, threshold: float) -> str:
    """Why a page belongs on the QA list (a candidate for a re-scan); empty when it does not."""
    reasons = []
    if blank:
        reasons.append(BLANK_PAGE)
    elif mean_confidence < threshold:
        reasons.append(LOW_CONFIDENCE)
    if orientation is not None and orientation.doubt:
        reasons.append(f"orientation doubtful ({orientation.doubt})")
    return "; ".join(reasons)


class LowConfidencePage(_Model):
    """A page for the QA list: its OCR confidence is below the QA threshold, or its orientation
    is doubtful; a candidate for checking or re-scanning."""

    document_id: str
    title: str
    page: int
    source: str
    confidence: float
    reason: str = Field(LOW_CONFIDENCE, description="Why the page is on the QA list.")


class BatchReport(_Model):
    """What an ingest did: shown as the end summary, returned by the flow."""

    batch: str
    source: str
    archive: str
    documents: tuple[DocumentSummary, ...]
    quarantined: tuple[QuarantineRecord, ...]
    ignored: tuple[str, ...]
    held_back: tuple[str, ...]
    index_errors: tuple[str, ...] = Field(description="Documents archived but not indexed, with why.")
    notes: tuple[str, ...] = Field(
        (), description="Already archived documents whose access level was changed or kept."
    )
    index: str = Field(description="The index backend used.")
    low_confidence: tuple[LowConfidencePage, ...] = Field(
        description="Pages below the QA confidence threshold."
    )
    pages_ocred: int = Field(
        description="Pages OCRed in this run; not those an interrupted run had finished."
    )
    seconds: float

    @property
    def complete(self) -> bool:
        """True when every file of the batch is in the archive."""
        return not self.quarantined and not self.held_back
