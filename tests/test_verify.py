"""`arhiva verify`: a clean archive passes; a flipped byte, a deleted file and an index out of
step with the archive are each found and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from arhiva.archive.fixity import verify_archive
from arhiva.archive.package import iter_document_ids, package_dir
from arhiva.cli import app
from arhiva.indexing.sqlite import SqliteIndex
from arhiva.samples.batch import BatchOptions, write_batch


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def archive(tmp_path: Path, prefect_api: None) -> Path:
    src = tmp_path / "lot"
    write_batch(src, BatchOptions(documents=2, max_pages=1, size="a6", seed=71, rotate=False))
    code, out = _cli("ingest", str(src), "--archive", str(tmp_path / "arhiva"))
    assert code == 0, out
    return tmp_path / "arhiva"


def test_a_clean_archive_verifies(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _cli("verify", "--archive", str(archive))
    assert code == 0, out
    assert (
        "2 documents, 6 files re-hashed, 2 PDF/A files validated, 2 documents in the sqlite index: 0 problems"
        in out
    )

    # The same verdict for the folder as an operator types it, relative to where they stand, and
    # through a symbolic link (veraPDF reports absolute paths whatever it is given).
    (archive.parent / "link").symlink_to(archive)
    monkeypatch.chdir(archive.parent)
    for relative in ("arhiva", "link", "./link/"):
        result = CliRunner().invoke(app, ["verify", "--archive", relative], env={"COLUMNS": "300"})
        assert result.exit_code == 0 and "2 PDF/A files validated" in result.output, (relative, result.output)

    # Without Java, veraPDF cannot run: verify names that as a problem (no traceback), the rest is checked.
    result = CliRunner().invoke(
        app, ["verify", "--archive", str(archive)], env={"COLUMNS": "300", "PATH": "/nonexistent"}
    )
    flat = " ".join(result.output.split())
    assert result.exit_code == 6, result.output
    assert "the PDF/A files could not be validated: veraPDF cannot run: java is not installed" in flat
    assert "apt-get install default-jre-headless" in flat and "6 files re-hashed" in flat


def test_flipped_byte_deleted_file_and_index_gaps_are_named(archive: Path) -> None:
    first, second = sorted(iter_document_ids(archive))
    pdf = package_dir(archive, first) / "document.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    pdf.write_bytes(bytes(data))
    (package_dir(archive, second) / "ocr.json").unlink()
    index = SqliteIndex.in_archive(archive)
    index.upsert_document(second, [])  # the index loses a document
    index.close()

    code, out = _cli("verify", "--archive", str(archive))
    assert code == 6
    flat = " ".join(out.split())
    assert (
        f"documents/{first[:2]}/{first}/document.pdf: SHA-256" in flat and "differs from the recorded" in flat
    )
    assert f"documents/{second[:2]}/{second}/ocr.json: missing" in flat
    assert f"document {second}: archived but not in the search index" in flat


def test_time_budget_and_resume(archive: Path) -> None:
    first = verify_archive(archive, pdfa=False, budget_s=0)
    assert (first.documents_checked, first.finished) == (1, False)
    assert (archive / "verify-state.json").is_file()
    rest = verify_archive(archive, pdfa=False, resume=True)
    assert (rest.documents_checked, rest.finished, rest.ok) == (1, True, True)
    assert not (archive / "verify-state.json").exists()


def test_audit_trail_records_each_event_and_show_prints_it(archive: Path) -> None:
    from arhiva.archive.events import read_events

    doc_id = sorted(iter_document_ids(archive))[0]
    pdf = package_dir(archive, doc_id) / "document.pdf"
    assert _cli("verify", "--archive", str(archive), "--no-pdfa")[0] == 0
    pdf.write_bytes(pdf.read_bytes() + b"%tampered\n")
    assert _cli("verify", "--archive", str(archive), "--no-pdfa")[0] == 6
    events = read_events(package_dir(archive, doc_id))
    assert [e.event for e in events] == ["ingested", "ocred", "converted", "indexed", "verified", "verified"]
    assert events[1].agent.startswith("Tesseract 5") and events[2].checksum is not None
    assert [e.outcome for e in events[-2:]] == ["success", "failure"]
    assert "document.pdf: SHA-256" in events[-1].detail

    code, out = _cli("show", doc_id[:8], "--archive", str(archive))
    assert code == 0, out
    for word in (
        "Audit trail",
        "ingested",
        "ocred",
        "converted",
        "indexed",
        "verified",
        "failure",
        "SHA-256",
    ):
        assert word in out
    assert _cli("show", "zz", "--archive", str(archive))[0] == 1


def test_one_poisoned_package_is_named_and_the_rest_goes_on(archive: Path) -> None:
    import json

    first, second = sorted(iter_document_ids(archive))
    meta = package_dir(archive, first) / "metadata.json"
    record = json.loads(meta.read_bytes())
    record["metadata"]["title"] = "=titlu\u0007"  # what an older arhiva let through, or a tampered file
    meta.write_text(json.dumps(record), encoding="utf-8")
    where = f"documents/{first[:2]}/{first}/metadata.json is not a valid record"

    code, out = _cli("reindex", "--archive", str(archive))
    flat = " ".join(out.split())
    assert code == 6 and "Reindexed 1 documents" in flat and where in flat, out
    index = SqliteIndex.in_archive(archive)
    assert list(index.document_ids()) == [second]
    index.close()

    code, out = _cli("show", first[:8], "--archive", str(archive))
    assert code == 6 and where in " ".join(out.split()) and "Traceback" not in out
    code, out = _cli("verify", "--archive", str(archive), "--no-pdfa")
    assert code == 6 and where in " ".join(out.split())

    # A second ingest of the batch sets the poisoned document's files aside and keeps the other.
    code, out = _cli("ingest", str(archive.parent / "lot"), "--archive", str(archive))
    flat = " ".join(out.split())
    assert code == 3 and "Traceback" not in out, out
    assert "1 already archived" in flat and "1 files quarantined" in flat and where in flat


def test_every_command_takes_folders_relative_to_where_the_operator_stands(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = archive.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    doc_id = sorted(iter_document_ids(archive))[0]
    for args, code, words in [
        (["ingest", "../lot", "--archive", "../arhiva"], 0, "2 already archived"),
        (["search", "autorizatie", "--archive", "../arhiva"], 0, "Autorizație"),
        (["show", doc_id[:8], "--archive", "../arhiva"], 0, "Audit trail"),
        (["reindex", "--archive", "../arhiva"], 0, "Reindexed 2 documents"),
        (["verify", "--archive", "../arhiva", "--no-pdfa"], 0, "0 problems"),
        (["doctor", "--archive", "../arhiva"], None, "Tesseract"),
    ]:
        got, out = _cli(*args)
        assert (code is None or got == code) and words in " ".join(out.split()), (args, out)
    assert not (elsewhere / "arhiva").exists() and not list(elsewhere.iterdir())


def test_an_access_level_changes_only_on_purpose_and_on_the_record(archive: Path) -> None:
    import json

    from arhiva.archive.events import read_events
    from arhiva.archive.package import load_document, load_pages
    from arhiva.checksum import sha256_file
    from arhiva.indexing.base import index_records
    from arhiva.schemas.models import AccessLevel
    from arhiva.schemas.search import SearchFilters, SearchRequest

    lot = archive.parent / "lot"
    doc_id = next(d for d in iter_document_ids(archive) if load_document(archive, d).name == "document-001")
    word = max((lot / "document-001" / "pagina-1.gt.txt").read_text(encoding="utf-8").split(), key=len)

    def public_hits() -> set[str]:
        index = SqliteIndex.in_archive(archive)
        try:
            request = SearchRequest(query=word, filters=SearchFilters(access_level=(AccessLevel.public,)))
            return {h.document_id for h in index.search(request).hits}
        finally:
            index.close()

    pkg = package_dir(archive, doc_id)
    pdf_before = sha256_file(pkg / "document.pdf")
    assert (
        load_document(archive, doc_id).access_level is AccessLevel.restricted and doc_id not in public_hits()
    )

    # Re-ingesting with another --access does not change it, and says so.
    code, out = _cli("ingest", str(lot), "--archive", str(archive), "--access", "public")
    flat = " ".join(out.split())
    assert code == 0 and "archived as restricted, and kept so (not public)" in flat, out
    assert (
        load_document(archive, doc_id).access_level is AccessLevel.restricted and doc_id not in public_hits()
    )

    # `arhiva access set`: metadata.json, the index and the audit trail in one step.
    code, out = _cli(
        "access", "set", doc_id[:8], "public", "--archive", str(archive), "--reason", "decizia 12/2026"
    )
    assert code == 0 and "access level restricted → public" in " ".join(out.split()), out
    assert load_document(archive, doc_id).access_level is AccessLevel.public
    assert load_document(archive, doc_id).metadata.access_level is AccessLevel.public
    assert doc_id in public_hits()
    last = [e for e in read_events(pkg) if e.event == "access_changed"][-1]
    assert last.event == "access_changed" and last.detail == "restricted → public: decizia 12/2026"
    assert "access set, by " in last.agent
    assert sha256_file(pkg / "document.pdf") == pdf_before  # the PDF/A is not rewritten
    assert _cli("verify", "--archive", str(archive), "--no-pdfa")[0] == 0  # checksums rewritten with it

    # An index whose level differs from the package's (an update that did not reach it) is named.
    index = SqliteIndex.in_archive(archive)
    stale = [
        r.model_copy(update={"access_level": AccessLevel.restricted})
        for r in index_records(load_document(archive, doc_id), load_pages(archive, doc_id))
    ]
    index.upsert_document(doc_id, stale)
    index.close()
    code, out = _cli("verify", "--archive", str(archive), "--no-pdfa")
    assert (
        code == 6
        and f"document {doc_id}: public in the archive but restricted in the search index"
        in " ".join(out.split())
    )
    assert _cli("access", "set", doc_id[:8], "public", "--archive", str(archive))[0] == 0  # repairs it
    assert _cli("verify", "--archive", str(archive), "--no-pdfa")[0] == 0

    # A manifest's access_level on re-ingest changes it too.
    (lot / "document-001" / "manifest.csv").write_text(
        "file,access_level\npagina-1.png,internal\n", encoding="utf-8"
    )
    code, out = _cli("ingest", str(lot), "--archive", str(archive))
    assert code == 0 and "access level public → internal, as its manifest says" in " ".join(out.split()), out
    assert load_document(archive, doc_id).access_level is AccessLevel.internal and doc_id not in public_hits()
    assert [e.event for e in read_events(pkg)].count("access_changed") == 2
    assert json.loads((pkg / "metadata.json").read_text())["access_level"] == "internal"
