"""End to end: `arhiva ingest` on a generated batch mixed with bad files, then `arhiva search`.

Real Tesseract, real pikepdf, veraPDF as the judge of PDF/A, a real Prefect API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from arhiva.archive.package import iter_document_ids, load_document, load_pages, package_dir
from arhiva.checksum import sha256_file
from arhiva.cli import app
from arhiva.samples.batch import BatchOptions, read_samples_index, write_batch
from arhiva.samples.render import PageStyle, ground_truth, layout, render_page
from arhiva.samples.texts import sample_document

from .conftest import cer, pages_ocred, pdf_page_text, tree_snapshot, verapdf, verapdf_details
from .inputs import corrupt_tiff, encrypted_pdf, image_pdf, page, truncated_png

MAX_CER = 0.03
MAX_RESIDUAL_SKEW = 0.3
BATCH = "2026-11-22-urbanism"


@dataclass
class Run:
    exit_code: int
    output: str


@dataclass
class Ingested:
    source: Path
    archive: Path
    env: dict[str, str]
    first: Run
    runs_first: int
    second: Run
    runs_second: int
    before: dict
    after: dict


def _cli(args: list[str], env: dict[str, str]) -> Run:
    result = CliRunner().invoke(app, args, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.output)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, prefect_api: None) -> Ingested:
    root = tmp_path_factory.mktemp("e2e")
    src = root / BATCH
    write_batch(
        src, BatchOptions(documents=4, max_pages=2, size="a5", max_skew=7.0, noise=6, blur=0.5, seed=7)
    )
    # A scanner's image-only PDF, with its ground truth beside it.
    style = PageStyle(size="a5", skew=4.0, noise=5, seed=3)
    lines = layout(sample_document(99).paragraphs, style)[0]
    image_pdf(render_page(lines, style), src / "scaner" / "lot-99.pdf")
    (src / "scaner" / "lot-99.1.gt.txt").write_text(ground_truth(lines), encoding="utf-8")
    # Bad input, and scanner litter.
    corrupt_tiff(src / "defecte" / "stricat.tif")
    (src / "defecte" / "gol.png").write_bytes(b"")
    (src / "defecte" / "citeste-ma.txt").write_text("Nu este o scanare.", encoding="utf-8")
    encrypted_pdf(src / "defecte" / "secret.pdf")
    # A PNG whose header reads fine but whose pixels are cut off: found only when decoded,
    # so its whole document is set aside at the OCR stage.
    img, _ = page(seed=4, size="a6")
    truncated_png(img, src / "trunchiat" / "pagina-1.png")
    (src / "Thumbs.db").write_bytes(b"\x00litter")
    (src / ".DS_Store").write_bytes(b"\x00litter")
    outside = root / "outside.png"
    Image.new("L", (100, 100), 255).save(outside)
    os.symlink(outside, src / "defecte" / "link-afara.png")

    env = {"ARHIVA_WORKERS": "2"}
    archive = root / "arhiva"
    before = tree_snapshot(src)
    first = _cli(["ingest", str(src), "--archive", str(archive), "--collection", "urbanism"], env)
    second = _cli(["ingest", str(src), "--archive", str(archive), "--collection", "urbanism"], env)
    return Ingested(
        src,
        archive,
        env,
        first,
        pages_ocred(first.output),
        second,
        pages_ocred(second.output),
        before,
        tree_snapshot(src),
    )


def _expected_pages(src: Path) -> dict[tuple[str, int], tuple[str, float | None, int | None]]:
    """(file, page index) -> (ground truth path, true skew, true rotation) of every good page."""
    pages = {(p.file, p.index): (p.ground_truth, p.skew, p.rotation) for p in read_samples_index(src)}
    pages[("scaner/lot-99.pdf", 0)] = ("scaner/lot-99.1.gt.txt", 4.0, 0)
    return pages


def test_exit_code_says_files_were_quarantined(ingested: Ingested) -> None:
    assert ingested.first.exit_code == 3, ingested.first.output
    assert "6 files quarantined" in ingested.first.output
    assert "Quarantined" in ingested.first.output


def test_bad_files_are_quarantined_with_reasons(ingested: Ingested) -> None:
    qdir = ingested.archive / "quarantine" / BATCH
    expected = {
        "defecte/stricat.tif": "corrupt_image",
        "defecte/gol.png": "empty_file",
        "defecte/citeste-ma.txt": "unsupported_type",
        "defecte/secret.pdf": "encrypted_pdf",
        "defecte/link-afara.png": "symlink_outside_source",
        "trunchiat/pagina-1.png": "corrupt_image",
    }
    for rel, reason in expected.items():
        record = json.loads((qdir / f"{rel}.quarantine.json").read_text(encoding="utf-8"))
        assert record["reason"] == reason and record["source"] == rel and record["message"]
        assert record["batch"] == BATCH and record["stage"] in ("discover", "ocr")
        if reason == "symlink_outside_source":
            assert not (qdir / rel).exists()  # a link out of the batch is never followed
        else:
            assert (qdir / rel).read_bytes() == (ingested.source / rel).read_bytes()


def test_source_folder_is_untouched(ingested: Ingested) -> None:
    assert ingested.after == ingested.before


def test_every_good_page_is_archived_once_as_valid_pdfa(ingested: Ingested) -> None:
    expected = _expected_pages(ingested.source)
    ids = list(iter_document_ids(ingested.archive))
    archived_pages = {}
    for doc_id in ids:
        doc = load_document(ingested.archive, doc_id)
        refs = [(s.path, i) for s in doc.sources for i in range(s.pages)]
        assert doc.page_count == len(refs)
        for n, ref in enumerate(refs, start=1):
            archived_pages[ref] = (doc_id, n)
    assert set(archived_pages) == set(expected)
    assert ingested.runs_first == len(expected)  # every page OCRed, once

    pdfs = [package_dir(ingested.archive, d) / "document.pdf" for d in ids]
    verdicts = verapdf(*pdfs)
    failed = [p for p, v in verdicts.items() if v != "PASS"]
    assert not failed, verapdf_details(Path(failed[0]))


def test_text_layer_accuracy_and_residual_skew(ingested: Ingested) -> None:
    expected = _expected_pages(ingested.source)
    rates = []
    for doc_id in iter_document_ids(ingested.archive):
        doc = load_document(ingested.archive, doc_id)
        pages = load_pages(ingested.archive, doc_id)
        refs = [(s.path, i) for s in doc.sources for i in range(s.pages)]
        pdf = package_dir(ingested.archive, doc_id) / "document.pdf"
        for record, ref in zip(pages, refs, strict=True):
            gt_path, skew, rotation = expected[ref]
            truth = (ingested.source / gt_path).read_text(encoding="utf-8")
            rate = cer(pdf_page_text(pdf, record.number), truth)
            rates.append(rate)
            assert rate <= MAX_CER, f"{ref}: CER {rate:.3%}"
            assert cer(record.text, truth) <= MAX_CER
            assert record.rotation == (360 - rotation) % 360, ref
            assert abs(record.skew - skew) <= MAX_RESIDUAL_SKEW, ref
    assert len(rates) == len(expected)


def test_packages_carry_metadata_and_checksums(ingested: Ingested) -> None:
    titles = {}
    for doc_id in iter_document_ids(ingested.archive):
        pkg = package_dir(ingested.archive, doc_id)
        doc = load_document(ingested.archive, doc_id)
        titles[doc.title] = doc
        assert doc.collection == "urbanism" and doc.batch == BATCH
        assert doc.ocr_engine.startswith("Tesseract 5")
        for src in doc.sources:
            assert src.sha256 == sha256_file(ingested.source / src.path)
        listed = dict(line.split("  ")[::-1] for line in (pkg / "checksums.sha256").read_text().splitlines())
        assert set(listed) == {"document.pdf", "metadata.json", "ocr.json"}
        for name, digest in listed.items():
            assert sha256_file(pkg / name) == digest
        recorded = {f.name: f.sha256 for f in doc.files}
        assert recorded["document.pdf"] == listed["document.pdf"]
    # The manifest's record sheet reached the package; other documents get the safe access level.
    manifest_doc = next(d for t, d in titles.items() if "nr." in t)
    assert manifest_doc.access_level == "public"
    assert manifest_doc.metadata.registration_number and manifest_doc.metadata.issue_date
    assert manifest_doc.metadata.retention == "permanent"
    assert {d.access_level for d in titles.values() if d is not manifest_doc} == {"restricted"}


def test_prefect_flow_run_is_named_after_the_batch(ingested: Ingested) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[BATCH])))
        assert len(flow_runs) == 2 and all(r.state and r.state.is_completed() for r in flow_runs)
        first = min(flow_runs, key=lambda r: r.start_time)
        names = [t.name for t in client.read_task_runs() if t.flow_run_id == first.id]
    stages = {n.split()[0] for n in names}
    assert {"check-tools", "discover", "quarantine", "page", "pdfa", "index"} <= stages
    n_pages = len(_expected_pages(ingested.source)) + 1  # + the truncated page
    assert sum(1 for n in names if n.startswith("page ")) == n_pages
    assert set(first.tags) == {"arhiva", "collection:urbanism"}


def test_prefect_artifacts_report_the_batch(ingested: Ingested) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = {
            a.key: a
            for a in client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=BATCH))
            )
        }
    docs = json.loads(arts[f"{BATCH}-documents"].data)
    n_docs = len(list(iter_document_ids(ingested.archive)))
    assert len([d for d in docs if d["result"] in ("archived", "already_archived")]) == n_docs
    quarantined = json.loads(arts[f"{BATCH}-quarantine"].data)
    assert {q["file"] for q in quarantined} >= {"defecte/gol.png", "trunchiat/pagina-1.png"}
    assert float(arts[f"{BATCH}-progress"].data) == 100.0
    assert f"{BATCH}-qa" in arts


def test_second_ingest_does_no_ocr_and_adds_nothing(ingested: Ingested) -> None:
    assert ingested.runs_second == 0
    assert ingested.second.exit_code == 3  # the bad files are still bad
    assert "0 documents archived" in ingested.second.output
    n_docs = len(list(iter_document_ids(ingested.archive)))
    assert f"{n_docs} already archived" in ingested.second.output


@pytest.mark.parametrize("query", ["autorizatie", "AUTORIZAȚIE", "autorizaţie"])
def test_search_finds_documents_without_diacritics(ingested: Ingested, query: str) -> None:
    with_word = set()
    for doc_id in iter_document_ids(ingested.archive):
        if any("autorizație" in p.text.lower() for p in load_pages(ingested.archive, doc_id)):
            with_word.add(doc_id)
    assert with_word
    run = _cli(["search", query, "--archive", str(ingested.archive), "--limit", "50"], ingested.env)
    assert run.exit_code == 0, run.output
    found = {line.split("id: ")[1].strip() for line in run.output.splitlines() if "id: " in line}
    assert found == with_word
    assert "[autorizație]" in run.output.lower() or "[autorizația]" in run.output.lower()
    assert "(page" in run.output


def test_search_without_hits_and_without_index(ingested: Ingested, tmp_path: Path) -> None:
    run = _cli(["search", "inexistentcuvant", "--archive", str(ingested.archive)], ingested.env)
    assert run.exit_code == 0 and "No documents match" in run.output
    run = _cli(["search", "x", "--archive", str(tmp_path)], ingested.env)
    assert run.exit_code == 1


def test_console_script_runs_on_the_embedded_default(tmp_path: Path) -> None:
    """The real entry point, as an operator runs it: ephemeral Prefect, nothing else started."""
    src = tmp_path / "lot"
    write_batch(src, BatchOptions(documents=1, max_pages=1, size="a6", seed=5))
    env = {**os.environ, "PREFECT_API_URL": "", "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL")
    out = subprocess.run(
        [sys.executable, "-m", "arhiva", "ingest", str(src), "--archive", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 documents archived" in out.stdout
    assert "Traceback" not in out.stderr


def test_bad_arguments_get_clear_errors(tmp_path: Path) -> None:
    run = _cli(["ingest", str(tmp_path / "missing"), "--archive", str(tmp_path / "a")], {})
    assert run.exit_code == 1 and "does not exist" in run.output
    (tmp_path / "src").mkdir()
    run = _cli(["ingest", str(tmp_path / "src"), "--archive", str(tmp_path / "src" / "a")], {})
    assert run.exit_code == 1 and "must not be inside the source" in run.output
    run = _cli(["ingest", str(tmp_path / "src"), "--archive", str(tmp_path / "a"), "--access", "secret"], {})
    assert run.exit_code == 1 and "secret" in run.output
