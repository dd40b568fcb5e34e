"""Orientation you can trust: sparse generated pages (a centred poem, a title page, a short list,
a single typed line) and real pages, in all four turns, come out upright, with the evidence
recorded; a page that reads at no orientation is left as scanned and marked doubtful, a blank one
is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from arhiva.archive.events import read_events
from arhiva.archive.package import iter_document_ids, load_pages, package_dir
from arhiva.cli import app
from arhiva.config import Settings
from arhiva.ocr.orient import orient
from arhiva.ocr.page import prepare
from arhiva.ocr.prepare import Geometry
from arhiva.samples.render import PageStyle, render_page
from arhiva.schemas.models import FileKind, PageRef, PreparedPage

from .inputs import scribbles

RESOURCES = Path(__file__).with_name("resources")

SPARSE = {
    # Eminescu, "Luceafărul" (1883): short centred lines, typewriter face, much white space.
    "poem": (
        PageStyle(size="a5", font="typewriter", font_pt=12, centred=True, top=0.25, spacing=2.0),
        [
            "A fost odată ca-n povești,",
            "A fost ca niciodată,",
            "Din rude mari împărătești,",
            "O prea frumoasă fată.",
            "",
            "Și era una la părinți",
            "Și mândră-n toate cele,",
            "Cum e Fecioara între sfinți",
            "Și luna între stele.",
        ],
    ),
    "title": (
        PageStyle(size="a5", font="serif", font_pt=18, centred=True, top=0.35, spacing=2.2),
        ["PRIMĂRIA SECTORULUI 4", "", "REGISTRU DE INTRARE", "Anul 1987", "Volumul al II-lea"],
    ),
    "list": (
        PageStyle(size="a5", font="typewriter", font_pt=11, top=0.15, spacing=2.0),
        [
            "Anexa nr. 2 la cererea de autorizare",
            "1. Cerere tip, completată și semnată",
            "2. Copie după actul de identitate",
            "3. Planul de situație al imobilului",
            "4. Dovada achitării taxei de timbru",
        ],
    ),
    "line": (
        PageStyle(size="a5", font="typewriter", font_pt=12, top=0.2),
        ["Dosarul a fost predat la arhiva primăriei la 12 martie 1984."],
    ),
}

REAL = ("fra_tapus_btv1b530484089.jpeg", "fra_tapus_btv1b10010116f_18.jpeg")  # see resources/README.md


def _prepare(image: Image.Image, folder: Path, languages: str) -> PreparedPage:
    src = folder / "src" / "scan.png"
    src.parent.mkdir(parents=True)
    image.save(src, format="PNG", dpi=image.info.get("dpi", (300, 300)))
    ref = PageRef(source="scan.png", source_sha256="0" * 64, index=0, kind=FileKind.image)
    return prepare(src.parent, ref, 1, folder / "work", Settings(languages=languages, workers=1))


def _turned(image: Image.Image, rotation: int) -> Image.Image:
    """The page turned `rotation` degrees clockwise, as a scanner fed it so would give it."""
    turn = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return image.transpose(turn[rotation]) if rotation else image


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("kind", sorted(SPARSE))
def test_sparse_pages_come_out_upright(kind: str, rotation: int, tmp_path: Path) -> None:
    style, lines = SPARSE[kind]
    img = render_page(
        lines, PageStyle(**{**style.__dict__, "rotation": rotation, "noise": 5, "seed": rotation})
    )
    page = _prepare(img, tmp_path, "ron")
    assert page.rotation == (360 - rotation) % 360, page.orientation
    assert page.orientation is not None and page.orientation.doubt == ""


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("name", REAL)
def test_real_pages_come_out_upright(name: str, rotation: int, tmp_path: Path) -> None:
    with Image.open(RESOURCES / name) as original:
        img = _turned(original.convert("RGB"), rotation)
        img.info["dpi"] = original.info.get("dpi", (300, 300))
    page = _prepare(img, tmp_path, "fra")
    assert page.rotation == (360 - rotation) % 360, page.orientation
    assert page.orientation is not None and page.orientation.doubt == ""


def test_a_page_that_reads_at_no_orientation_is_left_as_scanned_and_doubtful(tmp_path: Path) -> None:
    # Handwriting-like strokes in rows: ink everywhere, no orientation reads.
    page = _prepare(scribbles(0), tmp_path, "ron")
    assert page.rotation == 0
    assert page.orientation is not None and page.orientation.method == "as scanned"
    assert "no orientation reads clearly" in page.orientation.doubt
    assert len(page.orientation.votes) == 4


def test_a_blank_page_is_not_doubtful(tmp_path: Path) -> None:
    page = _prepare(Image.new("L", (1748, 2480), 245), tmp_path, "ron")
    assert page.rotation == 0 and page.orientation is not None
    assert (page.orientation.method, page.orientation.doubt, page.orientation.votes) == ("blank", "", ())


def _reader(readings: dict[int, tuple[float, int]], asked: list[int]):
    def read(rotation: int) -> tuple[float, int]:
        asked.append(rotation)
        return readings[rotation]

    return read


def test_the_decision_rule() -> None:
    """`orient` on given readings (the rule alone; the tests above read real samples)."""
    clear = Geometry(0, 1.0, lines_ratio=3.0, ascender_ratio=2.0, ink_points=9000)
    asked: list[int] = []
    assert orient(clear, _reader({}, asked)).orientation.method == "layout" and asked == []
    # An unclear turn that reads badly, against the page as scanned that reads well: not turned,
    # and deskewed for lines across the page (the cross skew).
    unclear = Geometry(90, 2.0, lines_ratio=1.1, ascender_ratio=1.05, ink_points=9000, cross_skew=-0.5)
    got = orient(unclear, _reader({90: (10.0, 500), 0: (80.0, 480)}, asked))
    assert (got.rotation, got.skew, got.orientation.method, asked) == (0, -0.5, "recognition", [90, 0])
    # Nothing that reads well is no decision: every turn is tried, then the page is left as it is.
    asked.clear()
    readings = {0: (45.0, 100), 180: (40.0, 100), 90: (30.0, 100), 270: (20.0, 100)}
    got = orient(
        Geometry(0, 0.0, lines_ratio=1.2, ascender_ratio=1.1, ink_points=9000), _reader(readings, asked)
    )
    assert got.rotation == 0 and asked == [0, 180, 90, 270]
    assert got.orientation.method == "as scanned" and "0° 45, 180° 40" in got.orientation.doubt
    blank = orient(Geometry(0, 0.0, ink_points=10), _reader({}, asked))
    assert blank.orientation.method == "blank" and not blank.orientation.doubt


def test_a_doubtful_page_is_on_the_qa_list_with_its_evidence_in_the_package(
    tmp_path: Path, prefect_api: None
) -> None:
    src = tmp_path / "lot" / "manuscris"
    src.mkdir(parents=True)
    scribbles(1).save(src / "pagina-1.png", dpi=(300, 300))
    archive = tmp_path / "arhiva"
    result = CliRunner().invoke(app, ["ingest", str(src.parent), "--archive", str(archive)])
    assert result.exit_code == 0, result.output
    assert (
        "doubtful orientation" in result.output
        and "orientation doubtful (no orientation reads" in result.output
    )
    (doc_id,) = iter_document_ids(archive)
    (record,) = load_pages(archive, doc_id)
    assert (
        record.rotation == 0 and record.orientation is not None and record.orientation.method == "as scanned"
    )
    ocred = [e for e in read_events(package_dir(archive, doc_id)) if e.event == "ocred"]
    assert "page 1 orientation doubtful: no orientation reads clearly" in ocred[0].detail
