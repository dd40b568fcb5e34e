"""A page re-scanned: a new version of the same record, linked both ways to the old one, which
stays untouched and verifiable; the index holds the new version only; `arhiva qa` lists what
wants a re-scan."""

from __future__ import annotations

from pathlib import Path

import pikepdf
from typer.testing import CliRunner

from arhiva.archive.events import read_events
from arhiva.archive.package import iter_document_ids, load_document, load_pages, package_dir
from arhiva.checksum import sha256_file
from arhiva.cli import app
from arhiva.indexing.sqlite import SqliteIndex
from arhiva.schemas.search import SearchRequest

from .conftest import pdf_page_text
from .inputs import page, save_png


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300", "ARHIVA_WORKERS": "2"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _found(archive: Path, word: str) -> set[str]:
    index = SqliteIndex.in_archive(archive)
    try:
        return {h.document_id for h in index.search(SearchRequest(query=word)).hits}
    finally:
        index.close()


def test_a_rescan_is_a_new_version_and_the_old_one_stays(tmp_path: Path, prefect_api: None) -> None:
    src, archive, new = tmp_path / "lot" / "dosar", tmp_path / "arhiva", tmp_path / "nou"
    for n, seed in enumerate((81, 82, 83), start=1):
        save_png(page(seed)[0], src / f"p{n}.png")
    save_png(page(84)[0], new / "p2-bis.png")
    assert _cli("ingest", str(src.parent), "--archive", str(archive))[0] == 0
    (old_id,) = iter_document_ids(archive)
    old_pkg = package_dir(archive, old_id)
    before = {f.name: sha256_file(f) for f in old_pkg.iterdir() if f.name in ("document.pdf", "ocr.json")}
    word_old, word_new = max(page(82)[1].split(), key=len), max(page(84)[1].split(), key=len)
    assert _found(archive, word_old) == {old_id}

    code, out = _cli("rescan", old_id[:8], str(new), "--pages", "2", "--archive", str(archive))
    assert code == 0, out
    new_id = next(d for d in iter_document_ids(archive) if d != old_id)
    version, old = load_document(archive, new_id), load_document(archive, old_id)
    assert (version.replaces, old.replaced_by, version.page_count) == (old_id, new_id, 3)
    texts = [p.text for p in load_pages(archive, new_id)]
    assert texts[0] == load_pages(archive, old_id)[0].text and texts[2] == load_pages(archive, old_id)[2].text
    assert word_new in texts[1] and word_new in pdf_page_text(
        package_dir(archive, new_id) / "document.pdf", 2
    )
    with pikepdf.open(package_dir(archive, new_id) / "document.pdf") as pdf:
        assert old_id in str(pdf.open_metadata())
    assert {f: sha256_file(old_pkg / f) for f in before} == before  # the old version's content untouched
    assert read_events(old_pkg)[-1].event == "replaced" and new_id in read_events(old_pkg)[-1].detail
    assert (
        f"new version of {old_id}: pages 2 re-scanned" in read_events(package_dir(archive, new_id))[0].detail
    )

    assert _found(archive, word_new) == {new_id} and new_id in _found(archive, word_old)
    assert old_id not in _found(archive, word_old)  # the index holds the newest version only
    code, out = _cli("verify", "--archive", str(archive))
    assert code == 0 and "0 problems" in out, out  # both versions verify, PDF/A included
    code, out = _cli("reindex", "--archive", str(archive))
    assert code == 0 and "Reindexed 1 documents" in out, out
    code, out = _cli("ingest", str(src.parent), "--archive", str(archive))  # the old scans again
    assert code == 0 and "replaced by" in out and old_id not in _found(archive, word_old), out
    code, out = _cli("rescan", old_id[:8], str(new), "--pages", "2", "--archive", str(archive))
    assert code == 1 and "was replaced by" in out

    code, out = _cli("qa", "--archive", str(archive))
    assert code == 0 and "pages to check" in out, out
