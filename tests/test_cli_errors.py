"""The command's one error path: arhiva's errors print their message and exit with their code;
anything else is a bug, printed with its traceback, and has a code of its own (70)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from arhiva.archive import package
from arhiva.cli import app
from arhiva.errors import ExitCode


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())


def test_an_unreachable_index_is_not_documents_not_indexed(tmp_path: Path) -> None:
    code, out = _cli("search", "autorizatie", "--archive", str(tmp_path), "--index", "http://127.0.0.1:9")
    assert code == ExitCode.index_unavailable == 8, out
    assert "error: Elasticsearch at http://127.0.0.1:9 cannot be reached" in out
    assert code != ExitCode.not_indexed


def test_an_arhiva_error_prints_its_message_and_exits_with_its_code(tmp_path: Path) -> None:
    code, out = _cli("show", "xyz", "--archive", str(tmp_path))
    assert code == ExitCode.error and "error: 'xyz' is not a document id" in out
    code, out = _cli("search", "x", "--archive", str(tmp_path))
    assert code == ExitCode.error and "has no search index (index.sqlite); run `arhiva ingest` first" in out
    code, out = _cli("search", "x", "--archive", str(tmp_path), "--index", "ftp://x")
    assert code == ExitCode.error and "unknown index 'ftp://x'" in out


def test_an_unexpected_error_is_a_bug_with_its_own_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(archive: Path, prefix: str) -> str:  # fault injection: a bug inside a command
        raise ZeroDivisionError("injected for the test")

    monkeypatch.setattr(package, "resolve_id", broken)
    code, out = _cli("show", "abcdef12", "--archive", str(tmp_path))
    assert code == ExitCode.internal == 70, out
    assert "Traceback" in out and "ZeroDivisionError: injected for the test" in out
    assert "This is a bug in arhiva" in out
