"""`arhiva doctor`: is everything arhiva needs here, and how to fix what is not."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from arhiva import proc
from arhiva.archive.verapdf import fetch_hint, verapdf_jars
from arhiva.config import Settings
from arhiva.errors import MissingDependencyError

MIN_FREE_BYTES = 5 * 1024**3


class Status(StrEnum):
    ok = "ok"
    warning = "warning"  # works, but something deserves attention
    missing = "missing"  # a required part is missing: ingest cannot run


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_tesseract(settings: Settings) -> list[Check]:
    from arhiva.ocr.tesseract import installed_languages, library_version, model_version

    try:
        number = library_version()
        have = installed_languages(settings.tessdata)
    except MissingDependencyError as exc:
        return [Check("Tesseract", Status.missing, str(exc), "scripts/setup")]
    major = int(number.split(".")[0])
    checks = [
        Check(
            "Tesseract",
            Status.ok if major >= 5 else Status.warning,
            f"version {number}",
            "" if major >= 5 else "Tesseract 5 is recommended",
        )
    ]
    for lang in settings.languages.split("+"):
        checks.append(
            Check(f"Tesseract language {lang}", Status.ok, model_version(lang, settings.tessdata))
            if lang in have
            else Check(
                f"Tesseract language {lang}",
                Status.missing,
                "not installed",
                f"apt-get install tesseract-ocr-{lang}",
            )
        )
    return checks


def check_programs() -> list[Check]:
    checks = []
    pdftoppm = proc.version(["pdftoppm", "-v"], r"version\s+(\S+)")
    checks.append(
        Check("poppler (pdftoppm)", Status.ok, f"version {pdftoppm}", "")
        if pdftoppm
        else Check(
            "poppler (pdftoppm)", Status.missing, "needed to read PDF scans", "apt-get install poppler-utils"
        )
    )
    gs = proc.version(["gs", "--version"], r"(\d+\.\d+(?:\.\d+)?)")
    checks.append(
        Check("Ghostscript", Status.ok, f"version {gs}")
        if gs
        else Check(
            "Ghostscript",
            Status.warning,
            "not found; arhiva's PDF/A assembly does not need it, the ocrmypdf comparison does",
            "apt-get install ghostscript",
        )
    )
    java = proc.version(["java", "-version"], r'version "([^"]+)"')
    checks.append(
        Check("Java", Status.ok, f"version {java} (veraPDF, Elasticsearch)")
        if java
        else Check(
            "Java",
            Status.warning,
            "not found: veraPDF and a local Elasticsearch need it",
            "apt-get install default-jre-headless",
        )
    )
    return checks


def check_verapdf() -> Check:
    jars = verapdf_jars()
    if jars is not None:
        return Check("veraPDF", Status.ok, f"{jars}")
    return Check(
        "veraPDF",
        Status.warning,
        "not fetched: PDF/A files cannot be validated here",
        fetch_hint(),
    )


def check_index(archive: Path, location: str | None) -> Check:
    from arhiva.errors import ArhivaError
    from arhiva.indexing.open import describe, embedded_path, index_exists, open_index, unavailable_fix

    name = f"search index ({describe(location)})"
    if not index_exists(archive, location):
        return Check(name, Status.ok, f"{embedded_path(archive)} will be created by the first ingest")
    try:
        index = open_index(archive, location)
    except (ArhivaError, OSError) as exc:
        return Check(name, Status.missing, str(exc), unavailable_fix(location))
    try:
        return Check(name, Status.ok, f"{index.count_documents()} documents, {index.count_pages()} pages")
    except ArhivaError as exc:
        return Check(name, Status.missing, str(exc), "arhiva reindex --archive DIR")
    finally:
        index.close()


def check_prefect() -> Check:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return Check(
            "Prefect API", Status.ok, "no PREFECT_API_URL: each ingest runs its own temporary server"
        )
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return Check("Prefect API", Status.missing, f"{url} does not answer: {exc}", "prefect server start")
    return Check("Prefect API", Status.ok, f"{url} is healthy")


def check_disk(archive: Path) -> Check:
    where = archive if archive.exists() else next((p for p in archive.parents if p.exists()), Path("/"))
    free = shutil.disk_usage(where).free
    detail = f"{free / 1024**3:.1f} GB free at {where}"
    if free < MIN_FREE_BYTES:
        return Check(
            "disk space",
            Status.warning,
            detail,
            "free space: a 300 dpi page needs a few MB while it is processed",
        )
    return Check("disk space", Status.ok, detail)


def run_checks(archive: Path, location: str | None, settings: Settings) -> list[Check]:
    return [
        *check_tesseract(settings),
        *check_programs(),
        check_verapdf(),
        check_index(archive, location),
        check_prefect(),
        check_disk(archive),
    ]
