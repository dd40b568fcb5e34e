"""Search index benchmark: bulk indexing rate and search latency of both index backends.

Run from the repository root:  python -m bench.index [--pages 100000] [--backends sqlite,elasticsearch]

What is measured, for each backend, on the same synthetic pages:

1. **Bulk indexing.** `--pages` page records (default 100,000) are generated deterministically from
   `--seed` as a stream, one document (1–10 pages) at a time: nothing holds more than one document.
   Page text is about 1,500 characters of Romanian administrative prose made of
   `arhiva.samples.texts.sample_document` paragraphs, flowing from page to page, with names,
   addresses and numbers varying from document to document, a page footer, a few paragraphs that
   occur on ~0.7 %, ~0.2 % and ~0.02 % of pages (rare words), and the old cedilla letters ş ţ in
   documents issued before 2004 (as legacy-encoded texts have them). Metadata varies over four
   collections, four document types, three access levels and issue dates over 30 years
   (1996–2025). Document ids are SHA-256 hex digests.
   The stream goes through the backend's own `rebuild(documents)` (what `arhiva reindex` uses) and
   the whole call is timed: for SQLite one transaction plus the WAL checkpoint; for Elasticsearch
   the bulk requests, the refresh and the alias switch. Generating the records is part of that time;
   the generator is also timed alone beforehand, and reported, so its share is known.
2. **Search latency.** A fixed set of 20 queries (single words with and without diacritics, a
   cedilla spelling, upper case, phrases, prefixes, rare, common and absent words, and filters on
   collection, access level and issue date) each run once to warm up (all before any is timed),
   then `--runs` times (10),
   through `index.search(SearchRequest(...))` with the request defaults the portal uses (20
   documents a page, facets on). Counts are exact up to `COUNT_LIMIT` matching pages and lower
   bounds beyond (marked ≥ in the per-query table; see docs/search-contract.md). Before each timed run (untimed) Elasticsearch's shard request
   cache is cleared, so a repeated query is not answered from it: the figures are those of
   queries not asked before (OS file cache and Lucene's caches stay warm). Before all that, the
   node answers `--runs` rounds of 16 other queries (WARM_UP: other words, other filters),
   untimed: a portal's node has been answering for a while, and a node just done with a bulk
   load still compiles its search code (at 1M pages the first 200 timed searches had p95 66 ms,
   the next 200 42 ms). p50 and p95 are taken over all timed runs of all queries; the
   mean number of documents found (`total_documents`) shows the queries are not empty, and
   per-query figures are printed so the two backends' answers can be compared.
3. **Size on disk.** SQLite: the index file (plus its WAL and shared-memory files, if any),
   and its parts from `dbstat` (the page text, stored once; each access-level set's full-text
   table). Elasticsearch: the primary store size of the three access-level sets' indices from
   the index stats, in total and per set, after the searches (segment merges may still change it).

SQLite lives in a temporary folder, removed at the end. Elasticsearch is `--es-url`, or by
default a node started with `scripts/elasticsearch start` on port `--es-port` (9260) with a
`--es-heap` Java heap (2g) and stopped at the end; the index lives behind fresh aliases `bench-<random>-<set>`, and its indices are deleted at
the end either way. With `--es-alias` (and `--es-url`), only the searches are timed, on the pages
already behind that alias (indexed earlier, e.g. by `rebuild()`), which is kept.

Caveats: the synthetic text is more repetitive than real OCR (fixed boilerplate, no OCR errors),
which favours compression and makes "common" words very common. Both backends run on the same
2-core-class machine as the Python client, so they compete with it for CPU; the 1-minute load
average at start and end is recorded. Nothing is asserted: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import arhiva
from arhiva.archive.package import relative_pdf_path
from arhiva.indexing.base import DocumentRecords, SearchIndex
from arhiva.indexing.open import open_index
from arhiva.samples.texts import sample_document
from arhiva.schemas.models import AccessLevel, IndexRecord
from arhiva.schemas.search import SearchFilters, SearchRequest

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
ES_SCRIPT = REPO / "scripts" / "elasticsearch"
BACKENDS = ("sqlite", "elasticsearch")

# -- synthetic pages -------------------------------------------------------------------------

PAGE_CHARS = (1200, 1800)  # page text length is uniform in this range: 1,500 on average
LEGACY_CEDILLA_BEFORE = 2004  # documents issued before this year use ş ţ instead of ș ț
_ARTICLE = re.compile(r"^Art\. \d+\.")
_CEDILLA = (("ș", "ş"), ("ț", "ţ"), ("Ș", "Ş"), ("Ț", "Ţ"))

COLLECTIONS = ("urbanism", "consiliul-local", "asistenta-sociala", "registratura")
_HOME_COLLECTION = {
    "autorizație de construire": "urbanism",
    "certificat de urbanism": "urbanism",
    "hotărâre": "consiliul-local",
    "dispoziție": "asistenta-sociala",
}
_ACCESS = (AccessLevel.public, AccessLevel.internal, AccessLevel.restricted)
_ACCESS_WEIGHTS = (6, 3, 1)

# (chance per paragraph, the word queried, text): what makes the rare words of the queries
# rare. With about eight paragraphs a page, they land on roughly 0.7 %, 0.2 % and 0.02 % of the
# pages (the generator's pass counts them exactly).
_OCCASIONAL = (
    (
        0.0012,
        "branșamentul",
        "Se va realiza branșamentul la rețeaua publică de gaze naturale pe cheltuiala beneficiarului, "
        "cu acordul prealabil al operatorului de distribuție.",
    ),
    (
        0.00025,
        "monumentelor istorice",
        "Clădirea este înscrisă în Lista monumentelor istorice, iar orice intervenție asupra ei se "
        "face numai cu avizul Direcției pentru Cultură a Municipiului București.",
    ),
    (
        0.000025,
        "expropriere",
        "Terenul este afectat de procedura de expropriere pentru cauză de utilitate publică, în "
        "vederea lărgirii drumului, potrivit Legii nr. 255/2010.",
    ),
)


@dataclass(frozen=True)
class _Document:
    title: str
    document_type: str
    registration_number: str
    issue_date: dt.date
    collection: str
    access_level: AccessLevel


def to_cedilla(text: str) -> str:
    """ș ț Ș Ț as the legacy cedilla letters (str.replace: far cheaper than str.translate here)."""
    for comma, cedilla in _CEDILLA:
        text = text.replace(comma, cedilla)
    return text


def document_id(seed: int, n: int) -> str:
    return hashlib.sha256(f"arhiva-bench:{seed}:{n}".encode()).hexdigest()


def _running_text(r: random.Random, doc_seed: int) -> Iterator[str]:
    """The document's own sample first, then articles and further considerations taken from
    other samples (other names, addresses, numbers), without end."""
    yield from sample_document(doc_seed).paragraphs
    article = 0
    extra = 0
    while True:
        extra += 1
        more = sample_document(doc_seed * 131 + extra, articles=r.randint(2, 5))
        for paragraph in more.paragraphs[3:]:  # skip ROMÂNIA / PRIMĂRIA / title
            if paragraph.startswith("Art. "):  # number the articles through the document
                article += 1
                paragraph = _ARTICLE.sub(f"Art. {article}.", paragraph, count=1)
            yield paragraph


def _paragraphs(r: random.Random, doc_seed: int) -> Iterator[str]:
    """The running text, with the occasional paragraphs slipped in."""
    for paragraph in _running_text(r, doc_seed):
        for chance, _, text in _OCCASIONAL:
            if r.random() < chance:
                yield text
        yield paragraph


def _pages(r: random.Random, doc_seed: int, count: int, footer: str) -> list[str]:
    """Cut the running text into `count` pages; a page ends wherever its length is reached,
    mid-sentence if need be, as a real page break does."""
    stream = _paragraphs(r, doc_seed)
    rest = ""
    pages: list[str] = []
    for number in range(1, count + 1):
        target = r.randint(*PAGE_CHARS)
        text = rest
        while len(text) < target:
            text = f"{text}\n{next(stream)}" if text else next(stream)
        cut = text.find(" ", target)
        if cut < 0:
            cut = len(text)
        text, rest = text[:cut], text[cut:].strip()
        pages.append(f"{text}\n{footer} — pagina {number} din {count}")
    return pages


def _metadata(r: random.Random, doc_seed: int) -> _Document:
    sample = sample_document(doc_seed)
    collection = _HOME_COLLECTION[sample.document_type]
    if r.random() < 0.15:  # some documents are filed elsewhere (registry, other departments)
        collection = r.choice(COLLECTIONS)
    access = r.choices(_ACCESS, weights=_ACCESS_WEIGHTS)[0]
    if sample.document_type == "dispoziție" and access is AccessLevel.public and r.random() < 0.5:
        access = AccessLevel.restricted  # social help names people
    return _Document(
        title=sample.title,
        document_type=sample.document_type,
        registration_number=sample.registration_number,
        issue_date=dt.date.fromisoformat(sample.issue_date),
        collection=collection,
        access_level=access,
    )


def synthetic_documents(pages: int, seed: int) -> Iterator[DocumentRecords]:
    """Exactly `pages` page records, in documents of 1–10 pages, one document at a time."""
    left = pages
    n = 0
    while left > 0:
        r = random.Random(seed * 1_000_003 + n)
        doc_seed = r.getrandbits(40)
        doc_id = document_id(seed, n)
        meta = _metadata(r, doc_seed)
        count = min(left, r.randint(1, 10))
        footer = f"Nr. {meta.registration_number}"
        texts = _pages(r, doc_seed, count, footer)
        if meta.issue_date.year < LEGACY_CEDILLA_BEFORE:
            texts = [to_cedilla(t) for t in texts]
        records = [
            IndexRecord(
                document_id=doc_id,
                page=number,
                title=meta.title,
                collection=meta.collection,
                document_type=meta.document_type,
                issue_date=meta.issue_date,
                registration_number=meta.registration_number,
                access_level=meta.access_level,
                pdf_path=relative_pdf_path(doc_id),
                text=text,
            )
            for number, text in enumerate(texts, start=1)
        ]
        yield doc_id, records
        left -= count
        n += 1


@dataclass(frozen=True)
class GeneratorStats:
    pages: int
    documents: int
    mean_chars_per_page: float
    distinct_page_texts_in_first_10000: int
    pages_with_rare_words: dict[str, int]  # the words of _OCCASIONAL
    seconds: float


def measure_generator(pages: int, seed: int) -> GeneratorStats:
    """One pass over the stream without any index: the time spent inside the generator (the
    looking at what it produced is not counted), and what it produces."""
    documents = total_pages = chars = 0
    seen: set[str] = set()
    words = [word for _, word, _ in _OCCASIONAL]
    rare = dict.fromkeys(words, 0)
    stream = synthetic_documents(pages, seed)
    seconds = 0.0
    while True:
        t0 = time.perf_counter()
        item = next(stream, None)
        seconds += time.perf_counter() - t0
        if item is None:
            break
        documents += 1
        for rec in item[1]:
            total_pages += 1
            chars += len(rec.text)
            for word in words:
                rare[word] += word in rec.text or to_cedilla(word) in rec.text
            if total_pages <= 10_000:
                seen.add(hashlib.sha1(rec.text.encode()).hexdigest())
    return GeneratorStats(
        pages=total_pages,
        documents=documents,
        mean_chars_per_page=round(chars / max(1, total_pages), 1),
        distinct_page_texts_in_first_10000=len(seen),
        pages_with_rare_words=rare,
        seconds=round(seconds, 2),
    )


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    label: str
    request: SearchRequest


def _q(label: str, text: str, **filters: object) -> Query:
    return Query(label, SearchRequest(query=text, filters=SearchFilters.model_validate(filters)))


QUERIES: tuple[Query, ...] = (
    _q("word, diacritics", "autorizație"),
    _q("word, no diacritics", "autorizatie"),
    _q("word, cedilla spelling", "construcţii"),
    _q("word, upper case", "BUCUREȘTI"),
    _q("very common word", "în"),
    _q("common word", "lucrărilor"),
    _q("two words", "inundații reparații"),
    _q("phrase", '"planul urbanistic de detaliu"'),
    _q("phrase with numbers", '"Legii nr. 50/1991"'),
    _q("prefix", "autoriz*"),
    _q("prefix, rare", "expropr*"),
    _q("rare word (~0.7 % of pages)", "branșamentul"),
    _q("rare phrase (~0.2 %)", '"monumentelor istorice"'),
    _q("very rare word (~0.02 %)", "expropriere"),
    _q("name, two words", "Lăcrămioara Țânțăreanu"),
    _q("absent word", "zăpadă"),
    _q("filter: collection", "autorizație", collection=("urbanism",)),
    _q("filter: access level", "dispoziție", access_level=(AccessLevel.public,)),
    _q("filter: date range", "hotărâre", date_from="2000-01-01", date_to="2004-12-31"),
    _q(
        "filters: all three",
        "teren",
        collection=("urbanism", "registratura"),
        access_level=(AccessLevel.public, AccessLevel.internal),
        date_from="2010-01-01",
        date_to="2019-12-31",
    ),
)


@dataclass(frozen=True)
class QueryResult:
    label: str
    query: str
    filters: dict[str, object]
    documents_found: int
    # False: documents_found is a lower bound (the query matched more than COUNT_LIMIT pages)
    total_exact: bool
    p50_ms: float
    p95_ms: float
    max_ms: float


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; q in [0, 100]."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def clear_result_cache(index: SearchIndex) -> None:
    """Forget answers the backend keeps for repeated requests (Elasticsearch's shard request
    cache, which holds the counting aggregation of a search), so that a timed run costs what a
    query not asked before costs. SQLite keeps no answers."""
    from arhiva.indexing.elastic import ElasticIndex

    if isinstance(index, ElasticIndex):
        index.es.indices.clear_cache(index=",".join(index.aliases()), request=True)


def wait_for_merges(index: SearchIndex, limit_s: float = 300) -> float:
    """Elasticsearch goes on merging segments for a while after a bulk load; a portal queries an
    index long past that. Wait (untimed, at most `limit_s`) until no merge runs; returns the
    seconds waited. SQLite has nothing running in the background."""
    from arhiva.indexing.elastic import ElasticIndex

    if not isinstance(index, ElasticIndex):
        return 0.0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        stats = index.es.indices.stats(index=",".join(index.aliases()), metric="merge")
        if not stats["_all"]["primaries"]["merges"]["current"]:
            break
        time.sleep(1)
    return time.perf_counter() - t0


# Words and filters other than those of QUERIES, for the node's warm-up: it compiles and loads what any
# search needs, without caching anything of the timed queries.
WARM_UP: tuple[Query, ...] = (
    _q("word", "cadastral"),
    _q("word", "inspector"),
    _q("name", "Popescu"),
    _q("word", "șantier"),
    _q("word, no diacritics", "santier"),
    _q("word", "intravilan"),
    _q("word, cedilla spelling", "şedinţa"),
    _q("two words", "recepția trotuarelor"),
    _q("phrase", '"sala de lectură"'),
    _q("phrase", '"certificatul de urbanism"'),
    _q("prefix", "contest*"),
    _q("prefix", "valabil*"),
    _q("absent word", "ghețar"),
    _q("filter: collection", "cuantum", collection=("registratura",)),
    _q("filter: access level", "primarul", access_level=(AccessLevel.internal,)),
    _q("filter: date range", "vecinilor", date_from="1995-01-01", date_to="1999-12-31"),
)


def warm_up(index: SearchIndex, runs: int) -> None:
    """WARM_UP, `runs` rounds, untimed, each search after clear_result_cache() as when timed."""
    for _ in range(runs):
        for q in WARM_UP:
            clear_result_cache(index)
            index.search(q.request)


def run_queries(index: SearchIndex, runs: int) -> tuple[list[QueryResult], list[float]]:
    """The node warmed up with other queries (warm_up), then every query once (all of them
    before any is timed), then each `runs` times, each run after clear_result_cache() (not
    timed); returns per-query figures and all timings."""
    per_query: list[QueryResult] = []
    every: list[float] = []
    warm_up(index, runs)
    answers = [index.search(q.request) for q in QUERIES]  # untimed: counts, and each query's first run
    for q, warm in zip(QUERIES, answers, strict=True):
        found = warm.total_documents
        timings: list[float] = []
        for _ in range(runs):
            clear_result_cache(index)
            t0 = time.perf_counter()
            index.search(q.request)
            timings.append((time.perf_counter() - t0) * 1000)
        every += timings
        per_query.append(
            QueryResult(
                label=q.label,
                query=q.request.query,
                filters=q.request.filters.model_dump(mode="json", exclude_defaults=True),
                documents_found=found,
                total_exact=warm.total_exact,
                p50_ms=round(percentile(timings, 50), 2),
                p95_ms=round(percentile(timings, 95), 2),
                max_ms=round(max(timings), 2),
            )
        )
    return per_query, every


# -- backends --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackendResult:
    backend: str
    location: str
    load_1min_before: float
    pages: int
    pages_counted: int  # count_pages() after the rebuild
    documents: int
    bulk_s: float
    bulk_pages_per_s: float
    # pages / (bulk s - generator s): what the backend does with records handed to it (for
    # Elasticsearch only roughly: the generator runs on the client while the server works)
    bulk_pages_per_s_excl_generator: float | None
    p50_ms: float
    p95_ms: float
    mean_documents_found: float
    queries_with_no_result: int
    size_bytes: int
    # the size's parts: each access-level set's full-text index (SQLite: also the page text stored
    # once, the documents table and the rest)
    size_parts: dict[str, int]
    server_version: str
    queries: list[QueryResult]


def _sqlite_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def _sqlite_parts(path: Path) -> dict[str, int]:
    """Bytes of the index file's parts: the page text, the documents, each access-level set's
    full-text table (with its shadow tables), the rest (dbstat: pages in use)."""
    from arhiva.indexing.sqlite import fts_table
    from arhiva.indexing.visibility import CLEARANCES

    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        db.close()
    parts: dict[str, int] = {}
    for name, size in rows:
        part = next(
            (f"set {c.value}" for c in CLEARANCES if name.startswith(fts_table(c))),
            name if name in ("pages", "documents") else "other",
        )
        parts[part] = parts.get(part, 0) + int(size)
    return parts


def _elastic_parts(index: SearchIndex) -> dict[str, int]:
    """Primary store bytes of each access-level set's index."""
    from arhiva.indexing.elastic import ElasticIndex
    from arhiva.indexing.visibility import CLEARANCES

    assert isinstance(index, ElasticIndex)
    stats = index.es.indices.stats(index=",".join(index.aliases()), metric="store")["indices"]
    parts: dict[str, int] = {}
    for name, body in stats.items():
        clearance = next(c for c in CLEARANCES if name.startswith(f"{index.set_alias(c)}-v"))
        parts[f"set {clearance.value}"] = int(body["primaries"]["store"]["size_in_bytes"])
    return parts


def _elastic_size(index: SearchIndex) -> int:
    return sum(_elastic_parts(index).values())


def _server_version(index: SearchIndex) -> str:
    from arhiva.indexing.elastic import ElasticIndex

    if isinstance(index, ElasticIndex):
        # GET / (the client's info()) answers 405 on the Maven Central build: ask the nodes
        nodes = index.es.nodes.info(filter_path="nodes.*.version")["nodes"]
        return "Elasticsearch " + ", ".join(sorted({n["version"] for n in nodes.values()}))
    return f"SQLite {sqlite3.sqlite_version}"


def bench_backend(
    index: SearchIndex, location: str, pages: int, seed: int, runs: int, generator_s: float
) -> BackendResult:
    load_before = os.getloadavg()[0]
    print(f"[{index.backend}] indexing {pages} pages with rebuild() ...", flush=True)
    documents = 0

    def counted() -> Iterator[DocumentRecords]:
        nonlocal documents
        for item in synthetic_documents(pages, seed):
            documents += 1
            yield item

    t0 = time.perf_counter()
    written = index.rebuild(counted())
    bulk_s = time.perf_counter() - t0
    index.refresh()  # a no-op after rebuild() for both backends; kept outside the timing
    counted_pages = index.count_pages()
    print(f"[{index.backend}] {written} records written in {bulk_s:.1f} s; count_pages() = {counted_pages}")
    if written != pages or counted_pages != pages:
        print(f"warning: [{index.backend}] expected {pages} pages", file=sys.stderr)

    searched = search_figures(index, runs, "")  # before the size: merges shrink Elasticsearch's store
    if index.backend == "sqlite":
        size = _sqlite_size(Path(location) / "index.sqlite")
        parts = _sqlite_parts(Path(location) / "index.sqlite")
    else:
        parts = _elastic_parts(index)
        size = sum(parts.values())
    return BackendResult(
        backend=index.backend,
        location=location,
        load_1min_before=round(load_before, 2),
        pages=pages,
        pages_counted=counted_pages,
        documents=documents,
        bulk_s=round(bulk_s, 2),
        bulk_pages_per_s=round(pages / bulk_s, 1),
        bulk_pages_per_s_excl_generator=round(pages / (bulk_s - generator_s), 1)
        if bulk_s > generator_s
        else None,
        size_bytes=size,
        size_parts=parts,
        server_version=_server_version(index),
        **searched,
    )


def search_figures(index: SearchIndex, runs: int, intro: str) -> dict[str, Any]:
    """The search half of a BackendResult: waits (untimed) for segment merges, then times QUERIES."""
    settled = wait_for_merges(index)
    if settled:
        print(f"[{index.backend}] waited {settled:.0f} s (untimed) for background segment merges to end")
    print(
        f"[{index.backend}] {intro}{len(WARM_UP)} other queries x {runs} (warm-up), "
        f"then {len(QUERIES)} queries x (1 warm-up + {runs}) ...",
        flush=True,
    )
    per_query, every = run_queries(index, runs)
    found = [q.documents_found for q in per_query]
    return {
        "p50_ms": round(percentile(every, 50), 2),
        "p95_ms": round(percentile(every, 95), 2),
        "mean_documents_found": round(statistics.fmean(found), 1),
        "queries_with_no_result": sum(1 for f in found if f == 0),
        "queries": per_query,
    }


def bench_queries(index: SearchIndex, location: str, runs: int) -> BackendResult:
    """The search half of bench_backend() on an index built earlier (`--es-alias`): no bulk figures."""
    load_before = os.getloadavg()[0]
    pages = index.count_pages()
    searched = search_figures(index, runs, f"{pages} pages indexed before; ")
    return BackendResult(
        backend=index.backend,
        location=location,
        load_1min_before=round(load_before, 2),
        pages=pages,
        pages_counted=pages,
        documents=index.count_documents(),
        bulk_s=0.0,
        bulk_pages_per_s=0.0,
        bulk_pages_per_s_excl_generator=None,
        size_bytes=_elastic_size(index),
        size_parts=_elastic_parts(index),
        server_version=_server_version(index),
        **searched,
    )


def run_sqlite(pages: int, seed: int, runs: int, generator_s: float) -> BackendResult:
    folder = Path(tempfile.mkdtemp(prefix="arhiva-bench-index-"))
    try:
        index = open_index(folder, "sqlite")
        try:
            return bench_backend(index, str(folder), pages, seed, runs, generator_s)
        finally:
            index.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_elastic(
    url: str, pages: int, seed: int, runs: int, generator_s: float, alias: str | None = None
) -> BackendResult:
    from arhiva.indexing.elastic import ElasticIndex

    if alias:  # time only the queries, on pages indexed before
        index = ElasticIndex(url, alias, create=False)
        try:
            return bench_queries(index, f"{url.rstrip('/')}/{alias}", runs)
        finally:
            index.close()
    location = f"{url.rstrip('/')}/bench-{secrets.token_hex(4)}"
    index = open_index(Path(tempfile.gettempdir()), location)
    assert isinstance(index, ElasticIndex)
    try:
        return bench_backend(index, location, pages, seed, runs, generator_s)
    finally:
        names = index.indices()
        if names:
            index.es.indices.delete(index=",".join(names), ignore_unavailable=True)
        index.close()


def es_script(command: str, port: int, heap: str = "2g") -> str:
    """Run scripts/elasticsearch; returns the last line it printed (the URL, for start)."""
    env = {**os.environ, "ARHIVA_ES_PORT": str(port), "ARHIVA_ES_HEAP": heap}
    proc = subprocess.run([str(ES_SCRIPT), command], env=env, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"`ARHIVA_ES_PORT={port} {ES_SCRIPT} {command}` failed ({proc.returncode})")
    lines = proc.stdout.strip().splitlines()
    return lines[-1].strip() if lines else ""


# -- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    timestamp: str
    pages: int
    seed: int
    runs_per_query: int
    cpu_count: int
    load_1min_at_start: float
    load_1min_at_end: float
    # peak resident memory of this process (generator, client, SQLite), after every backend
    max_rss_mb: float
    generator: GeneratorStats
    backends: list[BackendResult]
    arhiva_version: str
    python: str
    git: str | None


def _git_describe() -> str | None:
    proc = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None


def _table(header: list[str], rows: list[list[str]]) -> str:
    """First column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded)

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def summary_table(results: list[BackendResult]) -> str:
    header = [
        "backend",
        "pages",
        "bulk pages/s",
        "excl. generator",
        "bulk s",
        "p50 ms",
        "p95 ms",
        "mean docs found",
        "size MB",
        "load before",
    ]
    rows = [
        [
            r.backend,
            str(r.pages),
            f"{r.bulk_pages_per_s:.0f}",
            "-" if r.bulk_pages_per_s_excl_generator is None else f"~{r.bulk_pages_per_s_excl_generator:.0f}",
            f"{r.bulk_s:.1f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.mean_documents_found:.0f}",
            f"{r.size_bytes / 1e6:.0f}",
            f"{r.load_1min_before:.2f}",
        ]
        for r in results
    ]
    return _table(header, rows)


def query_table(results: list[BackendResult]) -> str:
    header = ["query"]
    for r in results:
        header += [f"{r.backend} docs", f"{r.backend} p50 ms", f"{r.backend} p95 ms"]
    rows = []
    for i, q in enumerate(QUERIES):
        shown = f"{q.label}: {q.request.query}"
        row = [shown]
        for r in results:
            found = r.queries[i]
            row += [
                ("" if found.total_exact else "≥") + str(found.documents_found),
                f"{r.queries[i].p50_ms:.1f}",
                f"{r.queries[i].p95_ms:.1f}",
            ]
        rows.append(row)
    return _table(header, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.index", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=100_000, help="pages to index [100000]")
    parser.add_argument("--seed", type=int, default=1, help="generator seed [1]")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each query [10]")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)} [both]"
    )
    parser.add_argument(
        "--es-url", help="an Elasticsearch node to use; default: start one with scripts/elasticsearch"
    )
    parser.add_argument(
        "--es-alias",
        help="with --es-url: time only the queries, on the pages behind this existing alias (kept); "
        "no bulk figures",
    )
    parser.add_argument("--es-port", type=int, default=9260, help="port of the node started [9260]")
    parser.add_argument("--es-heap", default="2g", help="Java heap of the node started [2g]")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or any(b not in BACKENDS for b in backends):
        parser.error(f"--backends: choose among {', '.join(BACKENDS)}")
    if args.pages < 1 or args.runs < 1:
        parser.error("--pages and --runs must be at least 1")
    if args.es_alias and (not args.es_url or backends != ["elasticsearch"]):
        parser.error("--es-alias needs --es-url and --backends elasticsearch")

    load_at_start = os.getloadavg()[0]
    if args.es_alias:
        gen = GeneratorStats(0, 0, 0.0, 0, {}, 0.0)
    else:
        gen = measure_generator(args.pages, args.seed)
        print(
            f"generator alone: {gen.pages} pages in {gen.documents} documents, "
            f"{gen.mean_chars_per_page:.0f} characters a page on average, "
            f"{gen.distinct_page_texts_in_first_10000} distinct texts among the first 10000 pages, "
            f"pages with rare words: {gen.pages_with_rare_words}, "
            f"{gen.seconds:.1f} s (included in the bulk times below)",
            flush=True,
        )

    results: list[BackendResult] = []
    for backend in backends:
        if backend == "sqlite":
            results.append(run_sqlite(args.pages, args.seed, args.runs, gen.seconds))
            continue
        started = False
        url = args.es_url
        try:
            if not url:
                print(f"starting Elasticsearch on port {args.es_port} ...", flush=True)
                url = es_script("start", args.es_port, args.es_heap)
                started = True
            results.append(run_elastic(url, args.pages, args.seed, args.runs, gen.seconds, args.es_alias))
        finally:
            if started:
                es_script("stop", args.es_port)

    report = Results(
        timestamp=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        pages=args.pages,
        seed=args.seed,
        runs_per_query=args.runs,
        cpu_count=os.cpu_count() or 1,
        load_1min_at_start=round(load_at_start, 2),
        load_1min_at_end=round(os.getloadavg()[0], 2),
        max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        generator=gen,
        backends=results,
        arhiva_version=arhiva.__version__,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        git=_git_describe(),
    )

    print()
    print(summary_table(results))
    for r in results:
        shown = ", ".join(f"{part} {size / 1e6:.0f}" for part, size in sorted(r.size_parts.items()))
        print(f"{r.backend} size MB by part: {shown}")
    print()
    print(query_table(results))
    print()
    print(
        f"versions: {'; '.join(r.server_version for r in results)}; "
        f"1-min load average {report.load_1min_at_start:.2f} at start, {report.load_1min_at_end:.2f} at end; "
        f"{report.cpu_count} CPUs; peak RSS of this process {report.max_rss_mb:.0f} MB"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"index-{stamp}.json"
    out.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
