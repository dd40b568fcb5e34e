"""A page filed in two documents (the same annex in two dossiers): neither document loses its
page work to the other's clean-up, in one batch or in two batches ingested at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from arhiva.archive.package import iter_document_ids, load_document
from arhiva.indexing.sqlite import SqliteIndex

from .inputs import page, save_png


def _dossier(folder: Path, *seeds: int) -> None:
    folder.mkdir(parents=True)
    for n, seed in enumerate(seeds, start=1):
        save_png(page(seed, size="a6")[0], folder / f"p{n}.png")


def _ingest(src: Path, archive: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_documents_sharing_a_page_in_one_batch_and_across_two_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "ARHIVA_WORKERS": "1", "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)
    archive = tmp_path / "arhiva"
    # One batch: the annex (seed 31) in both dossiers, after a page of each one's own.
    _dossier(tmp_path / "lot" / "dosar-a", 32, 31)
    _dossier(tmp_path / "lot" / "dosar-b", 33, 31)
    # Two batches at once into the same archive, each with a dossier holding the same cover page.
    _dossier(tmp_path / "lot1" / "dosar-c", 34, 35)
    _dossier(tmp_path / "lot2" / "dosar-d", 34, 36)

    first = _ingest(tmp_path / "lot", archive, env)
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out
    both = [_ingest(tmp_path / name, archive, env) for name in ("lot1", "lot2")]
    outs = [p.communicate(timeout=300)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0], outs

    names = sorted(load_document(archive, d).name for d in iter_document_ids(archive))
    assert names == ["dosar-a", "dosar-b", "dosar-c", "dosar-d"]
    assert all(len(load_document(archive, d).sources) == 2 for d in iter_document_ids(archive))
    assert not [p for p in (archive / ".work").rglob("*") if p.is_file()], "page work left behind"

    # Every file 0600 and folder 0700, the index with the text of every level included.
    assert (archive / "index.sqlite").stat().st_mode & 0o777 == 0o600
    opened = [p for p in [archive, *archive.rglob("*")] if p.stat().st_mode & 0o077]
    assert not opened, [f"{p}: {p.stat().st_mode & 0o777:o}" for p in opened]


def test_an_index_open_to_others_is_closed_to_them(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    SqliteIndex(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)  # made by an older arhiva
    SqliteIndex(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
