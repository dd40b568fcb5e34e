"""Stacks split at separator sheets: a multi-page TIFF and a folder of pages, each holding
separator sheets (with fields, without, a patch-code T, one with a bad field) between pages of
text, printed-and-scanned (skewed, noisy). Exactly the documents between the sheets, no sheet
inside a document, each sheet's fields in its document's record sheet, the bad one set aside with
its field named, and a second ingest that reads nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from arhiva.archive.events import read_events
from arhiva.archive.package import iter_document_ids, load_document, package_dir
from arhiva.cli import app
from arhiva.ingest.manifest import separator_sheet
from arhiva.ingest.stacks import split_stack
from arhiva.ocr.barcodes import separator_code
from arhiva.samples.stacks import blank_back, scanned
from arhiva.schemas.models import (
    AccessLevel,
    DocumentMetadata,
    DocumentPlan,
    FileKind,
    OcrPage,
    PageRef,
    PreparedPage,
)
from arhiva.schemas.separator import SeparatorPage
from arhiva.separator_sheets import separator_text, sheet_image

from .inputs import page

FIELDS = DocumentMetadata(
    title="Autorizație de construire 12/2024",
    registration_number="12/2024",
    document_type="autorizație de construire",
    keywords=("urbanism", "2024"),
    access_level=AccessLevel.public,
)


def _patch_t() -> Image.Image:
    code = np.asarray(zxingcpp.create_barcode("PATCHT", zxingcpp.BarcodeFormat.Code128).to_image(scale=6))
    sheet = Image.new("L", (1240, 1754), 255)
    sheet.paste(Image.fromarray(code).resize((code.shape[1], 300)), (200, 300))
    sheet.info["dpi"] = (150, 150)
    return sheet


def _stack() -> list[Image.Image]:
    bad = separator_text(DocumentMetadata()).replace("ARHIVA-SEP", "ARHIVA-SEP?issue_date=31.02.2024")
    return [
        scanned(sheet_image(DocumentMetadata()), 1),
        page(61)[0],
        page(62)[0],
        scanned(sheet_image(FIELDS), 2),
        page(63)[0],
        scanned(_code_sheet(bad), 3),
        page(64)[0],
        _patch_t(),
        page(65)[0],
    ]


def _code_sheet(text: str) -> Image.Image:
    code = np.asarray(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=12))
    sheet = Image.new("L", (2480, 3508), 255)
    sheet.paste(Image.fromarray(code), (600, 500))
    return sheet


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300", "ARHIVA_WORKERS": "2"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_separator_codes_are_read_from_printed_and_scanned_sheets() -> None:
    for seed in range(4):
        sheet = scanned(sheet_image(FIELDS), seed)
        code = separator_code(np.asarray(sheet), 150)
        assert code is not None and separator_sheet(code, "sheet") == FIELDS
    assert separator_code(np.asarray(_patch_t()), 150) == "PATCHT"
    assert separator_code(np.asarray(page(66)[0].convert("L")), 300) is None


def test_stacks_split_at_their_separator_sheets(tmp_path: Path, prefect_api: None) -> None:
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    (src / "dosare").mkdir(parents=True)
    sheets = _stack()
    sheets[0].save(src / "stiva.tif", save_all=True, append_images=sheets[1:], compression="tiff_lzw")
    for n, img in enumerate(sheets, start=1):
        img.save(src / "dosare" / f"p{n:02}.png")

    code, out = _cli("ingest", str(src), "--archive", str(archive))
    assert code == 3, out
    docs = {load_document(archive, d).name: load_document(archive, d) for d in iter_document_ids(archive)}
    for stack in ("stiva.tif", "dosare"):
        first, second, last = (docs[f"{stack} ({where})"] for where in ("pages 2-3", "page 5", "page 9"))
        assert [first.page_count, second.page_count, last.page_count] == [2, 1, 1]
        assert second.metadata.model_dump(exclude={"access_level"}) == FIELDS.model_dump(
            exclude={"access_level"}
        )
        assert second.access_level is AccessLevel.public and first.access_level is AccessLevel.restricted
        assert first.title == f"{stack} (pages 2-3)"
        opened = read_events(package_dir(archive, second.document_id))[0].detail
        assert "separator sheet on page 4 of the stack" in opened and "ARHIVA-SEP?title=Autoriza" in opened
        assert "'PATCHT'" in read_events(package_dir(archive, last.document_id))[0].detail
    assert len(docs) == 6  # the page after the bad sheet is set aside, nothing else
    reasons = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in (archive / "quarantine" / "lot").rglob("*.quarantine.json")
    ]
    assert len(reasons) == 2 and all(
        "separator sheet on page 6: field 'issue_date'" in r["message"] for r in reasons
    )

    # Ingested again: everything between the sheets is known archived, no page read again.
    code, out = _cli("ingest", str(src), "--archive", str(archive))
    flat = " ".join(out.split())
    assert code == 3 and "0 documents archived, 6 already archived" in flat and "0 pages OCRed" in flat, out


def test_blank_backs_are_kept_flagged_and_not_indexed_and_duplex_collates(
    tmp_path: Path, prefect_api: None
) -> None:
    from arhiva.indexing.sqlite import SqliteIndex
    from arhiva.schemas.search import SearchRequest

    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    src.mkdir()
    fronts = [page(71)[0], page(72)[0], page(73)[0]]
    backs = [
        blank_back(page(74)[0], 74),
        page(75)[0],
        blank_back(page(76)[0], 76),
    ]  # the second sheet is printed on both sides
    # Scanned duplex in two passes: the fronts, then the stack turned over (backs in reverse order).
    passes = fronts + backs[::-1]
    passes[0].save(src / "duplex.tif", save_all=True, append_images=passes[1:])
    code, out = _cli("ingest", str(src), "--archive", str(archive), "--duplex")
    assert code == 0, out
    (doc_id,) = iter_document_ids(archive)
    doc = load_document(archive, doc_id)
    assert doc.page_count == 6 and doc.blank_pages == (2, 6)
    pages = json.loads((package_dir(archive, doc_id) / "ocr.json").read_text(encoding="utf-8"))
    assert [p["blank"] for p in pages] == [False, True, False, False, False, True]
    truths = [page(s)[1] for s in (71, 75, 72, 73)]  # front 1, (blank), front 2, back 2, front 3
    texts = [p["text"] for p in pages if not p["blank"]]
    assert all(t.split()[0] in x for t, x in zip(truths, texts, strict=True)), texts
    index = SqliteIndex.in_archive(archive)
    hit = index.search(SearchRequest(query=page(71)[1].split()[3])).hits[0]
    assert 2 not in hit.pages and 6 not in hit.pages
    index.close()

    # --blank-pages separate: each blank page ends its document (kept as its last page).
    code, out = _cli(
        "ingest", str(src), "--archive", str(tmp_path / "a2"), "--duplex", "--blank-pages", "separate"
    )
    assert code == 0, out
    docs = sorted(
        (load_document(tmp_path / "a2", d) for d in iter_document_ids(tmp_path / "a2")), key=lambda d: d.name
    )
    assert [(d.name, d.page_count, d.blank_pages) for d in docs] == [
        ("duplex.tif (pages 1-2)", 2, (2,)),
        ("duplex.tif (pages 3-6)", 4, (4,)),
    ]


def _read(n: int, *, blank: bool = False) -> OcrPage:
    ref = PageRef(source="stiva.tif", source_sha256=f"{7:064x}", index=n - 1, kind=FileKind.multipage_image)
    prepared = PreparedPage(
        number=n,
        ref=ref,
        image_path="-",
        width=100,
        height=100,
        dpi=300,
        color_mode="L",
        rotation=0,
        skew=0.0,
    )
    return OcrPage(
        page=prepared,
        text="" if blank else f"pagina {n}",
        mean_confidence=90.0,
        words=(),
        blank=blank,
        page_pdf="-",
    )


def _sep(n: int) -> SeparatorPage:
    return SeparatorPage(
        number=n, source="stiva.tif", source_sha256=f"{7:064x}", index=n - 1, payload="PATCHT"
    )


def test_the_blank_back_of_a_separator_is_part_of_it_in_a_duplex_stack() -> None:
    stack = [
        _read(1),
        _read(2, blank=True),
        _sep(3),
        _read(4, blank=True),
        _read(5),
        _sep(6),
        _read(7),
        _read(8, blank=True),
    ]
    plan = DocumentPlan(
        document_id="0" * 64,
        name="stiva.tif",
        collection=None,
        metadata=DocumentMetadata(title="stiva"),
        access_level=AccessLevel.restricted,
        sources=(),
        pages=tuple(p.page.ref for p in stack if isinstance(p, OcrPage)),
    )
    numbers = [[p.page.ref.index + 1 for p in part.pages] for part in split_stack(plan, stack, duplex=True)]
    assert numbers == [[1, 2], [5], [7, 8]]  # page 4, the first separator's back, is no page
    numbers = [[p.page.ref.index + 1 for p in part.pages] for part in split_stack(plan, stack)]
    assert numbers == [[1, 2], [4, 5], [7, 8]]  # single-sided: a blank page after a sheet is kept
    numbers = [
        [p.page.ref.index + 1 for p in part.pages] for part in split_stack(plan, stack, blank_ends=True)
    ]
    assert numbers == [[1, 2], [4], [5], [7, 8]]
