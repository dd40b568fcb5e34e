"""Against the real Elasticsearch node: ingest generated batches, then search them through the
CLI as an operator would, checking every answer against the archive's own OCR text."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arhiva.archive.package import iter_document_ids, load_document, load_pages
from arhiva.cli import app
from arhiva.indexing.elastic import SCHEMA_VERSION
from arhiva.indexing.folding import fold
from arhiva.indexing.open import open_index
from arhiva.samples.batch import BatchOptions, write_batch

pytestmark = pytest.mark.es


@dataclass
class Setup:
    archive: Path
    index: str
    batches: list[Path]
    pages: dict[str, dict[int, str]]  # document id -> page number -> text
    docs: dict[str, dict]  # document id -> metadata.json


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _ingest(s: Setup, batch: Path, collection: str) -> None:
    code, out = _cli(
        "ingest", str(batch), "--archive", str(s.archive), "--collection", collection, "--index", s.index
    )
    assert code == 0, out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, es_url: str, prefect_api: None) -> Setup:
    root = tmp_path_factory.mktemp("es-e2e")
    s = Setup(root / "arhiva", f"{es_url}/e2e-{uuid.uuid4().hex[:10]}", [], {}, {})
    for n, collection in enumerate(("urbanism", "asistenta"), start=1):
        batch = root / f"lot-{n}"
        write_batch(batch, BatchOptions(documents=2, max_pages=2, size="a5", seed=40 + n, rotate=False))
        _ingest(s, batch, collection)
        s.batches.append(batch)
    for doc_id in iter_document_ids(s.archive):
        s.docs[doc_id] = load_document(s.archive, doc_id).model_dump(mode="json")
        s.pages[doc_id] = {p.number: p.text for p in load_pages(s.archive, doc_id)}
    return s


def _search(s: Setup, query: str, *options: str) -> dict:
    code, out = _cli(
        "search", query, "--archive", str(s.archive), "--index", s.index, "--json", "--limit", "50", *options
    )
    assert code == 0, out
    return json.loads(out)


def _expected(s: Setup, phrase: str) -> dict[str, list[int]]:
    """Where a phrase is, by reading the archive: folded, case-insensitive, whole words."""
    pattern = re.compile(r"\b" + r"\W+".join(map(re.escape, fold(phrase).lower().split())) + r"\b")
    out: dict[str, list[int]] = {}
    for doc_id, pages in s.pages.items():
        hits = [n for n, text in sorted(pages.items()) if pattern.search(fold(text).lower())]
        if hits:
            out[doc_id] = hits
    return out


@pytest.mark.parametrize(
    "query",
    [
        '"autorizarea executarii lucrarilor"',  # a phrase typed without diacritics
        "construcţii",  # the old cedilla spelling
        '"sectorul 4 bucuresti"',  # across punctuation
        "TERITORIULUI",  # case
    ],
)
def test_search_matches_the_archive(setup: Setup, query: str) -> None:
    expected = _expected(setup, query.strip('"'))
    assert expected, f"the generated batches should contain {query}"
    result = _search(setup, query)
    assert {h["document_id"]: h["pages"] for h in result["hits"]} == expected
    assert result["total_documents"] == len(expected)
    first_word = fold(query.strip('"').split()[0]).lower()
    for hit in result["hits"]:
        marked = re.findall(r"\[([^\]]+)\]", hit["snippet"])
        assert marked and any(fold(m).lower().startswith(first_word) for m in marked), hit["snippet"]


def test_filters_and_facets(setup: Setup) -> None:
    query = "teritoriului"
    expected = _expected(setup, query)
    assert expected
    result = _search(setup, query)
    facets = {name: {c["value"]: c["count"] for c in counts} for name, counts in result["facets"].items()}
    by_collection: dict[str, int] = {}
    by_access: dict[str, int] = {}
    for doc_id in expected:
        by_collection[setup.docs[doc_id]["collection"]] = (
            by_collection.get(setup.docs[doc_id]["collection"], 0) + 1
        )
        by_access[setup.docs[doc_id]["access_level"]] = (
            by_access.get(setup.docs[doc_id]["access_level"], 0) + 1
        )
    assert facets["collection"] == by_collection
    assert facets["access_level"] == by_access

    only = _search(setup, query, "--collection", "asistenta")
    assert {h["document_id"] for h in only["hits"]} == {
        d for d in expected if setup.docs[d]["collection"] == "asistenta"
    }
    public = _search(setup, query, "--access", "public")
    assert {h["document_id"] for h in public["hits"]} == {
        d for d in expected if setup.docs[d]["access_level"] == "public"
    }
    dated = [d for d in setup.docs.values() if d["metadata"]["issue_date"]]
    assert dated, "the manifest documents carry an issue date"
    day = dated[0]["metadata"]["issue_date"]
    window = _search(setup, "romania", "--from", day, "--to", day)
    assert {h["document_id"] for h in window["hits"]} == {
        d["document_id"] for d in setup.docs.values() if d["metadata"]["issue_date"] == day
    }


def test_reingest_and_reindex_keep_the_same_records(setup: Setup) -> None:
    total_pages = sum(len(p) for p in setup.pages.values())
    idx = open_index(setup.archive, setup.index)
    try:
        assert idx.count_pages() == total_pages and idx.count_documents() == len(setup.docs)
        before = idx.indices()
        _ingest(setup, setup.batches[0], "urbanism")
        idx.refresh()
        assert idx.count_pages() == total_pages
        code, out = _cli("reindex", "--archive", str(setup.archive), "--index", setup.index)
        assert code == 0, out
        assert f"Reindexed {len(setup.docs)} documents, {total_pages} pages" in " ".join(out.split())
        assert idx.count_pages() == total_pages and idx.count_documents() == len(setup.docs)
        after = idx.indices()
        # A new versioned index behind each access-level set's alias.
        assert len(after) == 3 and not set(after) & set(before)
        alias = setup.index.rsplit("/", 1)[1]
        for name, level in zip(after, ("internal", "public", "restricted"), strict=True):
            assert name.startswith(f"{alias}-{level}-v{SCHEMA_VERSION}-")
    finally:
        idx.close()


def test_index_down_documents_still_archived_then_pending_indexed(
    tmp_path: Path, es_url: str, prefect_api: None
) -> None:
    src, archive = tmp_path / "lot", tmp_path / "arhiva"
    write_batch(src, BatchOptions(documents=2, max_pages=1, size="a6", seed=81, rotate=False))
    code, out = _cli("ingest", str(src), "--archive", str(archive), "--index", "http://127.0.0.1:9")
    assert code == 5, out  # archived, not indexed
    flat = " ".join(out.split())
    assert "2 documents archived" in flat and "reindex --pending" in flat
    assert len(list(iter_document_ids(archive))) == 2

    index = f"{es_url}/pending-{uuid.uuid4().hex[:8]}"
    code, out = _cli("reindex", "--archive", str(archive), "--index", index, "--pending")
    assert code == 0 and "Indexed 2 pending documents" in out, out
    code, out = _cli("reindex", "--archive", str(archive), "--index", index, "--pending")
    assert code == 0 and "Indexed 0 pending documents" in out, out
    code, out = _cli("search", "romania", "--archive", str(archive), "--index", index, "--json")
    assert json.loads(out)["total_documents"] == 2
