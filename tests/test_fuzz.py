"""Property tests, bounded in time: the manifest parser and the file-type detection take any
bytes without a traceback. They answer with a result or with their own specific error."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arhiva.errors import InputFileError, ManifestError
from arhiva.ingest.filetypes import Limits, probe
from arhiva.ingest.manifest import read_manifest

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
