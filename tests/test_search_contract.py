"""One search contract, two backends: the same tests against SQLite FTS5 and a real
Elasticsearch node. Records are written directly, so these tests need no OCR."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from arhiva.indexing.base import SearchIndex
from arhiva.indexing.folding import fold
from arhiva.indexing.open import open_index
from arhiva.schemas.models import AccessLevel, IndexRecord
from arhiva.schemas.search import SearchFilters, SearchRequest

A, B, C = "a" * 64, "b" * 64, "c" * 64

DOCS: dict[str, dict] = {
    A: {
        "title": "Autorizație de construire nr. 12/2024",
        "collection": "urbanism",
        "document_type": "autorizație de construire",
        "issue_date": dt.date(2024, 3, 14),
        "access_level": AccessLevel.public,
        "pages": [
            "Se emite autorizația de construire pentru imobilul din Șoseaua Olteniței nr. 45.",
            "Nimic relevant pe această pagină.",
            "Anexa cuprinde planșe și știință despre AUTORIZAȚIE și construire.",
        ],
    },
    B: {
        "title": "Dispoziție nr. 7/2012",
        "collection": "asistenta",
        "document_type": "dispoziție",
        "issue_date": dt.date(2012, 5, 2),
        "access_level": AccessLevel.restricted,
        # Text as Tesseract's Romanian model gives it: old cedilla letters.
        "pages": ["Domnul Ştefan primeşte ajutor de urgenţă pentru locuinţa din ţara natală."],
    },
    C: {
        "title": "Hotărâre nr. 3/2019",
        "collection": "urbanism",
        "document_type": "hotărâre",
        "issue_date": dt.date(2019, 1, 10),
        "access_level": AccessLevel.internal,
        "pages": [
            "Hotărârea Consiliului Local privind autorizația de construire a școlii.",
            "Consiliul Local al Sectorului 4 aprobă planul urbanistic de detaliu.",
        ],
    },
}


def records(doc_id: str) -> list[IndexRecord]:
    d = DOCS[doc_id]
    return [
        IndexRecord(
            document_id=doc_id,
            page=n,
            title=d["title"],
            collection=d["collection"],
            document_type=d["document_type"],
            issue_date=d["issue_date"],
            registration_number=None,
            access_level=d["access_level"],
            pdf_path=f"documents/{doc_id[:2]}/{doc_id}/document.pdf",
            text=text,
        )
        for n, text in enumerate(d["pages"], start=1)
    ]


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.es)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite"
    return f"{request.getfixturevalue('es_url')}/test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def index(location: str, tmp_path: Path) -> Iterator[SearchIndex]:
    idx = open_index(tmp_path, location)
    for doc_id in DOCS:
        idx.upsert_document(doc_id, records(doc_id))
    idx.refresh()
    yield idx
    idx.close()


def found(index: SearchIndex, query: str, **filters: object) -> dict[str, tuple[int, ...]]:
    result = index.search(SearchRequest(query=query, filters=SearchFilters(**filters)))
    return {h.document_id[0]: h.pages for h in result.hits}


def test_folding_keeps_every_character_in_place() -> None:
    text = "Autorizaţie ȘTIINȚĂ, știință; ăâî"
    assert fold(text) == "Autorizatie STIINTA, stiinta; aai"
    assert len(fold(text)) == len(text)


def test_document_key_is_the_ids_first_64_bits_signed() -> None:
    from arhiva.indexing.elastic import document_key

    assert document_key("0" * 15 + "1" + "f" * 48) == 1
    assert document_key("7" + "f" * 63) == (1 << 63) - 1
    assert document_key("8" + "0" * 63) == -(1 << 63)
    assert document_key("f" * 64) == -1
    assert document_key(A) != document_key(C)


def test_a_passage_highlighted_on_folded_text_is_shown_on_the_original() -> None:
    from arhiva.indexing.elastic import unfold_highlight

    text = "Nimic aici. Domnul Ştefan primeşte ajutor de urgenţă, iar Ștefan nu."
    # Elasticsearch highlights text_folded, marking matches with \x02 and \x03.
    assert unfold_highlight("Domnul \x02Stefan\x03 primeste", text) == "Domnul [Ştefan] primeşte"
    assert unfold_highlight("\x02urgenta\x03, iar \x02Stefan\x03 nu.", text) == "[urgenţă], iar [Ștefan] nu."
    # Elasticsearch drops the closing tag of a phrase cut by the passage's end: closed there.
    assert unfold_highlight("primeste ajutor de \x02urgen", text) == "primeşte ajutor de [urgen]"
    # Not found in the text (another folding built the index): the passage as highlighted.
    assert unfold_highlight("\x02Zzz\x03", text) == "[Zzz]"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("autorizatia", {"a": (1,), "c": (1,)}),  # typed without diacritics
        ("AUTORIZAȚIE", {"a": (3,)}),  # case ignored
        ("autorizaţie", {"a": (3,)}),  # old cedilla spelling finds comma-below text
        ("stefan urgenta", {"b": (1,)}),  # plain letters find cedilla text
        ("Ștefan țara", {"b": (1,)}),  # comma-below letters find cedilla text
        ('"de construire"', {"a": (1,), "c": (1,)}),  # a phrase
        ('"construire de"', {}),  # word order matters in a phrase
        ("consil*", {"c": (1, 2)}),  # a prefix
        ("scolii", {"c": (1,)}),
        ("planse stiinta", {"a": (3,)}),  # all words on one page
        ("imobilul urbanistic", {}),  # words on different documents
        ("inexistent", {}),
    ],
)
def test_queries(index: SearchIndex, query: str, expected: dict) -> None:
    assert found(index, query) == expected


def test_filters(index: SearchIndex) -> None:
    assert set(found(index, "autorizatia")) == {"a", "c"}
    assert set(found(index, "autorizatia", collection=("urbanism",))) == {"a", "c"}
    assert set(found(index, "autorizatia", document_type=("hotărâre",))) == {"c"}
    assert set(found(index, "autorizatia", access_level=(AccessLevel.public,))) == {"a"}
    assert set(found(index, "autorizatia", access_level=(AccessLevel.public, AccessLevel.internal))) == {
        "a",
        "c",
    }
    assert set(found(index, "autorizatia", date_from=dt.date(2020, 1, 1))) == {"a"}
    assert set(found(index, "autorizatia", date_to=dt.date(2019, 1, 10))) == {"c"}
    assert (
        set(found(index, "autorizatia", date_from=dt.date(2019, 1, 11), date_to=dt.date(2024, 3, 13)))
        == set()
    )


def test_facets_count_documents_not_pages(index: SearchIndex) -> None:
    result = index.search(SearchRequest(query="autoriza*"))
    facets = {name: {c.value: c.count for c in counts} for name, counts in result.facets.items()}
    # 'autoriza*' is on pages 1 and 3 of A and page 1 of C: two documents.
    assert result.total_documents == 2
    assert facets["collection"] == {"urbanism": 2}
    assert facets["document_type"] == {"autorizație de construire": 1, "hotărâre": 1}
    assert facets["access_level"] == {"public": 1, "internal": 1}
    assert facets["year"] == {"2024": 1, "2019": 1}


def test_hits_carry_highlights_pages_and_metadata(index: SearchIndex) -> None:
    result = index.search(SearchRequest(query="autorizatia", facets=False))
    hits = {h.document_id: h for h in result.hits}
    a = hits[A]
    assert a.pages == (1,) and a.snippet_page == 1
    assert "[autorizația]" in a.snippet  # the match is marked, diacritics kept
    assert a.title == DOCS[A]["title"] and a.collection == "urbanism"
    assert a.issue_date == dt.date(2024, 3, 14) and a.access_level == "public"
    assert a.pdf_path.endswith(f"{A}/document.pdf")
    b = index.search(SearchRequest(query="stefan")).hits[0]
    assert "[Ştefan]" in b.snippet  # the text as stored, the match marked
    phrase = index.search(SearchRequest(query='"de construire"')).hits[0]
    assert "construire]" in phrase.snippet and "[" in phrase.snippet


def test_counts_beyond_the_count_limit_are_lower_bounds(index: SearchIndex) -> None:
    # 'autoriza*' is on three pages (A 1 and 3, C 1) of two documents.
    index.count_limit = 3
    exact = index.search(SearchRequest(query="autoriza*"))
    assert exact.total_exact and exact.total_documents == 2
    index.count_limit = 2  # counting now stops before the third page
    bounded = index.search(SearchRequest(query="autoriza*"))
    assert not bounded.total_exact
    assert 1 <= bounded.total_documents <= 2
    for name, counts in bounded.facets.items():
        true_counts = {c.value: c.count for c in exact.facets[name]}
        assert all(c.count <= true_counts[c.value] for c in counts), name
    assert sum(c.count for c in bounded.facets["collection"]) == bounded.total_documents
    # The hits are the best of every match, whatever was counted.
    assert {h.document_id for h in bounded.hits} == {A, C}
    assert index.search(SearchRequest(query="urgenta")).total_exact  # one page: under the limit


def test_documents_with_many_matching_pages_page_through_every_document(
    location: str, tmp_path: Path
) -> None:
    """150 pages of X rank above Y's one page: past the windows of top pages, documents are
    grouped over every match (collapse on Elasticsearch)."""
    x, y = "d" * 64, "e" * 64

    def pages(doc_id: str, texts: list[str]) -> list[IndexRecord]:
        return [
            IndexRecord(
                document_id=doc_id,
                page=n,
                title=doc_id[:1],
                collection="registratura",
                document_type=None,
                issue_date=None,
                registration_number=None,
                access_level=AccessLevel.public,
                pdf_path=f"documents/{doc_id[:2]}/{doc_id}/document.pdf",
                text=text,
            )
            for n, text in enumerate(texts, start=1)
        ]

    idx = open_index(tmp_path, location)
    try:
        idx.upsert_document(x, pages(x, ["ploaie ploaie ploaie"] * 150))
        idx.upsert_document(y, pages(y, ["ploaie, apoi multe alte cuvinte care lungesc mult această pagină"]))
        idx.refresh()
        first = idx.search(SearchRequest(query="ploaie", limit=1))
        second = idx.search(SearchRequest(query="ploaie", limit=1, offset=1))
        assert [h.document_id for h in first.hits] == [x]
        assert first.hits[0].pages == tuple(range(1, 101))  # at most 100 pages a hit
        assert [(h.document_id, h.pages) for h in second.hits] == [(y, (1,))]
        assert first.total_documents == second.total_documents == 2 and first.total_exact
    finally:
        idx.close()


def test_paging(index: SearchIndex) -> None:
    first = index.search(SearchRequest(query="autoriza*", limit=1))
    second = index.search(SearchRequest(query="autoriza*", limit=1, offset=1))
    assert first.total_documents == second.total_documents == 2
    assert len(first.hits) == len(second.hits) == 1
    assert first.hits[0].document_id != second.hits[0].document_id


def test_reindexing_overwrites_and_rebuild_switches_atomically(
    index: SearchIndex, location: str, tmp_path: Path
) -> None:
    assert index.count_pages() == 6 and index.count_documents() == 3
    assert set(index.document_ids()) == {A, B, C}
    index.upsert_document(A, records(A))  # again: overwritten, not duplicated
    index.refresh()
    assert index.count_pages() == 6

    seen_during: list[int] = []

    def documents() -> Iterator[tuple[str, list[IndexRecord]]]:
        for doc_id in (A, C):
            # A search from another connection while the rebuild is half done still
            # answers from the old, complete index.
            other = open_index(tmp_path, location)
            seen_during.append(other.search(SearchRequest(query="urgenta")).total_documents)
            other.close()
            yield doc_id, records(doc_id)

    assert index.rebuild(documents()) == 5
    assert seen_during == [1, 1]
    index.refresh()
    assert index.count_pages() == 5 and index.count_documents() == 2
    assert found(index, "urgenta") == {}  # B was not in the rebuild
    assert found(index, "autorizatia") == {"a": (1,), "c": (1,)}


@pytest.mark.es
def test_refused_records_are_reported_not_swallowed(es_url: str, tmp_path: Path) -> None:
    from arhiva.errors import IndexingError
    from arhiva.indexing.elastic import ElasticIndex

    idx = open_index(tmp_path, f"{es_url}/test-{uuid.uuid4().hex[:12]}")
    assert isinstance(idx, ElasticIndex)
    try:
        idx.es.indices.close(index=idx.indices()[0])  # every write to a closed index fails
        with pytest.raises(IndexingError) as err:
            idx.upsert_document(A, records(A))
        message = str(err.value)
        assert "3 page records were not indexed" in message
        assert f"{A}-00001" in message and "closed" in message
    finally:
        idx.es.indices.delete(index=idx.indices()[0])
        idx.close()


@pytest.mark.es
def test_an_index_of_an_older_schema_is_refused_until_rebuilt(es_url: str, tmp_path: Path) -> None:
    import json
    from importlib import resources

    from arhiva.errors import IndexVersionError
    from arhiva.indexing.elastic import ElasticIndex

    alias = f"test-{uuid.uuid4().hex[:12]}"
    old = json.loads(resources.files("arhiva.schemas").joinpath("es/arhiva-pages.v2.json").read_text("utf-8"))
    idx = ElasticIndex(es_url, alias, create=False)
    idx.es.indices.create(index=f"{alias}-v2-old", settings=old["settings"], mappings=old["mappings"])
    idx.es.indices.put_alias(index=f"{alias}-v2-old", name=alias)
    idx.close()
    idx = ElasticIndex(es_url, alias)  # opening it is fine: `arhiva reindex` must be able to
    try:
        with pytest.raises(IndexVersionError, match=r"has schema 2.*run `arhiva reindex`"):
            idx.search(SearchRequest(query="autorizatia"))
        with pytest.raises(IndexVersionError):
            idx.upsert_document(A, records(A))
        assert idx.rebuild(iter([(A, records(A))])) == 3
        assert idx.indices() != [f"{alias}-v2-old"]
        assert found(idx, "autorizatia") == {"a": (1,)}
    finally:
        idx.es.indices.delete(index=",".join(idx.indices()))
        idx.close()
