"""The archive a batch makes stays the same across refactoring: the record sheets, the OCR
record, the text layer and the page images of a small generated batch are compared with what
the code wrote before (tests/golden/same_output.json, made with the code of commit deaddf0, before
the structure change of issue 14; regenerated since when the XMP extension schema took its
descriptions of the record-sheet properties from the fields' own descriptions, and when the
OCR engine's record came to name its language models and each page's record its engine and text
regions: no text, text layer or image changed).

Everything that changes from run to run is left out: the archiving time, the XMP dates and the
PDF file's own checksum (it holds those dates). When a change is meant to alter what an
ingest writes, regenerate the record and say so in the commit:

    .venv/bin/python -m tests.test_same_output
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pikepdf
from typer.testing import CliRunner

from arhiva.archive.package import iter_document_ids, package_dir
from arhiva.cli import app
from arhiva.samples.batch import BatchOptions, write_batch
from arhiva.samples.render import PageStyle, layout, render_page
from arhiva.samples.texts import sample_document

GOLDEN = Path(__file__).with_name("golden") / "same_output.json"
_VARYING_XMP = {"CreateDate", "ModifyDate", "MetadataDate"}


def make_batch(src: Path) -> None:
    """Grey pages (folders, a multi-page TIFF, a manifest with a record sheet), bitonal G4
    pages and an image-only PDF."""
    write_batch(src / "gri", BatchOptions(documents=4, max_pages=2, size="a5", seed=11))
    write_batch(src / "alb-negru", BatchOptions(documents=2, max_pages=1, size="a6", seed=12, bitonal=True))
    style = PageStyle(size="a6", skew=3.0, noise=5, seed=13)
    scan = render_page(layout(sample_document(13).paragraphs, style)[0], style)
    (src / "pdf").mkdir(parents=True)
    when = dt.datetime(2026, 11, 22, 9, 30).timetuple()  # Pillow would write the time of the run
    scan.save(src / "pdf" / "lot.pdf", format="PDF", resolution=300, creationDate=when, modDate=when)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _xmp(pdf: pikepdf.Pdf) -> list[list[str]]:
    """Every XMP element with text, as (tag, text), sorted; the dates left out."""
    root = ElementTree.fromstring(pdf.Root.Metadata.read_bytes())
    out = []
    for el in root.iter():
        local = el.tag.rpartition("}")[2]
        if el.text and el.text.strip() and local not in _VARYING_XMP:
            out.append([el.tag, el.text.strip()])
    return sorted(out)


def _pages(pdf: pikepdf.Pdf) -> list[dict[str, Any]]:
    """Per page: its content stream, and the raw data of every XObject it draws (the scan
    image and Tesseract's text layer). pikepdf names the text layer's XObject at random: the
    name is replaced by /TextLayer."""
    pages = []
    for page in pdf.pages:
        xobjects = dict(page.obj.Resources.get("/XObject", {}).items())
        contents = page.obj.Contents.read_bytes()
        named = {}
        for name, xobject in xobjects.items():
            if name != "/Im0":
                contents = contents.replace(name.encode(), b"/TextLayer")
                name = "/TextLayer"
            named[name] = _sha(xobject.read_raw_bytes())
        pages.append({"contents": _sha(contents), "xobjects": named})
    return pages


def fingerprint(archive: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc_id in iter_document_ids(archive):
        pkg = package_dir(archive, doc_id)
        meta = json.loads((pkg / "metadata.json").read_bytes())
        meta.pop("archived_at")
        meta["files"] = [f for f in meta["files"] if f["name"] != "document.pdf"]
        with pikepdf.open(pkg / "document.pdf") as pdf:
            out[doc_id] = {
                "metadata": meta,
                "ocr.json": _sha((pkg / "ocr.json").read_bytes()),
                "xmp": _xmp(pdf),
                "pages": _pages(pdf),
            }
    return out


def ingest(root: Path) -> dict[str, Any]:
    src, archive = root / "lot-golden", root / "archive"
    make_batch(src)
    result = CliRunner().invoke(
        app, ["ingest", str(src), "--archive", str(archive), "--collection", "urbanism", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    return fingerprint(archive)


def test_same_archive_as_before(tmp_path: Path, prefect_api: None) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = ingest(tmp_path)
    assert sorted(got) == sorted(expected), "other documents than before"
    for doc_id, want in expected.items():
        for part in ("metadata", "ocr.json", "xmp", "pages"):
            assert got[doc_id][part] == want[part], f"{doc_id}: {part} differs"


if __name__ == "__main__":  # python -m tests.test_same_output [ROOT]: rewrite the golden record
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record = ingest(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"{GOLDEN}: {len(record)} documents")
