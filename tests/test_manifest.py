"""The sidecar manifest: parsing, and errors that name the row and the field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from arhiva.errors import ManifestError
from arhiva.ingest.manifest import read_manifest
from arhiva.schemas.models import AccessLevel

HEADER = "file,document,title,document_type,issue_date,registration_number,keywords,access_level,retention\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "manifest.csv"
    p.write_text(header + body, encoding="utf-8")
    return p


def test_csv_groups_rows_into_documents_in_row_order(tmp_path: Path) -> None:
    p = _csv(
        tmp_path,
        "p1.tif,A,Autorizație de construire 12,autorizație,2024-03-14,12/2024,urbanism;construire,public,permanent\n"
        "p2.tif,A,,,,,,,\n"
        "x.tif,,Cerere,,14.03.2024,,,,10\n",
    )
    entries = read_manifest(p)
    assert [e.document.files for e in entries] == [("p1.tif", "p2.tif"), ("x.tif",)]
    a, b = entries[0].document, entries[1].document
    assert a.title == "Autorizație de construire 12"
    assert a.issue_date == dt.date(2024, 3, 14)
    assert a.keywords == ("urbanism", "construire")
    assert a.access_level is AccessLevel.public
    assert a.retention == "permanent"
    assert b.issue_date == dt.date(2024, 3, 14)  # Romanian DD.MM.YYYY accepted
    assert b.retention == "10"
    assert entries[0].where == "rows 2-3"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("p1.tif,,T,,2023-13-01,,,,\n", "row 2, field 'issue_date'"),
        ("p1.tif,,T,,,,,secret,\n", "row 2, field 'access_level'"),
        ("p1.tif,,T,,,,,,forever\n", "row 2, field 'retention'"),
        (",,T,,,,,,\n", "row 2, field 'file'"),
        ("../etc/passwd,,T,,,,,,\n", "row 2, field 'file'"),
    ],
)
def test_csv_errors_name_row_and_field(tmp_path: Path, row: str, expected: str) -> None:
    with pytest.raises(ManifestError) as err:
        read_manifest(_csv(tmp_path, "ok.tif,,Bun,,,,,,\n" + row.replace("row 2", "row 3")))
    assert expected.replace("row 2", "row 3") in str(err.value)
    assert str(err.value).startswith("manifest.csv: ")


def test_csv_conflicting_values_in_one_document(tmp_path: Path) -> None:
    p = _csv(tmp_path, "p1.tif,A,Unu,,,,,,\np2.tif,A,Doi,,,,,,\n")
    with pytest.raises(ManifestError, match=r"row 3, field 'title': 'Doi' differs from 'Unu'"):
        read_manifest(p)


def test_csv_unknown_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"row 1 \(header\): unknown column 'titlu'"):
        read_manifest(_csv(tmp_path, "a.tif,X\n", header="file,titlu\n"))
    with pytest.raises(ManifestError, match=r"required column 'file' is missing"):
        read_manifest(_csv(tmp_path, "X\n", header="title\n"))


def test_csv_extra_values_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"row 2: more values than there are columns"):
        read_manifest(_csv(tmp_path, "a.tif,X,extra\n", header="file,title\n"))
    with pytest.raises(ManifestError, match=r"row 3, field 'file': 'a.tif' is already listed at row 2"):
        read_manifest(_csv(tmp_path, "a.tif,X\na.tif,Y\n", header="file,title\n"))


def test_json_manifest_and_its_errors(tmp_path: Path) -> None:
    p = tmp_path / "manifest.json"
    p.write_text(
        json.dumps(
            {"documents": [{"files": ["a.png", "b.png"], "title": "Hotărâre 5", "keywords": ["ședință"]}]}
        ),
        encoding="utf-8",
    )
    (entry,) = read_manifest(p)
    assert entry.document.files == ("a.png", "b.png")
    assert entry.document.keywords == ("ședință",)

    p.write_text(json.dumps({"documents": [{"files": ["a.png"]}, {"files": [], "colour": "red"}]}))
    with pytest.raises(ManifestError) as err:
        read_manifest(p)
    assert "document 2, field 'files'" in str(err.value)
    assert "document 2, field 'colour': unknown field" in str(err.value)

    p.write_text("{not json")
    with pytest.raises(ManifestError, match=r"invalid JSON at line 1"):
        read_manifest(p)


def test_schema_file_matches_the_model() -> None:
    """schemas/manifest.schema.json is generated from the model; regenerate it when it changes."""
    from arhiva.schemas.manifest import Manifest, schema_path

    assert json.loads(schema_path().read_text(encoding="utf-8")) == Manifest.model_json_schema()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "manifest.csv",
            HEADER + "p1.tif,,T" + "x" * 200_000 + ",,,,,,\n",
            "near line 2: not readable as CSV: field larger",
        ),
        ("manifest.json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        (
            "manifest.json",
            '{"documents": [{"files": ["p.tif"], "retention": ' + "9" * 5000 + "}]}",
            "invalid JSON",
        ),
    ],
    ids=["200 kB CSV field", "JSON 100,000 deep", "5,000-digit integer"],
)
def test_hostile_manifests_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=expected):
        read_manifest(p)


def test_a_manifest_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    p = _csv(tmp_path, "".join(f"p{n}.tif,,T,,,,,,\n" for n in range(100)))
    with pytest.raises(ManifestError, match=r"is 1,\d{3} bytes, more than the 1,000 allowed"):
        read_manifest(p, max_bytes=1000)
    assert read_manifest(p, max_bytes=10_000)
