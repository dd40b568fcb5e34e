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
from arhiva.ocr.barcodes import separator_code
from arhiva.schemas.models import AccessLevel, DocumentMetadata
from arhiva.separator_sheets import separator_text, sheet_image

from .inputs import page

FIELDS = DocumentMetadata(
    title="Autorizație de construire 12/2024",
    registration_number="12/2024",
    document_type="autorizație de construire",
    keywords=("urbanism", "2024"),
    access_level=AccessLevel.public,
)


def _scanned(img: Image.Image, seed: int) -> Image.Image:
    """A sheet as it comes back from the scanner: at 150 dpi, a little skewed, noisy."""
    small = img.convert("L").resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
    turned = small.rotate(1.5 if seed % 2 else -2.0, resample=Image.Resampling.BICUBIC, fillcolor=250)
    arr = np.asarray(turned).astype(np.float32)
    arr += np.random.default_rng(seed).normal(0, 8, arr.shape)
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    out.info["dpi"] = (150, 150)
    return out


def _patch_t() -> Image.Image:
    code = np.asarray(zxingcpp.create_barcode("PATCHT", zxingcpp.BarcodeFormat.Code128).to_image(scale=6))
    sheet = Image.new("L", (1240, 1754), 255)
    sheet.paste(Image.fromarray(code).resize((code.shape[1], 300)), (200, 300))
    sheet.info["dpi"] = (150, 150)
    return sheet


def _stack() -> list[Image.Image]:
    bad = separator_text(DocumentMetadata()).replace("ARHIVA-SEP", "ARHIVA-SEP?issue_date=31.02.2024")
    return [
        _scanned(sheet_image(DocumentMetadata()), 1),
        page(61)[0],
        page(62)[0],
        _scanned(sheet_image(FIELDS), 2),
        page(63)[0],
        _scanned(_code_sheet(bad), 3),
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
        sheet = _scanned(sheet_image(FIELDS), seed)
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


def _blank_back(seed: int) -> Image.Image:
    """The back of a single-sided sheet: paper, scanner noise, specks, two punch holes, and the
    text of the front showing through, faintly."""
    rng = np.random.default_rng(seed)
    front = np.asarray(page(seed)[0].convert("L")).astype(np.float32)
    arr = np.full(front.shape, 245, np.float32) + rng.normal(0, 5, front.shape)
    arr = np.minimum(arr, 245 - (245 - front[:, ::-1]) * 0.2)  # show-through, mirrored
    for _ in range(25):
        y, x = rng.integers(0, arr.shape[0] - 3), rng.integers(0, arr.shape[1] - 3)
        arr[y : y + 2, x : x + 2] = 60
    yy, xx = np.ogrid[: arr.shape[0], : arr.shape[1]]
    for y in (arr.shape[0] // 3, 2 * arr.shape[0] // 3):
        arr[(yy - y) ** 2 + (xx - 40) ** 2 < 25**2] = 15
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    out.info["dpi"] = (300, 300)
    return out


def test_blank_backs_are_kept_flagged_and_not_indexed_and_duplex_collates(
    tmp_path: Path, prefect_api: None
) -> None:
    from arhiva.indexing.sqlite import SqliteIndex
    from arhiva.schemas.search import SearchRequest

    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    src.mkdir()
    fronts = [page(71)[0], page(72)[0], page(73)[0]]
    backs = [_blank_back(74), page(75)[0], _blank_back(76)]  # the second sheet is printed on both sides
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
