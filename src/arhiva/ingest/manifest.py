"""Read a sidecar manifest into validated documents, with errors that name row and field."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from arhiva.errors import ManifestError
from arhiva.schemas.manifest import CSV_ONLY_COLUMNS, Manifest, ManifestDocument, metadata_fields
from arhiva.schemas.models import DocumentMetadata

_RO_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


@dataclass(frozen=True)
class ManifestEntry:
    where: str  # "row 3", "rows 3-5" (CSV) or "document 2" (JSON), for error messages
    document: ManifestDocument


MAX_MANIFEST_BYTES = 20_000_000  # some 40,000 rows of a rich record sheet


def read_manifest(path: Path, max_bytes: int = MAX_MANIFEST_BYTES) -> tuple[ManifestEntry, ...]:
    """Parse `manifest.csv` or `manifest.json`. Raises ManifestError listing every problem."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ManifestError(
                path.name,
                [f"is {size:,} bytes, more than the {max_bytes:,} allowed (ARHIVA_MAX_MANIFEST_BYTES)"],
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(path.name, [f"cannot be read: {exc.strerror}"]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(path.name, [f"is not UTF-8 text (byte {exc.start})"]) from exc
    docs = _parse_csv(path.name, text) if path.suffix.lower() == ".csv" else _parse_json(path.name, text)
    _check_files(path.name, docs)
    return docs


def _normalise_date(value: Any) -> Any:
    if isinstance(value, str) and (m := _RO_DATE.match(value)):
        day, month, year = (int(g) for g in m.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return value  # let pydantic report it
    return value


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    field = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "(row)"
    value = err.get("input")
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return field, "unknown field"
    if isinstance(value, str | int | float) and err["type"] != "missing":
        msg = f"{msg} (got {value!r})"
    return field, msg


def _parse_csv(name: str, text: str) -> tuple[ManifestEntry, ...]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_entries(name, reader)
    except csv.Error as exc:  # e.g. a field over csv's 131,072 characters, a NUL byte
        raise ManifestError(name, [f"near line {reader.line_num + 1}: not readable as CSV: {exc}"]) from exc


def _csv_entries(name: str, reader: csv.DictReader[str]) -> tuple[ManifestEntry, ...]:
    header = [h.strip() for h in (reader.fieldnames or [])]
    known = set(CSV_ONLY_COLUMNS) | set(metadata_fields())
    problems: list[str] = []
    if "file" not in header:
        problems.append("row 1 (header): required column 'file' is missing")
    problems += [f"row 1 (header): unknown column '{h}'" for h in header if h not in known]
    if problems:
        raise ManifestError(name, problems)

    groups: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    first_row: dict[str, int] = {}
    for rowno, row in enumerate(reader, start=2):
        if None in row:
            problems.append(f"row {rowno}: more values than there are columns")
            continue
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        if not row.get("file"):
            problems.append(f"row {rowno}, field 'file': a file name is required")
            continue
        key = row.get("document") or f"\0row{rowno}"
        if key not in groups:
            groups[key] = {"files": []}
            order.append(key)
            first_row[key] = rowno
        group = groups[key]
        group["files"].append(row["file"])
        for field in metadata_fields():
            value: Any = row.get(field, "")
            if not value:
                continue
            if field == "keywords":
                value = tuple(k.strip() for k in value.split(";") if k.strip())
            if field in group and group[field] != value:
                problems.append(
                    f"row {rowno}, field '{field}': {value!r} differs from {group[field]!r} "
                    f"given earlier for document {row.get('document')!r}"
                )
                continue
            group[field] = value
        group.setdefault("_rows", []).append(rowno)

    docs: list[ManifestEntry] = []
    for key in order:
        data = groups[key]
        rows = data.pop("_rows")
        where = f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}-{rows[-1]}"
        if "issue_date" in data:
            data["issue_date"] = _normalise_date(data["issue_date"])
        try:
            docs.append(ManifestEntry(where, ManifestDocument.model_validate(data)))
        except ValidationError as exc:
            for err in exc.errors():
                field, msg = _describe(err)
                problems.append(f"{where}, field '{field}': {msg}")
    if problems:
        raise ManifestError(name, problems)
    return tuple(docs)


def _parse_json(name: str, text: str) -> tuple[ManifestEntry, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            name, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from exc
    except RecursionError as exc:
        raise ManifestError(name, ["JSON nested too deeply to be a record sheet"]) from exc
    except ValueError as exc:  # an integer of thousands of digits, over Python's conversion limit
        raise ManifestError(name, [f"invalid JSON: {exc}"]) from exc
    if isinstance(data, list):
        data = {"documents": data}
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ManifestError(name, ["expected an object with a 'documents' list"])
    for entry in data["documents"]:
        if isinstance(entry, dict) and "issue_date" in entry:
            entry["issue_date"] = _normalise_date(entry["issue_date"])
    try:
        docs = Manifest.model_validate(data).documents
        return tuple(ManifestEntry(f"document {n}", d) for n, d in enumerate(docs, start=1))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "documents" and isinstance(loc[1], int):
                where = f"document {loc[1] + 1}"
                err = {**err, "loc": tuple(loc[2:])}
            else:
                where = "top level"
            field, msg = _describe(err)
            problems.append(f"{where}, field '{field}': {msg}")
        raise ManifestError(name, problems) from exc


def _check_files(name: str, entries: tuple[ManifestEntry, ...]) -> None:
    problems = []
    seen: dict[str, str] = {}
    for entry in entries:
        for f in entry.document.files:
            p = PurePosixPath(f.replace("\\", "/"))
            if p.is_absolute() or ".." in p.parts:
                problems.append(f"{entry.where}, field 'file': {f!r} must be a path inside the folder")
            if f in seen:
                problems.append(f"{entry.where}, field 'file': {f!r} is already listed at {seen[f]}")
            seen.setdefault(f, entry.where)
    if problems:
        raise ManifestError(name, problems)


def separator_sheet(payload: str, where: str) -> DocumentMetadata:
    """The record sheet a separator's code carries (`ARHIVA-SEP?field=value&…`, the manifest's
    field names, keywords separated by ';'), validated as a manifest's is. Raises ManifestError
    naming the field; `where` says which separator (e.g. 'separator on page 12 of lot.tif')."""
    _, _, query = payload.partition("?")
    data: dict[str, Any] = {}
    problems: list[str] = []
    for field, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if field in data:
            problems.append(f"field '{field}': given twice")
        elif value.strip():
            data[field] = (
                tuple(k.strip() for k in value.split(";") if k.strip())
                if field == "keywords"
                else value.strip()
            )
    if "issue_date" in data:
        data["issue_date"] = _normalise_date(data["issue_date"])
    try:
        sheet = DocumentMetadata.model_validate(data)
    except ValidationError as exc:
        problems += ["field '{}': {}".format(*_describe(err)) for err in exc.errors()]
    if problems:
        raise ManifestError(where, problems)
    return sheet
