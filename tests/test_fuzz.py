"""Property tests, bounded in time: the manifest parser and the file-type detection take any
bytes without a traceback. They answer with a result or with their own specific error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arhiva.errors import InputFileError, ManifestError, QuarantineReason
from arhiva.ingest.discover import LITTER_DIRS, Planner
from arhiva.ingest.filetypes import Limits, probe
from arhiva.ingest.manifest import read_manifest
from arhiva.ingest.names import batch_name, is_plain
from arhiva.ingest.quarantine import quarantine
from arhiva.schemas.models import BatchPlan, DocumentMetadata

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = [
    "file",
    "document",
    "title",
    "document_type",
    "issue_date",
    "registration_number",
    "keywords",
    "access_level",
    "retention",
    "x",
]
HEADERS = [b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"PK\x03\x04", b""]


@FUZZ
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6),
    rows=st.lists(st.lists(st.text(max_size=20), max_size=7), max_size=6),
)
def test_csv_manifests(header: list[str], rows: list[list[str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "manifest.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        try:
            entries = read_manifest(path)
        except ManifestError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        else:
            assert all(e.document.files for e in entries)


@FUZZ
@given(st.binary(max_size=400))
def test_json_manifests_from_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "manifest.json"
        path.write_bytes(data)
        try:
            read_manifest(path)
        except ManifestError as exc:
            assert str(exc).startswith("manifest.json: ")


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=15),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from([*COLUMNS, "files", "documents"]), inner, max_size=5)
        ),
        max_leaves=20,
    )
)
def test_json_manifests_of_any_shape(value: object) -> None:
    import json

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "manifest.json"
        path.write_text(json.dumps(value), encoding="utf-8")
        with contextlib.suppress(ManifestError):
            read_manifest(path)


@FUZZ
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=2000))
def test_file_type_detection_of_any_bytes(header: bytes, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "scan"
        path.write_bytes(header + body)
        try:
            found = probe(path, path.stat().st_size, Limits(max_pixels=50_000_000))
        except InputFileError as exc:
            assert exc.message
        else:
            assert found.pages >= 1


def _png_bytes(shade: int = 250) -> bytes:
    """A small PNG, of its own content for each shade."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (40, 40), shade).save(buf, format="PNG")
    return buf.getvalue()


# A file or folder name as a disk may hold it: any text but '/' and NUL, or bytes that are not UTF-8.
_NAME = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40
) | st.binary(min_size=1, max_size=40).map(
    lambda b: os.fsdecode(b.replace(b"/", b"_").replace(b"\x00", b"_"))
)


def _usable(name: str) -> bool:
    return name not in (".", "..") and len(os.fsencode(name)) < 200


@FUZZ
@given(
    folders=st.lists(_NAME.filter(_usable), min_size=1, max_size=3, unique=True),
    files=st.lists(_NAME.filter(_usable), min_size=1, max_size=3, unique=True),
)
def test_any_names_are_archived_quarantined_or_ignored_never_a_crash(
    folders: list[str], files: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "lot"
        for i, folder in enumerate(folders):
            for j, name in enumerate(files):
                path = src / folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(_png_bytes(i * 10 + j))
        plan = Planner(src, batch_name(None, "lot")).plan()
        BatchPlan.model_validate_json(plan.model_dump_json())  # the plan goes to Prefect as JSON
        for doc in plan.documents:
            DocumentMetadata.model_validate_json(doc.sheet.model_dump_json())  # the sheet as archived
            assert all(is_plain(s.path) for s in doc.sources)
        for record in plan.quarantined:
            assert record.reason in (QuarantineReason.bad_name, QuarantineReason.corrupt_image) and is_plain(
                record.source
            )
            reason = quarantine(Path(d) / "arhiva", src, record)
            assert reason.is_file()
        # Every file is accounted for: in a document, set aside, or ignored (litter, hidden folders).
        seen = sum(len(doc.sources) for doc in plan.documents) + len(plan.quarantined) + len(plan.ignored)
        hidden = sum(1 for f in folders if f.startswith(".") or f.lower() in LITTER_DIRS)
        assert seen >= (len(folders) - hidden) * len(files) + hidden


@FUZZ
@given(values=st.lists(st.text(max_size=30), min_size=4, max_size=4))
def test_any_manifest_values_become_a_valid_sheet_or_a_named_refusal(values: list[str]) -> None:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows([["file", "title", "issuer", "keywords", "dosar"], ["p.png", *values]])
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "lot"
        src.mkdir()
        (src / "p.png").write_bytes(_png_bytes())
        (src / "manifest.csv").write_text(buf.getvalue(), encoding="utf-8")
        plan = Planner(src, "lot").plan()
        if plan.documents:
            (doc,) = plan.documents
            DocumentMetadata.model_validate_json(doc.sheet.model_dump_json())
        else:
            (record,) = plan.quarantined
            assert record.reason is QuarantineReason.bad_manifest and "row 2, field" in record.message
