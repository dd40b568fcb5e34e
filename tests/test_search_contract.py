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
from arhiva.schemas.search import FacetCount, SearchFilters, SearchRequest, SearchResult

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
    from arhiva.indexing.elastic import SCHEMA_VERSION, ElasticIndex

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
        # The new layout: one index per access-level set, each behind its alias; the old alias
        # and index are gone.
        built = idx.indices()
        assert [name.rsplit("-v", 1)[0] for name in built] == [
            f"{alias}-{s}" for s in ("internal", "public", "restricted")
        ]
        assert all(f"-v{SCHEMA_VERSION}-" in name for name in built)
        assert not idx.es.indices.exists_alias(name=alias) and not idx.es.indices.exists(
            index=f"{alias}-v2-old"
        )
        assert found(idx, "autorizatia") == {"a": (1,)}
        # A set missing (its index deleted by hand) is refused too, until rebuilt.
        idx.es.indices.delete(index=built[0])
        broken = ElasticIndex(es_url, alias)
        try:
            with pytest.raises(
                IndexVersionError, match=rf"{alias}-internal is missing.*run `arhiva reindex`"
            ):
                broken.search(SearchRequest(query="autorizatia"))
            assert broken.indices() == built[1:]  # nothing created in its place
        finally:
            broken.close()
    finally:
        idx.es.indices.delete(index=",".join(idx.indices()))
        idx.close()


# -- errors: a location names one backend, and every backend raises arhiva's errors only --------


def test_locations_are_checked_and_a_missing_embedded_index_is_a_usage_error(tmp_path: Path) -> None:
    from arhiva.errors import IndexLocationError, UsageError
    from arhiva.indexing.open import check_location, index_exists

    for bad in ("elastic", "ftp://127.0.0.1:9200", "127.0.0.1:9200"):
        with pytest.raises(IndexLocationError, match=r"unknown index .*use 'sqlite' or an Elasticsearch URL"):
            check_location(bad)
        with pytest.raises(IndexLocationError):
            open_index(tmp_path, bad)
    assert not index_exists(tmp_path, None) and index_exists(tmp_path, "http://127.0.0.1:9200")
    with pytest.raises(UsageError, match=r"has no search index \(index\.sqlite\); run `arhiva ingest` first"):
        open_index(tmp_path, "sqlite", must_exist=True)
    assert list(tmp_path.iterdir()) == []  # nothing was created
    open_index(tmp_path).close()  # without must_exist it is created, empty
    assert index_exists(tmp_path, "sqlite")
    open_index(tmp_path, must_exist=True).close()


def test_a_file_that_is_no_sqlite_database_raises_indexing_error_naming_it(tmp_path: Path) -> None:
    import sqlite3

    from arhiva.errors import IndexingError
    from arhiva.indexing.open import embedded_path

    path = embedded_path(tmp_path)
    path.write_bytes(b"these bytes are no SQLite database " * 200)
    with pytest.raises(IndexingError) as err:
        open_index(tmp_path)
    assert str(path) in str(err.value) and "opening it failed" in str(err.value)
    assert isinstance(err.value.__cause__, sqlite3.DatabaseError)
    assert not err.value.retryable  # trying again finds the same file


def test_a_sqlite_index_whose_tables_are_gone_raises_indexing_error_until_rebuilt(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from arhiva.errors import IndexingError
    from arhiva.indexing.open import embedded_path

    idx = open_index(tmp_path)
    try:
        for doc_id in DOCS:
            idx.upsert_document(doc_id, records(doc_id))
        # Another program broke the database under the open index: only `meta` is left.
        with closing(sqlite3.connect(embedded_path(tmp_path))) as db:
            db.executescript(
                "DROP TABLE pages_fts_public; DROP TABLE pages_fts_internal; DROP TABLE pages_fts_restricted;"
                " DROP TABLE pages; DROP TABLE documents;"
            )
        calls = {
            "searching": lambda: idx.search(SearchRequest(query="autorizatia")),
            f"indexing {A}": lambda: idx.upsert_document(A, records(A)),
            f"looking up {A}": lambda: idx.has_document(A),
            "listing its documents": lambda: list(idx.document_ids()),
            "counting its pages": idx.count_pages,
            "counting its documents": idx.count_documents,
        }
        for doing, call in calls.items():
            with pytest.raises(IndexingError, match="no such table") as err:
                call()
            assert f"SQLite index {embedded_path(tmp_path)}: {doing} failed" in str(err.value)
            assert isinstance(err.value.__cause__, sqlite3.OperationalError)
        assert idx.rebuild(iter([(A, records(A))])) == 3  # what `arhiva reindex` does repairs it
        assert found(idx, "autorizatia") == {"a": (1,)}
    finally:
        idx.close()


def test_an_unreachable_elasticsearch_raises_indexing_error() -> None:
    from elastic_transport import TransportError

    from arhiva.errors import IndexingError
    from arhiva.indexing.elastic import ElasticIndex

    with pytest.raises(
        IndexingError, match=r"Elasticsearch at http://127\.0\.0\.1:9 cannot be reached"
    ) as err:
        ElasticIndex("http://127.0.0.1:9", "nothing-here")
    assert isinstance(err.value.__cause__, TransportError) and err.value.retryable


class _Relay:
    """A TCP relay to the Elasticsearch node. Stopping it is, for a client of the relay, the node
    going away: open connections are cut and new ones refused."""

    def __init__(self, target: str) -> None:
        import socket
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: object, b: object) -> None:
        import socket
        from contextlib import suppress

        assert isinstance(a, socket.socket) and isinstance(b, socket.socket)
        with suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        with suppress(OSError):
            b.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        import socket
        from contextlib import suppress

        for s in (self._server, *self._sockets):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.mark.es
def test_elasticsearch_gone_away_raises_indexing_error_from_every_call(es_url: str) -> None:
    from elastic_transport import TransportError

    from arhiva.errors import IndexingError
    from arhiva.indexing.elastic import ElasticIndex

    alias = f"test-{uuid.uuid4().hex[:12]}"
    relay = _Relay(es_url)
    idx = ElasticIndex(relay.url, alias)
    try:
        idx.upsert_document(A, records(A))
        idx.refresh()
        assert found(idx, "autorizatia") == {"a": (1,)}
        relay.stop()
        calls = {
            "search": lambda: idx.search(SearchRequest(query="autorizatia")),
            "upsert_document": lambda: idx.upsert_document(C, records(C)),
            "refresh": idx.refresh,
            "has_document": lambda: idx.has_document(A),
            "document_ids": lambda: list(idx.document_ids()),
            "count_pages": idx.count_pages,
            "count_documents": idx.count_documents,
            "indices": idx.indices,
            "rebuild": lambda: idx.rebuild(iter([(A, records(A))])),
        }
        for name, call in calls.items():
            with pytest.raises(IndexingError, match=f"Elasticsearch at {relay.url} cannot be reached") as err:
                call()
            assert isinstance(err.value.__cause__, TransportError), name
            assert err.value.retryable, name
    finally:
        idx.close()
        direct = ElasticIndex(es_url, alias, create=False)
        direct.es.indices.delete(index=",".join(direct.indices()))
        direct.close()


@pytest.mark.es
def test_elasticsearch_error_answers_raise_indexing_error_naming_what_failed(es_url: str) -> None:
    from elasticsearch import ApiError

    from arhiva.errors import IndexingError
    from arhiva.indexing.elastic import ElasticIndex

    alias = f"test-{uuid.uuid4().hex[:12]}"
    missing = ElasticIndex(es_url, alias, create=False)  # no index behind the alias: 404s
    try:
        assert missing.indices() == []  # a missing alias is an answer there, not an error
        with pytest.raises(IndexingError, match=f"Elasticsearch at {es_url} failed while searching {alias}"):
            missing.search(SearchRequest(query="autorizatia"))
        with pytest.raises(IndexingError, match=f"while counting the pages of {alias}.*NotFoundError"):
            missing.count_pages()
    finally:
        missing.close()

    idx = ElasticIndex(es_url, alias)
    try:
        idx.upsert_document(A, records(A))
        idx.refresh()
        # Every read of a closed index is refused (400): all of them, one per access-level set.
        idx.es.indices.close(index=",".join(idx.indices()))
        calls = {
            f"searching {alias}": lambda: idx.search(SearchRequest(query="autorizatia")),
            f"counting the documents of {alias}": idx.count_documents,
            f"counting the pages of {alias}": idx.count_pages,
            f"looking up {A} in {alias}": lambda: idx.has_document(A),
            f"listing the documents of {alias}": lambda: list(idx.document_ids()),
        }
        for doing, call in calls.items():
            with pytest.raises(IndexingError, match=f"Elasticsearch at {es_url} failed while {doing}") as err:
                call()
            assert isinstance(err.value.__cause__, ApiError), doing
            assert not err.value.retryable, doing  # a 4xx: the same request is refused again
    finally:
        idx.es.indices.delete(index=",".join(idx.indices()))
        idx.close()


# -- what a caller sees: every statistic over its own access level's set (visibility.py) --------


def test_each_request_is_answered_from_the_set_of_the_highest_level_it_names() -> None:
    from arhiva.indexing.visibility import scope, sets_holding, sets_not_holding

    public, internal, restricted = AccessLevel.public, AccessLevel.internal, AccessLevel.restricted
    assert sets_holding(public) == (public, internal, restricted) and sets_not_holding(public) == ()
    assert sets_holding(internal) == (internal, restricted) and sets_not_holding(internal) == (public,)
    assert sets_holding(restricted) == (restricted,)
    # What the API asks for a public, an internal and a restricted key: the set is the filter.
    for levels, clearance in (((public,), public), ((public, internal), internal), ((), restricted)):
        scoped = scope(SearchFilters(access_level=levels, collection=("urbanism",)))
        assert scoped.clearance == clearance
        assert scoped.filters == SearchFilters(collection=("urbanism",))
    # Fewer levels than the set holds: the filter stays.
    only = scope(SearchFilters(access_level=(internal,)))
    assert only.clearance == internal and only.filters.access_level == (internal,)
    assert scope(SearchFilters(access_level=(restricted, public))).clearance == restricted


def _page(doc_id: str, level: AccessLevel, text: str) -> list[IndexRecord]:
    return [
        IndexRecord(
            document_id=doc_id,
            page=1,
            title=f"Document {doc_id[:6]}",
            collection="registratura",
            document_type=None,
            issue_date=dt.date(2020, 1, 1),
            registration_number=None,
            access_level=level,
            pdf_path=f"documents/{doc_id[:2]}/{doc_id}/document.pdf",
            text=text,
        )
    ]


def _doc_id(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()


def test_a_public_answer_is_byte_identical_whatever_restricted_pages_hold(
    location: str, tmp_path: Path
) -> None:
    """A public caller's answer, scores, order, counts and facets included, is the same before
    and after "beta" is added to six restricted pages, while the answer of those who may see the
    pages changes: "alfa beta" ranks P2 (beta twice) first while beta is the rarer word, and P1
    (alfa twice) once six more pages hold beta, had they been counted."""
    filler = "unu doi trei patru cinci"
    public = {
        "P1": "alfa alfa beta unu doi",
        "P2": "alfa beta beta unu doi",
        "P3": "alfa unu doi trei patru",
        **{f"public-{n}": filler for n in range(10)},
    }
    internal = {f"internal-{n}": filler for n in range(3)}
    restricted = [f"restricted-{n}" for n in range(6)]
    queries = ["alfa beta", "beta", "bet*", '"alfa beta"', "alfa"]
    callers = {
        "public": (AccessLevel.public,),  # what the API asks for a public key
        "internal": (AccessLevel.public, AccessLevel.internal),
    }

    def answers(idx: SearchIndex) -> list[str]:
        out = []
        for limit in (idx.count_limit, 1):  # exact counts, then lower bounds
            idx.count_limit = limit
            for levels in callers.values():
                for q in queries:
                    request = SearchRequest(query=q, filters=SearchFilters(access_level=levels))
                    out.append(idx.search(request).model_dump_json())
        return out

    idx = open_index(tmp_path, location)
    try:
        for name, text in public.items():
            idx.upsert_document(_doc_id(name), _page(_doc_id(name), AccessLevel.public, text))
        for name, text in internal.items():
            idx.upsert_document(_doc_id(name), _page(_doc_id(name), AccessLevel.internal, text))
        for name in restricted:
            idx.upsert_document(_doc_id(name), _page(_doc_id(name), AccessLevel.restricted, filler))
        idx.refresh()
        count_limit = idx.count_limit
        before = answers(idx)
        idx.count_limit = count_limit
        everything_before = idx.search(SearchRequest(query="alfa beta"))

        for name in restricted:  # the word added to six restricted pages
            idx.upsert_document(
                _doc_id(name), _page(_doc_id(name), AccessLevel.restricted, "beta unu doi trei patru")
            )
        idx.refresh()
        after = answers(idx)
        idx.count_limit = count_limit
        everything_after = idx.search(SearchRequest(query="alfa beta"))
    finally:
        idx.close()

    assert after == before  # byte for byte
    public_answer = SearchResult.model_validate_json(before[0])
    assert [h.document_id for h in public_answer.hits] == [_doc_id("P2"), _doc_id("P1")]
    assert public_answer.facets["access_level"] == (FacetCount(value="public", count=2),)
    assert not SearchResult.model_validate_json(before[len(before) // 2]).total_exact  # counted 2 pages
    # Those who may see the restricted pages do get their statistics: the order turns.
    assert [h.document_id for h in everything_before.hits] == [_doc_id("P2"), _doc_id("P1")]
    assert [h.document_id for h in everything_after.hits] == [_doc_id("P1"), _doc_id("P2")]


def test_a_document_whose_access_level_changes_moves_between_the_sets(location: str, tmp_path: Path) -> None:
    """upsert_document() with the document's new level is all a change of level needs: it
    leaves the sets that no longer see it (their answers are those of an index that never held
    it there) and enters the new ones; with no records it leaves every set.

    Scores are compared on SQLite only: Lucene counts a deleted record in its segment's term
    statistics until a merge drops it (and Elasticsearch keeps deleted records a while for its
    replicas), so on Elasticsearch a set's scores still count, for a while, the text of a record
    it held, which its callers could see (docs/search-contract.md)."""
    moved = _doc_id("moved")
    text = "Cerere pentru autorizația de construire a unei magazii, strada Mutării nr. 3."
    requests = {
        level: [
            SearchRequest(query=q, filters=SearchFilters(access_level=levels))
            for q in ("autorizatia", "mutarii", "construire strada")
        ]
        for level, levels in {
            "public": (AccessLevel.public,),
            "internal": (AccessLevel.public, AccessLevel.internal),
            "restricted": (),
        }.items()
    }

    def answer(idx: SearchIndex, request: SearchRequest) -> str:
        result = idx.search(request)
        if idx.backend == "elasticsearch":
            result = result.model_copy(
                update={"hits": tuple(h.model_copy(update={"score": 0}) for h in result.hits)}
            )
        return result.model_dump_json()

    def answers(idx: SearchIndex) -> dict[str, list[str]]:
        return {level: [answer(idx, r) for r in rs] for level, rs in requests.items()}

    def build(folder: Path, level: AccessLevel | None) -> dict[str, list[str]]:
        """The answers of an index of DOCS with the document at `level` (None: without it)."""
        name = location if location == "sqlite" else f"{location}-ref-{folder.name}"
        idx = open_index(folder, name)
        try:
            for doc_id in DOCS:
                idx.upsert_document(doc_id, records(doc_id))
            if level is not None:
                idx.upsert_document(moved, _page(moved, level, text))
            idx.refresh()
            return answers(idx)
        finally:
            if idx.backend == "elasticsearch":
                idx.es.indices.delete(index=",".join(idx.indices()))  # type: ignore[attr-defined]
            idx.close()

    expected = {
        str(level): build(tmp_path / f"ref-{level}", level)
        for level in (AccessLevel.public, AccessLevel.internal, AccessLevel.restricted)
    }
    expected["none"] = build(tmp_path / "ref-none", None)

    idx = open_index(tmp_path / "moving", location)
    try:
        for doc_id in DOCS:
            idx.upsert_document(doc_id, records(doc_id))
        for level in ("public", "restricted", "internal", "public", "internal", "restricted"):
            idx.upsert_document(moved, _page(moved, AccessLevel(level), text))
            idx.refresh()
            assert answers(idx) == expected[level], level
            visible = {
                caller: {h.document_id for h in idx.search(rs[1]).hits} for caller, rs in requests.items()
            }
            seen_by = {
                "public": list(requests),
                "internal": ["internal", "restricted"],
                "restricted": ["restricted"],
            }
            assert visible == {c: {moved} if c in seen_by[level] else set() for c in requests}, level
        assert idx.count_pages() == 7 and idx.count_documents() == 4
        idx.upsert_document(moved, [])  # deleted: out of every set
        idx.refresh()
        assert answers(idx) == expected["none"]
        assert not idx.has_document(moved) and idx.count_pages() == 6
    finally:
        if idx.backend == "elasticsearch":
            idx.es.indices.delete(index=",".join(idx.indices()))  # type: ignore[attr-defined]
        idx.close()


def test_a_sqlite_index_of_the_former_layout_asks_for_reindex_which_builds_the_new(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from arhiva.errors import IndexVersionError
    from arhiva.indexing.open import embedded_path

    # Schema 3, as the previous arhiva wrote it: one full-text table of every page.
    with closing(sqlite3.connect(embedded_path(tmp_path))) as db, db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema_version', '3');
            CREATE TABLE documents (doc INTEGER PRIMARY KEY, document_id TEXT NOT NULL UNIQUE);
            CREATE TABLE pages (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
            CREATE VIRTUAL TABLE pages_fts USING fts5(text, content='pages', content_rowid='id');
            CREATE TRIGGER pages_ai AFTER INSERT ON pages BEGIN
                INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text);
            END;
            """
        )
    idx = open_index(tmp_path)
    try:
        with pytest.raises(
            IndexVersionError, match=r"has index schema 3, this arhiva needs 4; run `arhiva reindex`"
        ):
            idx.search(SearchRequest(query="autorizatia"))
        with pytest.raises(IndexVersionError):
            idx.upsert_document(A, records(A))
        assert idx.rebuild((doc_id, records(doc_id)) for doc_id in DOCS) == 6
        public = SearchFilters(access_level=(AccessLevel.public,))
        assert found(idx, "autorizatia", access_level=public.access_level) == {"a": (1,)}
        assert found(idx, "autorizatia") == {"a": (1,), "c": (1,)}
    finally:
        idx.close()
    with closing(sqlite3.connect(embedded_path(tmp_path))) as db:
        tables = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        }
    assert "pages_fts" not in tables and "pages_ai" not in tables
    assert {"pages_fts_public", "pages_fts_internal", "pages_fts_restricted"} <= tables
