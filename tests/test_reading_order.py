"""Reading order: pages set in columns come out column by column, section by section, in the
text the index gets and in the PDF's text layer, with word boxes in page coordinates."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arhiva.config import Settings
from arhiva.ocr.layout import text_regions
from arhiva.ocr.page import prepare, recognise
from arhiva.samples.render import PageStyle, Section, render_columns, render_page
from arhiva.samples.texts import _ARTICLES, sample_document
from arhiva.schemas.models import FileKind, PageRef

from .conftest import REPO, cer, pdf_page_text
from .inputs import page

MAX_CER = 0.02  # generated pages, read in order: Tesseract's slips only
GAZETTE = REPO.parent / "shared" / "realscans" / "ron_monitorul_1992_233_p4"


def sections(seed: int) -> list[Section]:
    """A decision's heading and preamble, then chapters of articles under full-width headings."""
    r = random.Random(seed)
    doc = sample_document(seed, articles=4)
    chapters = [
        Section(
            f"CAPITOLUL {roman}. DISPOZIȚII {word}",
            tuple(f"Art. {n}. {r.choice(_ARTICLES)}" for n in range(1, 5)),
        )
        for roman, word in (("II", "TRANZITORII"), ("III", "FINALE"))
    ]
    return [Section(doc.paragraphs[2], doc.paragraphs[3:]), *chapters]


def columns_page(columns: int, *, rules: bool = False, skew: float = 0.0) -> tuple[Image.Image, str]:
    style = PageStyle(size="a4", font_pt=9, spacing=1.3, noise=4, blur=0.4, seed=columns, skew=skew)
    return render_columns(sections(columns), style, columns=columns, rules=rules)


def read(img: Image.Image, tmp: Path, languages: str = "ron"):
    src = tmp / "src" / "scan.png"
    src.parent.mkdir(parents=True, exist_ok=True)
    img.save(src, dpi=(300, 300))
    ref = PageRef(source="scan.png", source_sha256="0" * 64, index=0, kind=FileKind.image)
    settings = Settings(workers=1, languages=languages)
    prepared = prepare(src.parent, ref, 1, tmp / "work", settings)
    return prepared, recognise(prepared, settings)


@pytest.mark.parametrize(
    ("columns", "rules", "skew"),
    [(2, False, 0.0), (3, True, -1.5)],
    ids=["two columns", "three columns, rules, skewed"],
)
def test_columns_are_read_in_order_in_the_index_text_and_the_pdf(
    tmp_path: Path, columns: int, rules: bool, skew: float
) -> None:
    img, truth = columns_page(columns, rules=rules, skew=skew)
    prepared, ocred = read(img, tmp_path)
    # Three sections, each its heading across the page, then one region per column.
    assert len(prepared.regions) == 3 * (1 + columns)
    assert cer(ocred.text, truth) <= MAX_CER, ocred.text
    # The page's record says what read it: the engine, and the model's version and checksum.
    assert re.fullmatch(r"Tesseract 5\.\d+\.\d+; ron 4\.\S+ sha256:[0-9a-f]{12}", ocred.engine), ocred.engine
    assert cer(pdf_page_text(Path(ocred.page_pdf), 1), truth) <= MAX_CER
    # Boxes are in the page's coordinates: the last column's words lie in its right part.
    last_line = truth.splitlines()[-1].split()
    found = [w for w in ocred.words if w.text == last_line[-1]]
    assert found and found[-1].box[0] > img.width * (columns - 1) / columns - 50, found


def test_plain_tesseract_reads_such_a_page_down_each_column_through_the_sections(tmp_path: Path) -> None:
    # The failure this reading order exists for: without regions, Tesseract follows a column
    # through every section before the next column (the test fails if that ever stops being so,
    # and the regions are no longer needed).
    img, truth = columns_page(3)
    from arhiva.ocr.tesseract import ocr_page

    src = tmp_path / "scan.png"
    img.save(src, dpi=(300, 300))
    assert cer(ocr_page(src, tmp_path / "whole", languages="ron", dpi=300).text, truth) > 0.2


def test_pages_without_columns_are_read_whole() -> None:
    single, _ = page(seed=5, size="a4", noise=4)
    assert text_regions(np.asarray(single), 300) == ()
    # A table of short cells is not columns of prose: its rows are read across, as Tesseract does.
    r = random.Random(1)
    rows = [
        f"{n:>3}   {r.choice(['cerere', 'aviz', 'autorizație'])}   {r.randint(1, 999)}/{r.randint(1990, 2024)}"
        f"   {r.choice(['Popescu', 'Ionescu', 'Șerban'])}"
        for n in range(1, 30)
    ]
    table = render_page(rows, PageStyle(size="a4", font="typewriter", font_pt=11, noise=4))
    assert text_regions(np.asarray(table), 300) == ()


@pytest.mark.skipif(not GAZETTE.with_suffix(".tif").exists(), reason="../shared/realscans is not here")
def test_a_real_two_column_gazette_page_is_read_column_by_column(tmp_path: Path) -> None:
    with Image.open(GAZETTE.with_suffix(".tif")) as scan:
        scan.load()
        prepared, ocred = read(scan, tmp_path)
    assert len(prepared.regions) == 3  # the running head, then the two columns
    truth = GAZETTE.with_suffix(".txt").read_text(encoding="utf-8")
    assert cer(ocred.text, truth) <= 0.02
