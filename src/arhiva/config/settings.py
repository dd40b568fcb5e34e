"""Run-time settings: values only, no clients. Built once at the CLI or flow entry."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from arhiva import __version__

# Bumped whenever a change alters what an ingest writes for the same scans.
PIPELINE_VERSION = f"arhiva-{__version__}"


class _ShapesOutput:
    """Marks a setting that changes what an ingest writes for a page (its image, text or PDF):
    part of the key of the page's work folder, so a change of it is never met by stale work."""

    def __repr__(self) -> str:
        return "SHAPES_OUTPUT"


SHAPES_OUTPUT = _ShapesOutput()


class Settings(BaseSettings):
    """Pipeline settings. Every field can be set from the environment as ARHIVA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ARHIVA_", frozen=True, extra="ignore")

    languages: Annotated[str, SHAPES_OUTPUT] = Field(
        "ron",
        description="Tesseract languages, joined with '+'. Romanian alone by default: with 'ron+eng' "
        "Tesseract reads many Romanian words with the English model and drops their diacritics "
        "('si' for 'și', 'in' for 'în'), and it is slower.",
    )
    tessdata: Annotated[Path | None, SHAPES_OUTPUT] = Field(
        None,
        description="Folder of Tesseract's language models (<lang>.traineddata); unset: Tesseract's own.",
    )
    tesseract_timeout: float = Field(300.0, gt=0, description="Seconds before one page's OCR is abandoned.")
    default_dpi: Annotated[int, SHAPES_OUTPUT] = Field(
        300, ge=50, le=1200, description="Resolution assumed when a scan does not state one."
    )
    pdf_render_dpi: Annotated[int, SHAPES_OUTPUT] = Field(
        300, ge=72, le=1200, description="Resolution used to rasterize image-only PDF pages."
    )
    max_skew_deg: Annotated[float, SHAPES_OUTPUT] = Field(
        15.0, gt=0, le=45, description="Largest skew angle searched for by deskew."
    )
    jpeg_quality: Annotated[int, SHAPES_OUTPUT] = Field(
        75,
        ge=50,
        le=100,
        description="JPEG quality of greyscale and colour page images in the PDF/A (bitonal pages are "
        "lossless CCITT G4).",
    )
    max_image_pixels: int = Field(
        200_000_000, gt=0, description="Pages with more pixels are refused as decompression bombs."
    )
    blank_pages: Literal["keep", "separate"] = Field(
        "keep",
        description="Blank pages are kept and flagged; 'separate': a blank page also ends its document "
        "(stacks separated by blank sheets).",
    )
    duplex: bool = Field(
        False,
        description="Stacks were scanned in two passes, all fronts then all backs in reverse order: "
        "collate them into page order.",
    )
    max_file_pages: int = Field(
        2_000, gt=0, description="A PDF with more pages, or a TIFF with more frames, is refused."
    )
    max_manifest_bytes: int = Field(
        20_000_000, gt=0, description="Larger manifests are refused (their folder is held back)."
    )
    workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=1,
        description="Pages processed at once.",
    )
    qa_min_confidence: float = Field(
        75.0, ge=0, le=100, description="Pages with a lower mean OCR confidence are listed for re-scanning."
    )
    default_access: str = Field(
        "restricted", description="Access level of documents for which nothing else says."
    )

    api_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Addresses or networks (CIDR) of the reverse proxies in front of `arhiva api`, "
        "comma-separated, whose X-Forwarded-For and X-Forwarded-Proto are believed. Empty (the "
        "default): none is, and the caller is the address that connected.",
    )
    api_body_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a request body may take to arrive in full before a 408."
    )

    @field_validator("api_trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            return value
        proxies = []
        for part in value:
            try:
                net = ipaddress.ip_network(str(part).strip(), strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or a network such as 10.0.0.0/8") from None
            proxies.append(str(net.network_address) if net.num_addresses == 1 else str(net))
        return tuple(proxies)

    def output_shaping(self) -> tuple[tuple[str, Any], ...]:
        """(name, value) of every setting marked SHAPES_OUTPUT, in declaration order."""
        return tuple(
            (name, getattr(self, name))
            for name, info in type(self).model_fields.items()
            if any(m is SHAPES_OUTPUT for m in info.metadata)
        )


def prefect_environment(verbose: bool) -> None:
    """Prefect's environment for a command that runs a flow, set before Prefect is imported."""
    # Prefect's log lines still reach its API (and the UI); on the terminal the progress bar
    # and the end summary say what happened, unless --verbose asks for the log lines too.
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary server gives up after 20 s by default, which a busy machine can exceed.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
