"""`arhiva doctor` on this machine: what is here passes, what is missing is named with its fix."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from arhiva.cli import app


def _doctor(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["doctor", "--archive", str(tmp_path), *args], env={"COLUMNS": "250", **env}
    )
    return result.exit_code, result.output


def test_everything_needed_is_here(tmp_path: Path) -> None:
    code, out = _doctor(tmp_path, {"PREFECT_API_URL": ""})
    assert code == 0, out
    assert "Tesseract language ron" in out and "Everything arhiva needs is here." in out


def test_missing_parts_are_named_with_their_fix(tmp_path: Path) -> None:
    code, out = _doctor(
        tmp_path,
        {"ARHIVA_LANGUAGES": "ron+xyz", "PREFECT_API_URL": "http://127.0.0.1:9/api"},
        "--index",
        "http://127.0.0.1:9",
    )
    assert code == 4
    assert "apt-get install tesseract-ocr-xyz" in out
    assert "prefect server start" in out and "scripts/elasticsearch start" in out
    assert "Missing: Tesseract language xyz, search index (http://127.0.0.1:9), Prefect API." in " ".join(
        out.split()
    )


def test_verapdf_is_found_where_verify_finds_it(tmp_path: Path) -> None:
    # ARHIVA_VERAPDF_DIR names veraPDF's jars for `verify`; doctor looks in the same place.
    jars = tmp_path / "verapdf-jars"
    jars.mkdir()
    code, out = _doctor(tmp_path, {"PREFECT_API_URL": "", "ARHIVA_VERAPDF_DIR": str(jars)})
    assert code == 0, out
    assert any("veraPDF" in line and "ok" in line and str(jars) in line for line in out.splitlines()), out


def test_a_broken_sqlite_index_is_named_with_its_fix(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite").write_bytes(b"these bytes are no SQLite database " * 200)
    code, out = _doctor(tmp_path, {"PREFECT_API_URL": ""})
    flat = " ".join(out.split())
    assert code == 4, out
    assert "Missing: search index (SQLite)." in flat and "arhiva reindex" in flat
    assert "index.sqlite" in flat and "Traceback" not in out
