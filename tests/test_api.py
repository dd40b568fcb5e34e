"""The portal search API on a real ingested archive, on both index backends: what each key level
sees and does not see, document routes, keys, limits and the access log."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from arhiva.api.app import create_app
from arhiva.api.limits import ApiLimits
from arhiva.api.sessions import SESSION_COOKIE
from arhiva.archive.package import load_document, package_dir
from arhiva.cli import app as cli_app
from arhiva.indexing.base import archive_records
from arhiva.indexing.open import embedded_path, open_index
from arhiva.keys import KeyStore
from arhiva.schemas.models import AccessLevel
from arhiva.schemas.search import SearchRequest, SearchResult

from .api_support import (
    DOCUMENTS,
    RESTRICTED_ONLY_WORDS,
    SAME_SITE,
    ApiArchive,
    api_archive,
    login,
    small_archive,
)

LEVELS = ("public", "internal", "restricted")
VISIBLE = {"public": {"public"}, "internal": {"public", "internal"}, "restricted": set(LEVELS)}
GENEROUS = ApiLimits(rate_per_s=1000, burst=1000)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, prefect_api: None) -> ApiArchive:
    return api_archive(tmp_path_factory)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.es)])
def client(request: pytest.FixtureRequest, shared: ApiArchive) -> Iterator[TestClient]:
    if request.param == "sqlite":
        location = "sqlite"
    else:
        location = f"{request.getfixturevalue('es_url')}/api-test-{uuid.uuid4().hex[:12]}"
        idx = open_index(shared.archive, location)
        idx.rebuild(archive_records(shared.archive))
        idx.refresh()
        idx.close()
    with TestClient(create_app(shared.archive, location, limits=GENEROUS)) as c:
        yield c
    if request.param != "sqlite":
        es = open_index(shared.archive, location)
        es.es.indices.delete(index=es.indices())  # type: ignore[attr-defined]
        es.close()


def auth(shared: ApiArchive, level: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {shared.keys[level]}"}


def search(client: TestClient, shared: ApiArchive, level: str, query: str, **body: object) -> SearchResult:
    r = client.post("/v1/search", json={"query": query, **body}, headers=auth(shared, level))
    assert r.status_code == 200, r.text
    return SearchResult.model_validate(r.json())


def facet_counts(result: SearchResult) -> dict[str, dict[str, int]]:
    return {name: {c.value: c.count for c in counts} for name, counts in result.facets.items()}


# -- what each level sees ---------------------------------------------------------------------


def test_documents_carry_their_access_level(shared: ApiArchive) -> None:
    for name, doc in DOCUMENTS.items():
        assert load_document(shared.archive, shared.ids[name]).access_level == doc["access_level"]
    # Nothing said anything about this one: the safe level.
    assert load_document(shared.archive, shared.ids["unmarked"]).access_level == AccessLevel.restricted


@pytest.mark.parametrize("word", RESTRICTED_ONLY_WORDS)
def test_words_of_restricted_documents_find_nothing_below_restricted(
    client: TestClient, shared: ApiArchive, word: str
) -> None:
    for level in ("public", "internal"):
        for filters in ({}, {"access_level": ["restricted"]}, {"access_level": ["public", "restricted"]}):
            result = search(client, shared, level, word, filters=filters)
            assert result.total_documents == 0 and result.hits == ()
            assert all(counts == () for counts in result.facets.values()), result.facets
    found = search(client, shared, "restricted", word)
    assert found.total_documents == 1 and len(found.hits) == 1
    assert found.hits[0].access_level == "restricted"
    assert facet_counts(found)["access_level"] == {"restricted": 1}


def test_counts_and_facets_cover_only_visible_documents(client: TestClient, shared: ApiArchive) -> None:
    # "strada" is on the internal and the restricted documents (and not on the public one).
    expected = {"public": {}, "internal": {"internal": 1}, "restricted": {"internal": 1, "restricted": 1}}
    for level in LEVELS:
        result = search(client, shared, level, "strada")
        assert result.total_documents == len(expected[level])
        assert {h.access_level.value for h in result.hits} == set(expected[level])
        assert facet_counts(result)["access_level"] == expected[level]
        assert sum(facet_counts(result)["collection"].values()) == len(expected[level])


def test_search_without_diacritics_groups_pages_and_marks_matches(
    client: TestClient, shared: ApiArchive
) -> None:
    result = search(client, shared, "public", "autorizatia de construire")
    assert [h.document_id for h in result.hits] == [shared.ids["autorizatie"]]
    hit = result.hits[0]
    assert hit.pages == (1,) and hit.snippet_page == 1
    assert "[autorizația]" in hit.snippet  # found without diacritics, shown with them
    assert hit.title == DOCUMENTS["autorizatie"]["title"]
    assert facet_counts(result)["year"] == {"2024": 1}
    none = search(client, shared, "restricted", '"construire de"')
    assert none.total_documents == 0


def test_document_routes_answer_hidden_documents_as_missing(client: TestClient, shared: ApiArchive) -> None:
    missing_id = "0" * 64
    for level in LEVELS:
        headers = auth(shared, level)
        missing = [client.get(f"/v1/documents/{missing_id}{suffix}", headers=headers) for suffix in SUFFIXES]
        assert all(r.status_code == 404 for r in missing)
        for name, doc_id in shared.ids.items():
            doc_level = DOCUMENTS[name]["access_level"] if name in DOCUMENTS else "restricted"
            for suffix, gone in zip(SUFFIXES, missing, strict=True):
                r = client.get(f"/v1/documents/{doc_id}{suffix}", headers=headers)
                if doc_level in VISIBLE[level]:
                    assert r.status_code == 200, (level, name, suffix, r.text)
                else:
                    assert (r.status_code, r.content, _headers(r)) == (404, gone.content, _headers(gone))


SUFFIXES = ("", "/pdf", "/pages/1/thumbnail")


def _headers(r: object) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k not in ("date",)}  # type: ignore[attr-defined]


def test_metadata_pdf_and_thumbnail(client: TestClient, shared: ApiArchive) -> None:
    doc_id = shared.ids["hotarare"]
    headers = auth(shared, "internal")
    meta = client.get(f"/v1/documents/{doc_id}", headers=headers).json()
    assert meta["title"] == DOCUMENTS["hotarare"]["title"] and meta["access_level"] == "internal"
    assert meta["metadata"]["document_type"] == "hotărâre" and meta["page_count"] == 1
    assert "sources" not in meta  # the scanner's file paths stay internal
    pdf = client.get(meta["pdf_url"], headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == (package_dir(shared.archive, doc_id) / "document.pdf").read_bytes()
    assert client.get(f"/v1/documents/{doc_id}/pages/2/thumbnail", headers=headers).status_code == 404
    thumb = client.get(meta["thumbnail_url"].format(page=1), headers=headers)
    assert thumb.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(thumb.content))
    assert img.format == "JPEG" and img.width == 240 and img.height > 240  # a portrait page
    cached = shared.archive / ".cache" / "thumbs" / doc_id[:2] / doc_id / "1-w240.jpg"
    assert cached.read_bytes() == thumb.content
    assert client.get(meta["thumbnail_url"].format(page=1), headers=headers).content == thumb.content


def test_health_needs_no_key(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


# -- keys ----------------------------------------------------------------------------------------


@pytest.fixture
def own_archive(shared: ApiArchive, tmp_path: Path) -> Path:
    """An archive of the shared public document alone, indexed, with keys of its own."""
    return small_archive(shared, tmp_path / "arhiva")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_keys_are_stored_hashed_listed_and_revoked(own_archive: Path) -> None:
    code, out = _cli(
        "keys", "create", "--archive", str(own_archive), "--level", "internal", "--name", "portal"
    )
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("arh_")
    stored = (own_archive / "keys.json").read_text()
    assert key not in stored and key.split("_")[2] not in stored
    record = json.loads(stored)["keys"][0]
    assert record["level"] == "internal" and record["name"] == "portal" and len(record["sha256"]) == 64
    assert (own_archive / "keys.json").stat().st_mode & 0o077 == 0
    code, listing = _cli("keys", "list", "--archive", str(own_archive))
    assert code == 0 and record["key_id"] in listing and key not in listing

    with TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client:
        ok = client.post(
            "/v1/search", json={"query": "autorizatia"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert ok.status_code == 200 and ok.json()["total_documents"] == 1
        for headers in ({}, {"Authorization": "Bearer arh_000000000000_" + "A" * 43}, {"Authorization": key}):
            r = client.post("/v1/search", json={"query": "autorizatia"}, headers=headers)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert _cli("keys", "revoke", record["key_id"], "--archive", str(own_archive))[0] == 0
        r = client.post(
            "/v1/search", json={"query": "autorizatia"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 401  # the running service sees the revocation at once
    assert _cli("keys", "revoke", "ffffffffffff", "--archive", str(own_archive))[0] == 1
    assert _cli("keys", "create", "--archive", str(own_archive), "--level", "secret")[0] == 1


def test_ids_are_checked_before_any_path_is_built(own_archive: Path) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.restricted)
    headers = {"Authorization": f"Bearer {key}"}
    doc_id = next(p.name for p in (own_archive / "documents").glob("*/*"))
    (own_archive / "secret.txt").write_text("do not serve")
    with TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client:
        assert client.get(f"/v1/documents/{doc_id}/pdf", headers=headers).status_code == 200
        for bad in (
            doc_id.upper(),
            doc_id[:-1],
            doc_id + "0",
            doc_id[:6],
            "..%2F..%2Fsecret.txt",
            "%2e%2e%2fsecret.txt",
            "..",
            f"{doc_id[:62]}%00",
        ):
            for suffix in SUFFIXES:
                r = client.get(f"/v1/documents/{bad}{suffix}", headers=headers)
                assert r.status_code == 404 and b"do not serve" not in r.content, (bad, suffix)
        r = client.get(f"/v1/documents/{doc_id}/pages/0/thumbnail", headers=headers)
        assert r.status_code == 404
        r = client.get(f"/v1/documents/{doc_id}/pages/-1/thumbnail", headers=headers)
        assert r.status_code == 404


# -- limits --------------------------------------------------------------------------------------


def test_body_size_and_paging_depth_are_capped(own_archive: Path) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.public)
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client:
        big = {"query": "autorizatia", "filters": {"collection": ["x" * 1000] * 100}}
        r = client.post("/v1/search", json=big, headers=headers)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"
        chunked = client.post("/v1/search", content=iter([b"{" + b" " * 70_000, b"}"]), headers=headers)
        assert chunked.status_code == 413
        r = client.post("/v1/search", json={"query": "a", "limit": 101}, headers=headers)
        assert r.status_code == 422 and r.json()["error"] == "invalid_request"
        assert r.json()["detail"].startswith("limit: ")
        r = client.post("/v1/search", json={"query": "a", "limit": 100, "offset": 9950}, headers=headers)
        assert r.status_code == 422 and r.json()["error"] == "too_deep"


def test_rate_limit_per_key_answers_429_with_retry_after(own_archive: Path) -> None:
    store = KeyStore(own_archive)
    _, first = store.create(AccessLevel.public)
    _, second = store.create(AccessLevel.public)
    limits = ApiLimits(rate_per_s=0.01, burst=3)  # 3 requests, then one per 100 s
    with TestClient(create_app(own_archive, "sqlite", limits=limits)) as client:

        def get(key: str) -> object:
            return client.post(
                "/v1/search", json={"query": "autorizatia"}, headers={"Authorization": f"Bearer {key}"}
            )

        assert [get(first).status_code for _ in range(3)] == [200, 200, 200]  # type: ignore[attr-defined]
        refused = get(first)
        assert refused.status_code == 429  # type: ignore[attr-defined]
        assert refused.json()["error"] == "rate_limited"  # type: ignore[attr-defined]
        assert 1 <= int(refused.headers["retry-after"]) <= 100  # type: ignore[attr-defined]
        assert get(second).status_code == 200  # type: ignore[attr-defined]  # another key has its own


class BlockedIndex:
    """A real SQLite index whose searches wait until released: a backend that hangs."""

    def __init__(self, archive: Path) -> None:
        self.inner = open_index(archive, "sqlite")
        self.backend = self.inner.backend
        self.release = threading.Event()

    def search(self, request: SearchRequest) -> SearchResult:
        self.release.wait(60)
        return self.inner.search(request)

    def has_document(self, document_id: str) -> bool:
        return self.inner.has_document(document_id)

    def close(self) -> None:
        self.inner.close()


def test_a_search_that_hangs_is_answered_504(own_archive: Path) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.public)
    index = BlockedIndex(own_archive)
    limits = ApiLimits(query_timeout_s=0.2, rate_per_s=1000, burst=1000, max_pending_searches=2)
    try:
        with TestClient(create_app(own_archive, "sqlite", limits=limits, index=index)) as client:  # type: ignore[arg-type]
            headers = {"Authorization": f"Bearer {key}"}
            statuses = [client.post("/v1/search", json={"query": "x"}, headers=headers) for _ in range(3)]
            assert [r.status_code for r in statuses] == [504, 504, 503]
            assert statuses[0].json()["error"] == "search_timeout"
            assert statuses[2].json()["error"] == "busy"  # both hung searches still hold their threads
            assert client.get("/health").status_code == 503  # and health says the service is jammed
    finally:
        index.release.set()
        index.close()


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.es)])
def outdated(request: pytest.FixtureRequest, own_archive: Path) -> Iterator[str]:
    """The location of an index of own_archive built for an older schema version."""
    if request.param == "sqlite":
        with closing(sqlite3.connect(embedded_path(own_archive))) as db, db:
            db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        yield "sqlite"
        return
    from importlib import resources

    from arhiva.indexing.elastic import ElasticIndex

    es_url = request.getfixturevalue("es_url")
    alias = f"api-old-{uuid.uuid4().hex[:12]}"
    old = json.loads(resources.files("arhiva.schemas").joinpath("es/arhiva-pages.v2.json").read_text("utf-8"))
    es = ElasticIndex(es_url, alias, create=False)
    es.es.indices.create(index=f"{alias}-v2-old", settings=old["settings"], mappings=old["mappings"])
    es.es.indices.put_alias(index=f"{alias}-v2-old", name=alias)
    try:
        yield f"{es_url}/{alias}"
    finally:
        es.es.indices.delete(index=f"{alias}-v2-old")
        es.close()


def test_an_index_of_an_older_schema_answers_503_index_outdated(own_archive: Path, outdated: str) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.public)
    headers = {"Authorization": f"Bearer {key}"}
    doc_id = next(p.name for p in (own_archive / "documents").glob("*/*"))
    with TestClient(create_app(own_archive, outdated, limits=GENEROUS)) as client:
        r = client.post("/v1/search", json={"query": "autorizatia"}, headers=headers)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "index_outdated" and "`arhiva reindex`" in r.json()["detail"]
        assert "retry-after" not in r.headers  # retrying does not help: it must be rebuilt
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["error"] == "index_outdated"
        assert client.get(f"/v1/documents/{doc_id}", headers=headers).status_code == 200  # no index needed
        login(client, key)
        page = client.get("/ui", params={"q": "autorizatia"})
        assert page.status_code == 503 and "arhiva reindex" in page.text


def test_a_broken_index_file_answers_503_index_unavailable(own_archive: Path) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.public)
    path = embedded_path(own_archive)
    for leftover in path.parent.glob(path.name + "-*"):  # -wal, -shm
        leftover.unlink()
    path.write_bytes(b"these bytes are no SQLite database " * 200)
    with TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client:
        r = client.post(
            "/v1/search", json={"query": "autorizatia"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "index_unavailable" and r.headers["retry-after"] == "5"
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["error"] == "index_unavailable"


def test_access_log_is_json_without_secrets(own_archive: Path, caplog: pytest.LogCaptureFixture) -> None:
    record, key = KeyStore(own_archive).create(AccessLevel.public)
    with (
        caplog.at_level(logging.INFO, logger="arhiva.api.access"),
        TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client,
    ):
        client.post("/v1/search", json={"query": "Zavoianu"}, headers={"Authorization": f"Bearer {key}"})
        session = login(client, key)
        client.get("/ui?q=Zavoianu")
        client.cookies.clear()
        client.post("/v1/search", json={"query": "x"}, headers={"Authorization": "Bearer arh_wrong"})
    lines = [r.getMessage() for r in caplog.records if r.name == "arhiva.api.access"]
    entries = [json.loads(line) for line in lines]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/search", 200),
        ("POST", "/ui/login", 303),
        ("GET", "/ui", 200),
        ("POST", "/v1/search", 401),
    ]
    assert [e["key_id"] for e in entries] == [record.key_id] * 3 + [None]
    text = "\n".join(lines)
    assert (
        key not in text
        and key.split("_", 2)[2] not in text
        and session not in text
        and "Zavoianu" not in text
        and "wrong" not in text
    )


# -- the operator page (in-process; the browser test drives a real server) -------------------------


def test_operator_page_logs_in_escapes_and_marks(own_archive: Path) -> None:
    _, key = KeyStore(own_archive).create(AccessLevel.internal, "ghișeu <1>")
    with TestClient(create_app(own_archive, "sqlite", limits=GENEROUS)) as client:
        assert client.get("/ui").status_code == 401  # the login form
        bad = client.post("/ui/login", data={"key": "arh_nope"}, headers=SAME_SITE)
        assert bad.status_code == 401 and "Cheie necunoscută" in bad.text
        ok = client.post("/ui/login", data={"key": key}, headers=SAME_SITE, follow_redirects=False)
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        page = client.get("/ui", params={"q": 'autorizatia "<script>alert(1)</script>'})
        assert page.status_code == 200 and "<script>" not in page.text
        assert "&lt;script&gt;" in page.text and "ghișeu &lt;1&gt;" in page.text
        page = client.get("/ui", params={"q": "soseaua"})
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<mark>Șoseaua</mark>" in page.text and "fațadei" in page.text
        assert "Autorizație de construire nr. 12/2024" in page.text
        assert "Cel puțin" not in page.text and "≥" not in page.text
        # A search that matches more pages than are counted says its counts are lower bounds.
        client.app.state.service.index.count_limit = 0  # type: ignore[attr-defined]
        page = client.get("/ui", params={"q": "soseaua"})
        assert "Cel puțin 1 documente găsite" in page.text and "(≥1)" in page.text
        assert "<mark>Șoseaua</mark>" in page.text
        assert client.get("/ui", params={"q": "x", "from": "2020-13-01"}).status_code == 422
        client.post("/ui/logout", headers=SAME_SITE)
        assert SESSION_COOKIE not in client.cookies
        assert client.get("/ui", params={"q": "x"}).status_code == 401
