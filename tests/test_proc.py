"""External programs run one way (arhiva.proc): a missing program or one out of time is an
arhiva error that says what to do, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from arhiva import proc
from arhiva.errors import MissingDependencyError, ToolError
from arhiva.ocr.decode import load_page
from arhiva.schemas.models import FileKind, PageRef


def test_a_missing_program_says_how_to_install_it() -> None:
    with pytest.raises(
        MissingDependencyError,
        match=r"the scanner tool cannot run: no-such-tool-x is not installed.*apt-get install x",
    ):
        proc.run(
            ["no-such-tool-x", "--version"], what="the scanner tool", timeout=5, install="apt-get install x"
        )
    assert proc.version(["no-such-tool-x"], r"(\d+)") is None


def test_a_program_out_of_time_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match=r"sleep did not finish within 0.2 s"):
        proc.run(["sleep", "5"], what="sleep", timeout=0.2)


def test_a_program_runs_and_its_output_is_read() -> None:
    assert proc.version(["tesseract", "--version"], r"tesseract (\d+)\.") == "5"


def test_pdf_pages_without_poppler_stop_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("L", (200, 200), 255).save(tmp_path / "scan.pdf")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    ref = PageRef(source="scan.pdf", source_sha256="0" * 64, index=0, kind=FileKind.pdf)
    with pytest.raises(MissingDependencyError, match="apt-get install poppler-utils"):
        load_page(tmp_path, ref, 300, 300)
