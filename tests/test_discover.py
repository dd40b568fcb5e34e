"""Intake: what is read, what is ignored, how pages become documents, what goes to quarantine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from arhiva.errors import QuarantineReason
from arhiva.ingest.discover import Planner, natural_key
from arhiva.ingest.filetypes import Limits
from arhiva.schemas.models import FileKind

from .inputs import corrupt_tiff, encrypted_pdf, image_pdf


def _img(path: Path, size: tuple[int, int] = (200, 300), frames: int = 1, colour: int = 255) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    imgs = [Image.new("L", size, colour - i) for i in range(frames)]
    fmt = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF"}[path.suffix]
    if frames > 1:
        imgs[0].save(path, format=fmt, save_all=True, append_images=imgs[1:])
    else:
        imgs[0].save(path, format=fmt)
    return path


def test_natural_order() -> None:
    names = ["page10.png", "page2.png", "Page1.png", "page2b.png"]
    assert sorted(names, key=natural_key) == ["Page1.png", "page2.png", "page2b.png", "page10.png"]


def test_grouping_litter_and_ids(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    for n in (10, 2, 1):
        _img(src / "dosar" / f"page{n}.png", colour=250 - n)
    _img(src / "dosar" / "anexa.tif", frames=3)
    _img(src / "nested" / "deep" / "scan.jpg")
    for litter in ("Thumbs.db", ".DS_Store", "._page1.png", "desktop.ini"):
        (src / "dosar" / litter).write_bytes(b"x")
    (src / ".hidden").mkdir()
    _img(src / ".hidden" / "skip.png")
    (src / "dosar" / "page1.gt.txt").write_text("ground truth")

    plan = Planner(src, "lot").plan()
    by_name = {d.name: d for d in plan.documents}
    assert set(by_name) == {"dosar", "dosar/anexa.tif", "nested/deep"}
    assert [p.source for p in by_name["dosar"].pages] == [
        "dosar/page1.png",
        "dosar/page2.png",
        "dosar/page10.png",
    ]
    tif = by_name["dosar/anexa.tif"]
    assert [p.index for p in tif.pages] == [0, 1, 2] and tif.pages[0].kind is FileKind.multipage_image
    assert plan.quarantined == ()
    assert (
        "dosar/Thumbs.db" in plan.ignored
        and ".hidden/" in plan.ignored
        and "dosar/page1.gt.txt" in plan.ignored
    )
    # Ids come from content only: the same pages elsewhere, under other names, give the same id.
    again = Planner(src, "other-name", collection="urbanism").plan()
    assert {d.document_id for d in again.documents} == {d.document_id for d in plan.documents}
    (src / "dosar" / "page2.png").write_bytes((src / "dosar" / "page10.png").read_bytes())
    changed = {d.name: d.document_id for d in Planner(src, "lot").plan().documents}
    assert changed["dosar"] != by_name["dosar"].document_id
    assert changed["nested/deep"] == by_name["nested/deep"].document_id


def test_bad_files_are_quarantined_with_reasons(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    _img(src / "good.png")
    corrupt_tiff(src / "stricat.tif")
    (src / "gol.png").write_bytes(b"")
    (src / "note.txt").write_text("Bună ziua, aceasta nu este o scanare.")
    (src / "raport.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    encrypted_pdf(src / "secret.pdf")
    (src / "rupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    _img(src / "mic.png", size=(1, 1))
    image_pdf(Image.new("L", (300, 400), 255), src / "scan.pdf")

    plan = Planner(src, "lot").plan()
    reasons = {q.source: q.reason for q in plan.quarantined}
    assert reasons == {
        "stricat.tif": QuarantineReason.corrupt_image,
        "gol.png": QuarantineReason.empty_file,
        "note.txt": QuarantineReason.unsupported_type,
        "raport.docx": QuarantineReason.unsupported_type,
        "secret.pdf": QuarantineReason.encrypted_pdf,
        "rupt.pdf": QuarantineReason.corrupt_pdf,
        "mic.png": QuarantineReason.corrupt_image,
    }
    messages = {q.source: q.message for q in plan.quarantined}
    assert "looks like text" in messages["note.txt"]
    assert "ZIP archive or Office document" in messages["raport.docx"]
    assert "0 bytes" in messages["gol.png"]
    assert {d.name for d in plan.documents} == {".", "scan.pdf"}


def test_symlinks_never_lead_out_of_the_source(tmp_path: Path) -> None:
    outside = _img(tmp_path / "elsewhere" / "private.png")
    src = tmp_path / "lot"
    inside = _img(src / "a" / "p1.png")
    os.symlink(outside, src / "a" / "p2.png")
    os.symlink(outside.parent, src / "linked-dir")
    os.symlink(inside, src / "a" / "p3.png")  # inside the batch: allowed
    plan = Planner(src, "lot").plan()
    reasons = {q.source: q.reason for q in plan.quarantined}
    assert reasons == {
        "a/p2.png": QuarantineReason.symlink_outside_source,
        "linked-dir": QuarantineReason.symlink_outside_source,
    }
    assert [p.source for d in plan.documents for p in d.pages] == ["a/p1.png", "a/p3.png"]


def test_manifest_maps_files_and_metadata(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    for n in (1, 2, 3):
        _img(src / f"p{n}.png", colour=240 + n)
    (src / "manifest.csv").write_text(
        "file,document,title,access_level\np2.png,A,Dispoziție 7,public\np1.png,A,,\n", encoding="utf-8"
    )
    plan = Planner(src, "lot", collection="asistenta").plan()
    docs = {d.metadata.title: d for d in plan.documents}
    assert [p.source for p in docs["Dispoziție 7"].pages] == ["p2.png", "p1.png"]  # manifest order
    assert docs["Dispoziție 7"].access_level == "public"
    rest = docs["lot"]  # p3 is not in the manifest: the folder rule applies to it
    assert [p.source for p in rest.pages] == ["p3.png"] and rest.access_level == "restricted"


def test_bad_manifest_holds_back_its_folder(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    _img(src / "f" / "p1.png")
    (src / "f" / "manifest.csv").write_text("file,issue_date\np1.png,2024-02-30\n")
    _img(src / "other" / "p1.png", colour=10)
    plan = Planner(src, "lot").plan()
    (q,) = plan.quarantined
    assert q.source == "f/manifest.csv" and q.reason is QuarantineReason.bad_manifest
    assert "row 2, field 'issue_date'" in q.message
    assert [d.name for d in plan.documents] == ["other"]
    assert plan.held_back == ("f/p1.png: f/manifest.csv is invalid",)


def test_manifest_naming_a_missing_file(tmp_path: Path) -> None:
    src = tmp_path / "lot"
    _img(src / "p1.png")
    (src / "manifest.json").write_text('{"documents": [{"files": ["p1.png", "p9.png"], "title": "X"}]}')
    (q,) = Planner(src, "lot").plan().quarantined
    assert "document 1, field 'file': 'p9.png' does not exist" in q.message


@pytest.mark.parametrize("pixels", [20_000 * 20_000])
def test_decompression_bomb_is_refused(tmp_path: Path, pixels: int) -> None:
    src = tmp_path / "lot"
    src.mkdir()
    # A tiny PNG file that claims a huge size: only its header is read.
    Image.new("1", (20_000, 20_000)).save(src / "bomb.png", optimize=True)
    (q,) = Planner(src, "lot", limits=Limits(max_pixels=100_000_000)).plan().quarantined
    assert q.reason is QuarantineReason.image_too_large


def test_natural_order_takes_any_digits() -> None:
    names = ["p10.png", "p2.png", "p¹.png", "p٣.png"]  # a superscript one; Arabic-Indic three
    assert sorted(names, key=natural_key) == ["p2.png", "p٣.png", "p10.png", "p¹.png"]
