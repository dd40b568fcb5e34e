"""One batch holding every hostile input issue 16 found, and good documents beside them: the
ingest exits 3, the good documents are archived and indexed, each bad file is set aside with its
reason, and afterwards reindex, show, verify and a second ingest of the same batch are clean."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pikepdf
from PIL import Image
from typer.testing import CliRunner

from arhiva.archive.events import read_events
from arhiva.archive.package import iter_document_ids, load_document, package_dir
from arhiva.cli import app
from arhiva.errors import QuarantineReason as Q
from arhiva.indexing.sqlite import SqliteIndex

from .inputs import corrupt_tiff, encrypted_pdf, image_pdf, page, save_png


def _cli(*args: str) -> tuple[int, str]:
    env = {"COLUMNS": "400", "ARHIVA_WORKERS": "2", "ARHIVA_MAX_FILE_PAGES": "20"}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _hostile_batch(root: Path, outside: Path) -> dict[str, Q]:
    """Write the batch; returns the quarantine reason expected for each bad file."""
    save_png(page(41)[0], root / "bun" / "p1.png")
    save_png(page(42)[0], root / "=HYPERLINK(1)" / "p1.png")  # archived, its title made safe
    image_pdf(page(43)[0], root / "restrictii.pdf")
    with pikepdf.open(root / "restrictii.pdf", allow_overwriting_input=True) as pdf:  # owner password only
        pdf.save(root / "restrictii.pdf", encryption=pikepdf.Encryption(owner="x", user="", R=4))
    for dossier, own in (("dosar-a", 44), ("dosar-b", 45)):  # the same annex filed in both
        save_png(page(own)[0], root / dossier / "p1.png")
        save_png(page(46)[0], root / dossier / "p2.png")

    (root / "sunet\x07").mkdir()
    save_png(page(47)[0], root / "sunet\x07" / "p1.png")
    save_png(page(48)[0], root / os.fsdecode(b"r\xe9u.png"))
    for folder, manifest, body in (
        ("csv-lung", "manifest.csv", "file,title\np.png," + "x" * 200_000 + "\n"),
        ("json-adanc", "manifest.json", "[" * 100_000 + "]" * 100_000),
        (
            "json-numar",
            "manifest.json",
            '{"documents": [{"files": ["p.png"], "retention": ' + "9" * 5000 + "}]}",
        ),
    ):
        save_png(page(49)[0], root / folder / "p.png")
        (root / folder / manifest).write_text(body, encoding="utf-8")
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(14_400, 14_400))
    pdf.save(root / "uriaș.pdf")
    pdf = pikepdf.new()
    for _ in range(21):
        pdf.add_blank_page(page_size=(300, 400))
    pdf.save(root / "prea-multe.pdf")
    Image.new("L", (40, 40)).save(
        root / "cadre.tif", save_all=True, append_images=[Image.new("L", (40, 40))] * 20
    )
    encrypted_pdf(root / "criptat.pdf")
    corrupt_tiff(root / "stricat.tif")
    (root / "gol.png").write_bytes(b"")
    save_png(page(50)[0], outside / "personal.png")
    os.link(outside / "personal.png", root / "legat.png")
    (root / "simbolic.png").symlink_to(outside / "personal.png")
    return {
        "sunet\\x07/p1.png": Q.bad_name,
        "r\\xe9u.png": Q.bad_name,
        "csv-lung/manifest.csv": Q.bad_manifest,
        "json-adanc/manifest.json": Q.bad_manifest,
        "json-numar/manifest.json": Q.bad_manifest,
        "uriaș.pdf": Q.image_too_large,
        "prea-multe.pdf": Q.too_many_pages,
        "cadre.tif": Q.too_many_pages,
        "criptat.pdf": Q.encrypted_pdf,
        "stricat.tif": Q.corrupt_image,
        "gol.png": Q.empty_file,
        "legat.png": Q.link_outside_source,
        "simbolic.png": Q.symlink_outside_source,
    }


def test_a_batch_of_every_hostile_input(tmp_path: Path, prefect_api: None) -> None:
    src, archive, outside = tmp_path / "lot", tmp_path / "arhiva", tmp_path / "altundeva"
    src.mkdir()
    outside.mkdir()
    expected = _hostile_batch(src, outside)

    code, out = _cli("ingest", str(src), "--archive", str(archive), "--access", "public")
    assert code == 3, out
    assert "Traceback" not in out
    records = {}
    for reason_file in (archive / "quarantine" / "lot").rglob("*.quarantine.json"):
        record = json.loads(reason_file.read_text(encoding="utf-8"))
        records[record["source"]] = Q(record["reason"])
    assert records == expected

    docs = {load_document(archive, d).name: load_document(archive, d) for d in iter_document_ids(archive)}
    assert sorted(docs) == ["=HYPERLINK(1)", "bun", "dosar-a", "dosar-b", "restrictii.pdf"]
    assert docs["=HYPERLINK(1)"].title == "HYPERLINK(1)"
    ingested = read_events(package_dir(archive, docs["restrictii.pdf"].document_id))[0]
    assert "an owner password (encryption R4, 128-bit)" in ingested.detail
    index = SqliteIndex.in_archive(archive)
    assert sorted(index.document_ids()) == sorted(d.document_id for d in docs.values())
    index.close()

    code, out = _cli("reindex", "--archive", str(archive))
    assert code == 0 and "Reindexed 5 documents" in out, out
    for doc in docs.values():
        code, out = _cli("show", doc.document_id[:10], "--archive", str(archive))
        assert code == 0, out
    code, out = _cli("verify", "--archive", str(archive))
    assert code == 0 and "0 problems" in out, out
    code, out = _cli("ingest", str(src), "--archive", str(archive), "--access", "public")
    assert code == 3 and "5 already archived" in " ".join(out.split()) and "Traceback" not in out, out
    assert len(list(iter_document_ids(archive))) == 5
