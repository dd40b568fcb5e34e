"""A corpus of broken and hostile inputs, each with its expected outcome: a specific quarantine
reason, or a clean success. Never a traceback, never a hang. Intake is checked on all of them;
the ones that only fail when their pixels are decoded go through page preparation too."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from arhiva.config import Settings
from arhiva.errors import InputFileError, ManifestError, QuarantineReason, UsageError
from arhiva.ingest.discover import Planner
from arhiva.ingest.filetypes import Limits
from arhiva.ingest.manifest import read_manifest
from arhiva.ingest.names import batch_name
from arhiva.ingest.quarantine import quarantine
from arhiva.ocr.page import prepare
from arhiva.schemas.models import DocumentMetadata

from .inputs import corrupt_tiff, encrypted_pdf, image_pdf, page

Q = QuarantineReason
OK = None  # read cleanly


def _png(path: Path, img: Image.Image | None = None) -> None:
    (img or Image.new("L", (300, 400), 250)).save(path, format="PNG")


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _jpeg_truncated(path: Path) -> None:
    buf = io.BytesIO()
    page(1, size="a6")[0].save(buf, format="JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


def _tiff_16bit(path: Path) -> None:
    arr = (np.asarray(page(2, size="a6")[0]).astype(np.uint16) * 257).astype(np.uint16)
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    img.save(path, format="TIFF")


def _tiff_cmyk(path: Path) -> None:
    page(3, size="a6")[0].convert("CMYK").save(path, format="TIFF")


def _pdf_zero_pages(path: Path) -> None:
    pikepdf.new().save(path)


def _pdf_javascript(path: Path) -> None:
    image_pdf(page(4, size="a6")[0], path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        js = pdf.make_stream(b"app.alert('hello');")
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=js)
        pdf.save(path)


def _pdf_with_text(path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    pdf.pages[0].Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    pdf.pages[0].Contents = pdf.make_stream(b"BT /F1 24 Tf 30 300 Td (Primaria Sectorului 4) Tj ET")
    pdf.save(path)


def _bomb(path: Path) -> None:
    Image.new("1", (30_000, 30_000)).save(path, format="PNG", optimize=True)


def _gif(path: Path) -> None:
    Image.new("L", (50, 50)).save(path, format="GIF")


def _bmp(path: Path) -> None:
    Image.new("L", (50, 50)).save(path, format="BMP")


CORPUS: list[tuple[str, Callable[[Path], None], QuarantineReason | None]] = [
    ("gol.png", _bytes(b""), Q.empty_file),
    ("nota.txt", _bytes(b"Aceasta nu este o scanare."), Q.unsupported_type),
    ("raport.docx", _bytes(b"PK\x03\x04" + b"\x00" * 200), Q.unsupported_type),
    ("vechi.doc", _bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 200), Q.unsupported_type),
    ("pagina.html", _bytes(b"<html><body>nu</body></html>"), Q.unsupported_type),
    ("animatie.gif", _gif, Q.unsupported_type),
    ("imagine.bmp", _bmp, Q.unsupported_type),
    ("aleator.bin", _bytes(os.urandom(4096)), Q.unsupported_type),
    ("antet-tiff.tif", corrupt_tiff, Q.corrupt_image),
    ("gunoi.tif", _bytes(b"II*\x00" + os.urandom(100)), Q.corrupt_image),
    ("antet-png.png", _bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20), Q.corrupt_image),
    ("antet-jpeg.jpg", _bytes(b"\xff\xd8\xff" + b"\x00" * 20), Q.corrupt_image),
    ("un-pixel.png", lambda p: _png(p, Image.new("L", (1, 1))), Q.corrupt_image),
    ("bomba.png", _bomb, Q.image_too_large),
    ("criptat.pdf", encrypted_pdf, Q.encrypted_pdf),
    ("stricat.pdf", _bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage"), Q.corrupt_pdf),
    ("fara-pagini.pdf", _pdf_zero_pages, Q.empty_pdf),
    ("javascript.pdf", _pdf_javascript, OK),
    ("cu-text.pdf", _pdf_with_text, OK),
    ("16-biti.tif", _tiff_16bit, OK),
    ("cmyk.tif", _tiff_cmyk, OK),
    ("trunchiat.jpg", _jpeg_truncated, OK),  # header fine: found when decoded (below)
    ("șțăîâ ȘȚĂÎÂ diacritice și spații.png", _png, OK),
    (("n" * 200) + "-nume-foarte-lung.png", _png, OK),
]


@pytest.mark.parametrize(("name", "make", "expected"), CORPUS, ids=[c[0][:30] for c in CORPUS])
def test_intake_of_each_input(
    tmp_path: Path, name: str, make: Callable[[Path], None], expected: QuarantineReason | None
) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    make(src / name)
    plan = Planner(src, "lot").plan()
    if expected is None:
        assert plan.quarantined == ()
        assert next(p.source for d in plan.documents for p in d.pages) == name
    else:
        (record,) = plan.quarantined
        assert record.reason is expected and record.source == name and record.message
        reason_file = quarantine(tmp_path / "arhiva", src, record)  # the copy and reason can be written
        assert reason_file.is_file() and len(reason_file.name.encode()) <= 255


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("trunchiat.jpg", _jpeg_truncated, Q.corrupt_image),
        ("16-biti.tif", _tiff_16bit, None),
        ("cmyk.tif", _tiff_cmyk, None),
        ("javascript.pdf", _pdf_javascript, None),
        ("cu-text.pdf", _pdf_with_text, None),
    ],
)
def test_pages_that_open_are_prepared_or_refused_with_a_reason(
    tmp_path: Path, name: str, make: Callable[[Path], None], reason: QuarantineReason | None
) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    make(src / name)
    (doc,) = Planner(src, "lot").plan().documents
    if reason is None:
        prepared = prepare(src, doc.pages[0], 1, tmp_path / "work", Settings(workers=1))
        assert prepared.width > 16 and prepared.color_mode in ("1", "L", "RGB")
    else:
        with pytest.raises(InputFileError) as err:
            prepare(src, doc.pages[0], 1, tmp_path / "work", Settings(workers=1))
        assert err.value.reason is reason


def test_hard_links_and_duplicates(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    _png(src / "a" / "p1.png", page(5, size="a6")[0])
    os.link(src / "a" / "p1.png", src / "b" / "p1.png")  # the same scan twice
    plan = Planner(src, "lot").plan()
    assert len(plan.documents) == 1 and any("same pages as" in i for i in plan.ignored)


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("file,titlu\na.png,X\n", "unknown column 'titlu'"),
        ("file,issue_date\na.png,31.02.2024\n", "row 2, field 'issue_date'"),
        ("file,access_level\na.png,secret\n", "row 2, field 'access_level'"),
        ('file,title\na.png,=HYPERLINK("http://x")\n', "row 2, field 'title': Value error, starts with '='"),
        ("file,issuer\na.png,@SUM(A1)\n", "row 2, field 'issuer'"),
        ("file,title\na.png,-cmd|calc\n", "row 2, field 'title'"),
        ("file,title\na.png,ti\x00tlu\n", "row 2, field 'title': Value error, contains control characters"),
    ],
)
def test_bad_manifests_are_named_by_row_and_field(tmp_path: Path, csv: str, message: str) -> None:
    (tmp_path / "manifest.csv").write_text(csv, encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        read_manifest(tmp_path / "manifest.csv")
    assert message in str(err.value)


def test_numbers_with_signs_are_not_formulas(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("file,registration_number\na.png,-12/2024\n", encoding="utf-8")
    (entry,) = read_manifest(tmp_path / "manifest.csv")
    assert entry.document.registration_number == "-12/2024"


def test_names_that_are_not_utf8_are_quarantined_escaped_with_their_bytes(tmp_path: Path) -> None:
    # Latin-1 names from an old scanner or a copied disk: 'ré' as one byte, in a file and a folder.
    src = tmp_path / "lot"
    (src / "bun").mkdir(parents=True)
    _png(src / "bun" / "p1.png", page(6, size="a6")[0])
    bad_dir = os.fsdecode(b"dosar-\xe9")
    (src / bad_dir).mkdir()
    _png(src / bad_dir / "p.png")
    _png(src / "bun" / os.fsdecode(b"r\xe9u.png"))
    plan = Planner(src, "lot").plan()
    assert [d.name for d in plan.documents] == ["bun"]
    records = {r.source: r for r in plan.quarantined}
    assert set(records) == {"bun/r\\xe9u.png", "dosar-\\xe9/p.png"}
    plan.model_dump_json()  # the plan goes over the wire to Prefect: it must be JSON
    for record in records.values():
        assert record.reason is Q.bad_name and "not UTF-8" in record.message
        original = src / os.fsdecode(bytes.fromhex(record.source_bytes or ""))
        reason_file = quarantine(tmp_path / "arhiva", src, record)
        copy = reason_file.with_name(reason_file.name.removesuffix(".quarantine.json"))
        assert copy.read_bytes() == original.read_bytes()  # copied, not moved
        assert original.exists()


def test_names_with_control_characters_are_quarantined_escaped(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    (src / "dosar\x07sunet").mkdir(parents=True)
    _png(src / "dosar\x07sunet" / "p1.png", page(7, size="a6")[0])
    _png(src / "rand\nnou.png", page(8, size="a6")[0])
    _png(src / "\x1b[31mrosu.png", page(9, size="a6")[0])
    plan = Planner(src, "lot").plan()
    assert plan.documents == ()
    records = {r.source: r for r in plan.quarantined}
    assert set(records) == {"dosar\\x07sunet/p1.png", "rand\\x0anou.png", "\\x1b[31mrosu.png"}
    for record in records.values():
        assert record.reason is Q.bad_name and "control characters" in record.message
        reason_file = quarantine(tmp_path / "arhiva", src, record)
        copy = reason_file.with_name(reason_file.name.removesuffix(".quarantine.json"))
        assert copy.read_bytes() == (src / os.fsdecode(bytes.fromhex(record.source_bytes or ""))).read_bytes()


@pytest.mark.parametrize(
    ("folder", "title"),
    [("=HYPERLINK(1)", "HYPERLINK(1)"), ("@SUM", "SUM"), ("-+=dosar", "dosar"), ("-12 martie", "-12 martie")],
)
def test_titles_from_names_lose_formula_prefixes(tmp_path: Path, folder: str, title: str) -> None:
    src = tmp_path / "lot"
    (src / folder).mkdir(parents=True)
    _png(src / folder / "p1.png", page(10, size="a6")[0])
    (doc,) = Planner(src, "lot").plan().documents
    assert doc.name == folder and doc.sheet.title == title
    DocumentMetadata.model_validate_json(doc.sheet.model_dump_json())  # the sheet validates as archived


def test_a_name_that_leaves_no_title_takes_the_batch_name(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    _png(src / "=.png", page(11, size="a6")[0])
    (doc,) = Planner(src, "lot-3").plan().documents
    assert doc.sheet.title == "lot-3"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("lot\x07", "holds control characters"),
        ("=cmd", "starts with '='"),
        ("../alt", "not a path"),
        ("", "is empty"),
        ("x" * 201, "longer than 200"),
    ],
)
def test_operator_labels_are_checked(given: str, problem: str) -> None:
    with pytest.raises(UsageError) as err:
        batch_name(given, "lot")
    assert problem in str(err.value) and "--batch" in str(err.value)


def test_batch_names_from_folders_are_made_safe() -> None:
    assert batch_name(None, "lot 2026-11") == "lot 2026-11"
    assert batch_name(None, "=lot\x07") == "lot\\x07"
    assert batch_name(None, os.fsdecode(b"lot-\xe9")) == "lot-\\xe9"
    assert batch_name(None, "===") == "batch"


def _blank_pdf(path: Path, pages: int, size: tuple[float, float] = (300, 400)) -> None:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=size)
    pdf.save(path)


def test_limits_at_discovery_pixels_pages_and_frames(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    _blank_pdf(src / "uriaș.pdf", 1, (14_400, 14_400))  # 200 × 200 inches: 60,000² pixels at 300 dpi
    _blank_pdf(src / "multe.pdf", 6)
    Image.new("L", (40, 40)).save(
        src / "cadre.tif", save_all=True, append_images=[Image.new("L", (40, 40))] * 5
    )
    Image.new("L", (40, 40)).save(  # a small first frame, and a huge one behind it
        src / "ascuns.tif", save_all=True, append_images=[Image.new("1", (12_000, 12_000))]
    )
    Image.new("1", (10_000, 10_000)).save(src / "mare.png", optimize=True)  # 100 Mpx, under the setting
    plan = Planner(src, "lot", limits=Limits(max_pixels=120_000_000, max_pages=5, pdf_dpi=300)).plan()
    got = {r.source: (r.reason, r.message) for r in plan.quarantined}
    assert got["uriaș.pdf"][0] is Q.image_too_large
    assert "page 1, rendered at 300 dpi, would be 60,000×60,000" in got["uriaș.pdf"][1]
    assert got["multe.pdf"] == (
        Q.too_many_pages,
        "the file has 6 pages, above the limit of 5 (ARHIVA_MAX_FILE_PAGES); split it, or raise the limit",
    )
    assert got["cadre.tif"][0] is Q.too_many_pages and "6 frames" in got["cadre.tif"][1]
    assert got["ascuns.tif"][0] is Q.image_too_large and "frame 2 has 12,000×12,000" in got["ascuns.tif"][1]
    assert [d.name for d in plan.documents] == ["."] and plan.documents[0].sources[0].path == "mare.png"
    # The same PDF page is fine where it renders smaller, and the defaults come from the settings.
    settings = Settings()
    assert (settings.max_image_pixels, settings.max_file_pages) == (200_000_000, 2_000)
    assert Planner(src, "lot", limits=Limits(max_pixels=120_000_000, pdf_dpi=50)).plan().documents


def test_owner_password_pdfs_are_read_and_their_restrictions_noted(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    image_pdf(page(12, size="a6")[0], src / "restrictii.pdf")
    with pikepdf.open(src / "restrictii.pdf", allow_overwriting_input=True) as pdf:
        no_copy = pikepdf.Permissions(extract=False, print_highres=False, print_lowres=False)
        pdf.save(
            src / "restrictii.pdf", encryption=pikepdf.Encryption(owner="secret", user="", R=4, allow=no_copy)
        )
    (doc,) = Planner(src, "lot").plan().documents
    (note,) = doc.notes
    assert note.startswith("restrictii.pdf: an owner password (encryption R4, 128-bit) restricts printing")
    assert "copying text and images" in note
    prepared = prepare(src, doc.pages[0], 1, tmp_path / "work", Settings(workers=1))
    assert prepared.width > 16


def test_hard_links_out_of_the_batch_are_set_aside_unread(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    secret = tmp_path / "altundeva" / "dosar-personal.png"
    secret.parent.mkdir()
    _png(secret, page(13, size="a6")[0])
    os.link(secret, src / "copie.png")
    _png(src / "p1.png", page(14, size="a6")[0])
    plan = Planner(src, "lot").plan()
    (record,) = plan.quarantined
    assert record.reason is Q.link_outside_source and record.source == "copie.png"
    assert "file with 1 more name outside the batch folder" in record.message and record.sha256 is None
    reason_file = quarantine(tmp_path / "arhiva", src, record)
    assert reason_file.is_file() and not reason_file.with_name("copie.png").exists()
    assert [s.path for d in plan.documents for s in d.sources] == ["p1.png"]
