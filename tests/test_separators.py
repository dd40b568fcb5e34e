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
