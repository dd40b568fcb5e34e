"""The Elasticsearch backend: the index the portal queries.

Contract (see docs/search-contract.md): one record per page, in one index per clearance
(visibility.py: the `public` set holds the public pages, `internal` the public and internal
ones, `restricted` all of them), each a versioned index `<alias>-<clearance>-v<schema>-<build
time>` behind the alias `<alias>-<clearance>` (default alias `arhiva-pages`); a search reads
the set of its caller's clearance only, so Elasticsearch's term statistics, and every score
and count, cover what that caller may see. Mapping kept as data in schemas/es/, `dynamic:
strict`, `_meta.schema_version` (and `_meta.clearance`, set per index). Record ids are
`<document id>-<page>`: content-derived, so indexing again overwrites instead of duplicating.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, TransportError
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.serializer import OrjsonSerializer

from arhiva.indexing.base import DocumentRecords, IndexingError, IndexVersionError
from arhiva.indexing.folding import fold
from arhiva.indexing.query import parse_query
from arhiva.indexing.visibility import ALL, CLEARANCES, scope, sets_holding, sets_not_holding
from arhiva.schemas.models import AccessLevel, IndexRecord
from arhiva.schemas.search import (
    COUNT_LIMIT,
    FACET_FIELDS,
    HIT_FIELDS,
    MARK_END,
    MARK_START,
    FacetCount,
    SearchFilters,
    SearchHit,
    SearchRequest,
    SearchResult,
)

# 5: one index per clearance (4 had one index of every page, whatever its access level).
SCHEMA_VERSION = 5
DEFAULT_ALIAS = "arhiva-pages"
MAX_PAGES_PER_HIT = 100
MAX_FACET_VALUES = 50
# Bulk requests of at most this many actions or bytes (a page record is about 3.7 KB as JSON).
BULK_CHUNK_RECORDS = 2000
BULK_CHUNK_BYTES = 8 * 1024 * 1024
# Bulk requests in flight during a rebuild: the server indexes these while the client builds
# the next one.
BULK_IN_FLIGHT = 3
BULK_RETRIES = 3  # records refused with 429 (the server's write queue full) are sent again
# Only what tells whether and why records failed comes back from a bulk request.
_BULK_FILTER = ["errors", "items.*._id", "items.*.status", "items.*.error"]
_SOURCE_FIELDS = ["page", *HIT_FIELDS]


def index_definition(clearance: AccessLevel | None = None) -> dict[str, Any]:
    """The mapping and settings of the current schema version, as kept in schemas/es/; with a
    clearance, that of its set's index (named in `_meta.clearance`)."""
    text = (
        resources.files("arhiva.schemas")
        .joinpath(f"es/arhiva-pages.v{SCHEMA_VERSION}.json")
        .read_text("utf-8")
    )
    definition: dict[str, Any] = json.loads(text)
    if clearance is not None:
        definition["mappings"]["_meta"]["clearance"] = clearance.value
    return definition


def record_id(document_id: str, page: int) -> str:
    return f"{document_id}-{page:05d}"


FACET_KEY_SEPARATOR = "\x1f"  # record sheets refuse control characters, so no value holds it


def facet_key(collection: str | None, document_type: str | None, access_level: str, year: str | None) -> str:
    """A page's document-level facet values in one keyword: `=value` when present, empty when
    absent, joined by the unit separator (in FACET_FIELDS order)."""
    values = (collection, document_type, access_level, year)
    return FACET_KEY_SEPARATOR.join("" if v is None else f"={v}" for v in values)


def document_key(document_id: str) -> int:
    """The document id's first 16 hex digits as a signed 64-bit number: what the counting
    aggregation counts distinct values of (a number is hashed directly; the keyword needs a
    look-up per value and a bitset per facet group)."""
    key = int(document_id[:16], 16)
    return key - (1 << 64) if key >= 1 << 63 else key


def parse_facet_key(key: str) -> dict[str, str | None]:
    parts = key.split(FACET_KEY_SEPARATOR)
    return {name: (p[1:] if p else None) for name, p in zip(FACET_FIELDS, parts, strict=True)}


@dataclass(frozen=True)
class _Action:
    """One bulk action: its NDJSON lines, and what it concerns (to name it when refused)."""

    index: str
    record_id: str
    lines: bytes


def _index_actions(
    records: Iterable[IndexRecord], targets: Callable[[AccessLevel], tuple[str, ...]]
) -> Iterator[_Action]:
    """An `index` action for each record in each index `targets` gives for its access level
    (the record's source serialised once for all of them)."""
    for r in records:
        rid = record_id(r.document_id, r.page)
        quoted_id = orjson.dumps(rid)
        source = orjson.dumps(to_source(r))
        for index in targets(r.access_level):
            yield _Action(
                index,
                rid,
                b'{"index":{"_index":%b,"_id":%b}}\n%b\n' % (orjson.dumps(index), quoted_id, source),
            )


def _delete_actions(where: Iterable[tuple[str, str]]) -> Iterator[_Action]:
    """A `delete` action for each (index, record id)."""
    for index, rid in where:
        yield _Action(
            index, rid, b'{"delete":{"_index":%b,"_id":%b}}\n' % (orjson.dumps(index), orjson.dumps(rid))
        )


def _chunks(actions: Iterable[_Action]) -> Iterator[list[_Action]]:
    """Bulk request bodies of at most BULK_CHUNK_RECORDS actions or about BULK_CHUNK_BYTES."""
    chunk: list[_Action] = []
    size = 0
    for action in actions:
        chunk.append(action)
        size += len(action.lines)
        if len(chunk) >= BULK_CHUNK_RECORDS or size >= BULK_CHUNK_BYTES:
            yield chunk
            chunk = []
            size = 0
    if chunk:
        yield chunk


def to_source(r: IndexRecord) -> dict[str, Any]:
    """The record as indexed (built by hand: model_dump per page is a large share of a bulk)."""
    issue_date = r.issue_date.isoformat() if r.issue_date else None
    return {
        "document_id": r.document_id,
        "page": r.page,
        "title": r.title,
        "collection": r.collection,
        "document_type": r.document_type,
        "issue_date": issue_date,
        "registration_number": r.registration_number,
        "access_level": r.access_level.value,
        "pdf_path": r.pdf_path,
        "text": r.text,
        "text_folded": fold(r.text),
        "facet_key": facet_key(
            r.collection, r.document_type, r.access_level.value, issue_date and issue_date[:4]
        ),
        "document_key": document_key(r.document_id),
    }


def build_query(request: SearchRequest, filters: SearchFilters | None = None) -> dict[str, Any] | None:
    """The Elasticsearch query for a request (with `filters` instead of the request's own), or
    None when the query has no words."""
    must: list[dict[str, Any]] = []
    for term in parse_query(request.query):
        words = fold(" ".join(term.words))
        if term.prefix:  # one word (parse_query)
            # Every word with this beginning, each page scoring the same: Lucene stops once it
            # has the pages it needs (match_phrase_prefix scored 50 expansions over every match).
            must.append({"prefix": {"text_folded": {"value": words.lower()}}})
        elif len(term.words) > 1:
            must.append({"match_phrase": {"text_folded": {"query": words}}})
        else:
            must.append({"match": {"text_folded": {"query": words}}})
    if not must:
        return None
    return {"bool": {"must": must, "filter": _filters(request.filters if filters is None else filters)}}


def _filters(f: SearchFilters) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field, values in (
        ("collection", list(f.collection)),
        ("document_type", list(f.document_type)),
        ("access_level", [v.value for v in f.access_level]),
    ):
        if values:
            out.append({"terms": {field: values}})
    if f.date_from or f.date_to:
        rng: dict[str, str] = {}
        if f.date_from:
            rng["gte"] = f.date_from.isoformat()
        if f.date_to:
            rng["lte"] = f.date_to.isoformat()
        out.append({"range": {"issue_date": rng}})
    return out


MAX_FACET_GROUPS = 10_000  # facet groups counted in one aggregation; beyond, one per facet
MAX_WINDOW = 10_000  # index.max_result_window
# Documents per facet group: below the threshold the count is exact but for hash collisions
# (64-bit); a lower threshold made the aggregation cheaper in the benchmark (100k pages).
_DOCUMENTS = {"cardinality": {"field": "document_key", "precision_threshold": 3000}}
# The snippet is highlighted on text_folded (the one analysed field, stored for this) with tags
# no OCR text holds, then laid onto the original text at the same character positions.
_TAG_START, _TAG_END = "\x02", "\x03"
_HIGHLIGHT = {
    "fields": {
        "text_folded": {
            "type": "unified",
            "number_of_fragments": 1,
            "fragment_size": 200,
            "no_match_size": 200,
            "pre_tags": [_TAG_START],
            "post_tags": [_TAG_END],
        }
    }
}


def unfold_highlight(fragment: str, text: str) -> str:
    """A passage highlighted on the folded text, shown on the original `text`: the passage is
    found in fold(text) (folding keeps every character in place) and the same span of `text`
    is returned with the matches in MARK_START/MARK_END. If it is not found (an index built by
    another folding), the folded passage is returned as it is."""
    plain: list[str] = []
    marks: list[tuple[int, str]] = []
    at = 0
    for ch in fragment:
        if ch in (_TAG_START, _TAG_END):
            marks.append((at, MARK_START if ch == _TAG_START else MARK_END))
        else:
            plain.append(ch)
            at += 1
    passage = "".join(plain)
    start = fold(text).find(passage)
    if start >= 0:
        passage = text[start : start + len(passage)]
    out: list[str] = []
    prev = 0
    for pos, tag in marks:
        out.append(passage[prev:pos])
        out.append(tag)
        prev = pos
    out.append(passage[prev:])
    if marks and marks[-1][1] == MARK_START:
        # A passage cut inside a match (a phrase across the fragment's end) comes without the
        # closing tag: close it where the passage ends.
        out.append(MARK_END)
    return "".join(out)


@dataclass(frozen=True)
class _Best:
    document_id: str
    page: int
    score: float


@dataclass(frozen=True)
class _Counted:
    total: int
    exact: bool
    facets: dict[str, tuple[FacetCount, ...]]


def _top_facets(counts: Iterable[tuple[str, int]]) -> tuple[FacetCount, ...]:
    """Most documents first, then by value; at most 50, as the SQLite index gives them."""
    ordered = sorted(counts, key=lambda c: (-c[1], c[0]))[:MAX_FACET_VALUES]
    return tuple(FacetCount(value=v, count=n) for v, n in ordered)


def _facet_aggs() -> dict[str, Any]:
    per_doc = {"documents": _DOCUMENTS}
    aggs: dict[str, Any] = {
        name: {"terms": {"field": name, "size": MAX_FACET_VALUES}, "aggs": per_doc}
        for name in FACET_FIELDS
        if name != "year"
    }
    aggs["year"] = {
        "date_histogram": {
            "field": "issue_date",
            "calendar_interval": "year",
            "format": "yyyy",
            "min_doc_count": 1,
        },
        "aggs": per_doc,
    }
    return aggs


# The 4xx answers a later try may not get (a request timeout, the node too busy); other 4xx
# answers come again for the same request, 5xx answers (a failing node) may pass.
_PASSING_STATUSES = frozenset({408, 429})


def _indexing_error(url: str, doing: str, exc: ApiError | TransportError) -> IndexingError:
    """The client's error as arhiva's, naming the node and what failed. An answer of 4xx (a bad
    request, a missing index) is not retryable; a node unreachable, slow or failing (5xx) is."""
    if isinstance(exc, EsConnectionError):
        error = IndexingError(f"Elasticsearch at {url} cannot be reached while {doing}: {exc}")
    elif isinstance(exc, ConnectionTimeout):
        error = IndexingError(f"Elasticsearch at {url} did not answer in time while {doing}: {exc}")
    else:
        error = IndexingError(f"Elasticsearch at {url} failed while {doing}: {exc}")
    if isinstance(exc, ApiError):
        status = exc.status_code
        error.retryable = status >= 500 or status in _PASSING_STATUSES
    return error


_REBUILD = "run `arhiva reindex` to rebuild it from the archive"


class ElasticIndex:
    """SearchIndex on Elasticsearch 8. Every public method raises arhiva's errors only: the
    client's (transport failures and HTTP error answers) become IndexingError.

    `alias` names the index set: one alias per clearance, `<alias>-<clearance>` (visibility.py),
    each over one versioned index `<alias>-<clearance>-v<schema>-<build time>`. A search reads
    the alias of its clearance; what concerns every document (counts of the whole index, its
    document ids) reads the `restricted` one, which holds them all."""

    backend = "elasticsearch"

    def __init__(
        self, url: str, alias: str = DEFAULT_ALIAS, *, create: bool = True, count_limit: int = COUNT_LIMIT
    ) -> None:
        self.url = url
        self.alias = alias
        # A search counts documents over at most count_limit + 1 matching pages (see search()).
        self.count_limit = count_limit
        self.es = Elasticsearch(
            url,
            request_timeout=60,
            retry_on_timeout=True,
            max_retries=3,
            serializer=OrjsonSerializer(),
        )
        # The counting aggregation of a search runs on this pool, beside the hits requests.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="arhiva-es-search")
        try:
            with self._failures(f"opening {alias}"):
                behind = self._aliased()
                # An index of another schema version (or an incomplete set) is refused by every
                # call but rebuild(), which is what replaces it (`arhiva reindex`).
                self._version_problem: str | None = self._layout_problem(behind) if behind else None
                if not behind and create:
                    created = {c: self._create_index(c) for c in CLEARANCES}
                    self.es.indices.update_aliases(
                        actions=[
                            {"add": {"index": name, "alias": self.set_alias(c)}}
                            for c, name in created.items()
                        ]
                    )
        except BaseException:
            self._pool.shutdown(wait=False)
            self.es.close()
            raise

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Inside: the client's errors become IndexingError (arhiva's own pass unchanged)."""
        try:
            yield
        except (ApiError, TransportError) as exc:
            raise _indexing_error(self.url, doing, exc) from exc

    # -- index management ----------------------------------------------------------------

    def set_alias(self, clearance: AccessLevel) -> str:
        """The alias of a clearance's set: `<alias>-public`, `<alias>-internal`, `<alias>-restricted`."""
        return f"{self.alias}-{clearance.value}"

    def aliases(self) -> list[str]:
        """Every set's alias, public first."""
        return [self.set_alias(c) for c in CLEARANCES]

    def _create_index(self, clearance: AccessLevel, *, building: bool = False) -> str:
        """A new versioned index for a clearance's set; `building`: not refreshed and translog
        synced in the background until rebuild() sets the schema's settings back."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.set_alias(clearance)}-v{SCHEMA_VERSION}-{stamp}"
        definition = index_definition(clearance)
        settings = dict(definition["settings"])
        if building:
            settings.update({"refresh_interval": "-1", "translog.durability": "async"})
        self.es.indices.create(index=name, settings=settings, mappings=definition["mappings"])
        return name

    def _aliased(self) -> dict[str, list[str]]:
        """Each of this index's aliases that exists (the sets' and, from schema 4 and before,
        the bare `alias`) -> the indices behind it."""
        ours = {self.alias, *self.aliases()}
        behind: dict[str, list[str]] = {}
        # A pattern: an answer (possibly empty) even when some of the aliases do not exist.
        for index, body in self.es.indices.get_alias(name=f"{self.alias}*").items():
            for name in body.get("aliases", {}):
                if name in ours:
                    behind.setdefault(name, []).append(index)
        return {name: sorted(indices) for name, indices in behind.items()}

    def indices(self) -> list[str]:
        """The indices behind this index's aliases (none when no alias exists)."""
        with self._failures(f"listing the indices behind {self.alias}"):
            return sorted({i for indices in self._aliased().values() for i in indices})

    def _layout_problem(self, behind: dict[str, list[str]]) -> str | None:
        """Why the existing aliases are not this schema's set of indices, or None."""
        if self.alias in behind:  # schema 4 and before: one index for every page
            name = behind[self.alias][0]
            return self._outdated(name, self.alias, self._meta(name).get("schema_version"))
        for clearance in CLEARANCES:
            alias = self.set_alias(clearance)
            if len(behind.get(alias, ())) != 1:
                return (
                    f"{alias} is missing or names several indices: the index set of {self.alias} "
                    f"is incomplete; {_REBUILD}"
                )
            name = behind[alias][0]
            meta = self._meta(name)
            if meta.get("schema_version") != SCHEMA_VERSION:
                return self._outdated(name, alias, meta.get("schema_version"))
            if meta.get("clearance") != clearance.value:
                return (
                    f"index {name} behind {alias} is the set of {meta.get('clearance')}, "
                    f"not of {clearance.value}; {_REBUILD}"
                )
        return None

    @staticmethod
    def _outdated(name: str, alias: str, version: object) -> str:
        return f"index {name} behind {alias} has schema {version}, this arhiva needs {SCHEMA_VERSION}; {_REBUILD}"

    def _meta(self, index: str) -> dict[str, Any]:
        body = self.es.indices.get_mapping(index=index)[index]
        return dict(body["mappings"].get("_meta", {}))

    def _check_version(self) -> None:
        if self._version_problem:
            raise IndexVersionError(self._version_problem)

    # -- writing -------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[_Action], *, in_flight: int = 1) -> int:
        """Send the actions as NDJSON bulk requests (built by _index_actions, one orjson call
        per record), `in_flight` of them at once: a rebuild keeps the server busy while this
        process builds the next request. Actions refused because the server was busy (429) are
        sent again. Returns the actions done; raises IndexingError naming those refused."""
        written = 0
        failures: list[str] = []
        pending: deque[Future[tuple[int, list[str]]]] = deque()

        def settle(future: Future[tuple[int, list[str]]]) -> None:
            nonlocal written
            ok, failed = future.result()
            written += ok
            failures.extend(failed)

        with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="arhiva-es-bulk") as pool:
            try:
                for chunk in _chunks(actions):
                    while len(pending) >= in_flight:
                        settle(pending.popleft())
                    pending.append(pool.submit(self._send, chunk))
                while pending:
                    settle(pending.popleft())
            finally:
                for future in pending:
                    future.cancel()
        if failures:
            raise IndexingError(f"{len(failures)} page records were not indexed: " + "; ".join(failures[:5]))
        return written

    def _send(self, chunk: list[_Action]) -> tuple[int, list[str]]:
        """One bulk request; returns (actions done, failures). The answer's items come in the
        order of the request's actions."""
        written = 0
        failed: list[str] = []
        for attempt in range(BULK_RETRIES + 1):
            if attempt:
                time.sleep(0.5 * attempt)
            resp = self.es.bulk(operations=b"".join(a.lines for a in chunk), filter_path=_BULK_FILTER)
            if not resp.get("errors"):
                return written + len(chunk), failed
            busy: list[_Action] = []
            for action, item in zip(chunk, resp["items"], strict=True):
                info = next(iter(item.values()))
                if "error" not in info:
                    written += 1
                elif info.get("status") == 429 and attempt < BULK_RETRIES:
                    busy.append(action)
                else:
                    failed.append(f"{action.record_id} in {action.index}: {info.get('error')}")
            if not busy:
                break
            chunk = busy
        return written, failed

    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        """Index a document's pages in the set of every clearance that sees its level, after
        removing them from the sets below it (where a change of access level leaves them): a
        document moved up is out of sight before anything else is written. Its pages are fixed
        by its id (derived from their content), so indexing it again overwrites the same record
        ids and leaves nothing stale behind. No records: the document leaves every set."""
        self._check_version()
        rows = list(records)
        with self._failures(f"indexing {document_id}"):
            if not rows:
                self._delete_document(document_id)
                return 0
            level = rows[0].access_level
            below = [self.set_alias(c) for c in sets_not_holding(level)]
            if below:
                stale = self._present(below, [record_id(r.document_id, r.page) for r in rows])
                if stale:
                    self._bulk(_delete_actions(stale))
            self._bulk(_index_actions(rows, self._targets))
        return len(rows)

    def _targets(self, level: AccessLevel) -> tuple[str, ...]:
        """Where a record of this level is written: the alias of each set that holds it."""
        return tuple(self.set_alias(c) for c in sets_holding(level))

    def _present(self, indices: list[str], ids: list[str]) -> list[tuple[str, str]]:
        """(index, record id) of each of these records the indices hold, written or not yet
        refreshed (a real-time get)."""
        docs = [{"_index": index, "_id": rid} for index in indices for rid in ids]
        resp = self.es.mget(docs=docs, source=False)
        found = []
        for d in resp["docs"]:
            if "error" in d:
                raise IndexingError(
                    f"Elasticsearch at {self.url} failed while looking up {d['_id']}: {d['error']}"
                )
            if d.get("found"):
                found.append((d["_index"], d["_id"]))
        return found

    def _delete_document(self, document_id: str) -> None:
        """Every record of the document, in every set, deleted. Its pages are found by a search,
        which sees what was refreshed: refreshed first."""
        aliases = ",".join(self.aliases())
        query = {"term": {"document_id": document_id}}
        while True:
            self.es.indices.refresh(index=aliases)
            resp = self.es.search(
                index=aliases, query=query, size=MAX_WINDOW, source=False, track_total_hits=False
            )
            hits = resp["hits"]["hits"]
            if hits:
                self._bulk(_delete_actions((h["_index"], h["_id"]) for h in hits))
            if len(hits) < MAX_WINDOW:
                return

    def refresh(self) -> None:
        with self._failures(f"refreshing {self.alias}"):
            self.es.indices.refresh(index=",".join(self.aliases()))

    def rebuild(self, documents: Iterable[DocumentRecords]) -> int:
        """Build a new index for each set, then move the sets' aliases to them in one atomic
        `_aliases` call (removing an older schema's alias too).

        While they are built nobody searches them, so they are not refreshed and their translog
        is not synced on every request; both are set back to the schema's settings before the
        switch."""
        old = self.indices()
        written = 0

        def counted() -> Iterator[IndexRecord]:
            nonlocal written
            for _, records in documents:
                for r in records:
                    written += 1
                    yield r

        with self._failures(f"rebuilding {self.alias}"):
            new = {c: self._create_index(c, building=True) for c in CLEARANCES}
            try:
                targets = {level: tuple(new[c] for c in sets_holding(level)) for level in CLEARANCES}
                self._bulk(_index_actions(counted(), targets.__getitem__), in_flight=BULK_IN_FLIGHT)
                settings = index_definition()["settings"]
                names = ",".join(new.values())
                self.es.indices.put_settings(
                    index=names,
                    settings={
                        "refresh_interval": settings["refresh_interval"],
                        "translog.durability": "request",
                    },
                )
                self.es.indices.refresh(index=names)
                actions: list[dict[str, Any]] = [
                    {"remove": {"index": index, "alias": alias}}
                    for alias, indices in self._aliased().items()
                    for index in indices
                ]
                actions += [{"add": {"index": name, "alias": self.set_alias(c)}} for c, name in new.items()]
                self.es.indices.update_aliases(actions=actions)
            except BaseException:
                # Best effort: a node that went away must not hide why the rebuild failed.
                with suppress(ApiError, TransportError):
                    self.es.indices.delete(index=",".join(new.values()), ignore_unavailable=True)
                raise
            self._version_problem = None
            for name in old:
                self.es.indices.delete(index=name, ignore_unavailable=True)
        return written

    # -- reading -------------------------------------------------------------------------
    # What concerns every document reads the set that holds them all.

    @property
    def _everything(self) -> str:
        return self.set_alias(ALL)

    def has_document(self, document_id: str) -> bool:
        self._check_version()
        with self._failures(f"looking up {document_id} in {self._everything}"):
            query = {"term": {"document_id": document_id}}
            return self.es.count(index=self._everything, query=query)["count"] > 0

    def document_ids(self) -> Iterator[str]:
        yield from (doc_id for doc_id, _ in self.document_levels())

    def document_levels(self) -> Iterator[tuple[str, AccessLevel]]:
        self._check_version()
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [
                    {"id": {"terms": {"field": "document_id"}}},
                    {"level": {"terms": {"field": "access_level"}}},
                ],
            }
            if after:
                composite["after"] = after
            # Only the request is inside: what the caller does at each yield is not ours to wrap.
            with self._failures(f"listing the documents of {self._everything}"):
                resp = self.es.search(index=self._everything, size=0, aggs={"ids": {"composite": composite}})
            buckets = resp["aggregations"]["ids"]["buckets"]
            yield from ((b["key"]["id"], AccessLevel(b["key"]["level"])) for b in buckets)
            after = resp["aggregations"]["ids"].get("after_key")
            if not buckets or after is None:
                return

    def count_pages(self) -> int:
        self._check_version()
        with self._failures(f"counting the pages of {self._everything}"):
            return int(self.es.count(index=self._everything)["count"])

    def count_documents(self) -> int:
        """The sum of the documents of every facet group (see search()): exact as long as no
        combination of collection, type, access level and year holds 3,000 documents or more."""
        self._check_version()
        with self._failures(f"counting the documents of {self._everything}"):
            return self._count(self._everything, {"match_all": {}}).total

    # -- search --------------------------------------------------------------------------
    #
    # One search is three light requests instead of one heavy one (collapse over every match,
    # an inner_hits search per hit, cardinality per facet bucket):
    #   1. counting (on the pool, beside 2 and 3): one `terms` aggregation on facet_key with the
    #      documents (cardinality of document_id) of each group, over at most count_limit + 1
    #      matching pages (terminate_after); totals and facets are sums, exact when no more than
    #      count_limit pages match, else lower bounds.
    #   2. best pages: the top pages by score, no collapse, no total, so Lucene may skip what
    #      cannot enter the top; the first page of each document is its best.
    #   3. for the documents of this answer page, in one _msearch: their matching pages (a terms
    #      aggregation) and the highlighted snippet of each best page.

    def search(self, request: SearchRequest) -> SearchResult:
        """Every request below reads the set of the request's clearance (visibility.scope)."""
        self._check_version()
        scoped = scope(request.filters)
        query = build_query(request, scoped.filters)
        if query is None:
            return SearchResult(total_documents=0, hits=())
        index = self.set_alias(scoped.clearance)
        with self._failures(f"searching {index}"):
            counting = self._pool.submit(
                self._count, index, query, facets=request.facets, limit=self.count_limit
            )
            try:
                chosen = self._best_pages(index, query, request.offset, request.limit)
                hits = self._hits(index, query, chosen) if chosen else []
            except BaseException:
                # Never leave the counting running; its own failure would only hide this one.
                counting.cancel()
                wait([counting])
                raise
            counted = counting.result()  # the counting's failure is raised here, and wrapped
        return SearchResult(
            total_documents=counted.total, total_exact=counted.exact, hits=tuple(hits), facets=counted.facets
        )

    def _count(
        self, index: str, query: dict[str, Any], *, facets: bool = True, limit: int | None = None
    ) -> _Counted:
        """Documents in total and per facet value, over every matching page or, with `limit`,
        over at most limit + 1 of them (exact when no more than `limit` match)."""
        bounded: dict[str, Any] = {}
        if limit is not None:
            # The number of pages visited comes back in hits.total, cheaply: it is bounded.
            bounded = {"terminate_after": limit + 1, "track_total_hits": True}
        resp = self.es.search(
            index=index,
            size=0,
            query=query,
            **({"track_total_hits": False} | bounded),
            aggs={
                "groups": {
                    "terms": {"field": "facet_key", "size": MAX_FACET_GROUPS},
                    "aggs": {"documents": _DOCUMENTS},
                }
            },
        )
        exact = limit is None or int(resp["hits"]["total"]["value"]) <= limit
        groups = resp["aggregations"]["groups"]
        if groups.get("sum_other_doc_count"):
            return self._count_per_facet(index, query, facets=facets, bounded=bounded, exact=exact)
        total = 0
        counts: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
        for bucket in groups["buckets"]:
            n = int(bucket["documents"]["value"])
            total += n
            for name, value in parse_facet_key(bucket["key"]).items():
                if value is not None:
                    counts[name][value] += n
        if not facets:
            return _Counted(total, exact, {})
        return _Counted(total, exact, {name: _top_facets(c.items()) for name, c in counts.items()})

    def _count_per_facet(
        self, index: str, query: dict[str, Any], *, facets: bool, bounded: dict[str, Any], exact: bool
    ) -> _Counted:
        """More facet groups than one aggregation returns: a cardinality per facet bucket."""
        aggs: dict[str, Any] = {
            "documents": {"cardinality": {"field": "document_key", "precision_threshold": 40000}}
        }
        if facets:
            aggs.update(_facet_aggs())
        resp = self.es.search(
            index=index, size=0, query=query, **({"track_total_hits": False} | bounded), aggs=aggs
        )
        out = {}
        if facets:
            for name in FACET_FIELDS:
                out[name] = _top_facets(
                    (str(b.get("key_as_string", b["key"])), int(b["documents"]["value"]))
                    for b in resp["aggregations"][name]["buckets"]
                )
        return _Counted(int(resp["aggregations"]["documents"]["value"]), exact, out)

    def _best_pages(self, index: str, query: dict[str, Any], offset: int, limit: int) -> list[_Best]:
        """The best page of each document of the answer page, best first."""
        wanted = offset + limit
        # A window of pages a few times the documents wanted, then a wider one (equal scores, as
        # a prefix gives, list a document's pages one after another), then collapse.
        for size in (wanted * 3 + 20, wanted * 16 + 80):
            size = min(MAX_WINDOW, size)
            resp = self.es.search(index=index, query=query, size=size, source=False, track_total_hits=False)
            best: dict[str, _Best] = {}
            for h in resp["hits"]["hits"]:
                doc_id, _, page = h["_id"].rpartition("-")
                if doc_id not in best:
                    best[doc_id] = _Best(doc_id, int(page), float(h["_score"] or 0.0))
            if len(best) >= wanted or len(resp["hits"]["hits"]) < size:
                return list(best.values())[offset:wanted]
            if size == MAX_WINDOW:
                break
        # Documents with many matching pages each filled the window: collapse instead.
        resp = self.es.search(
            index=index,
            query=query,
            collapse={"field": "document_id"},
            from_=offset,
            size=limit,
            source=False,
            track_total_hits=False,
        )
        out = []
        for h in resp["hits"]["hits"]:
            doc_id, _, page = h["_id"].rpartition("-")
            out.append(_Best(doc_id, int(page), float(h["_score"] or 0.0)))
        return out

    def _hits(self, index: str, query: dict[str, Any], chosen: list[_Best]) -> list[SearchHit]:
        ids = [b.document_id for b in chosen]
        pages_request = {
            "size": 0,
            "query": {"bool": {"filter": [query, {"terms": {"document_id": ids}}]}},
            "aggs": {
                "docs": {
                    "terms": {"field": "document_id", "size": len(ids)},
                    "aggs": {
                        "pages": {
                            "terms": {"field": "page", "size": MAX_PAGES_PER_HIT, "order": {"_key": "asc"}}
                        }
                    },
                }
            },
        }
        snippets_request = {
            "size": len(chosen),
            "query": {
                "bool": {
                    "must": [query],
                    "filter": [{"ids": {"values": [record_id(b.document_id, b.page) for b in chosen]}}],
                }
            },
            "_source": [*_SOURCE_FIELDS, "text"],
            "highlight": _HIGHLIGHT,
            "track_total_hits": False,
        }
        pages_resp, snippets_resp = self.es.msearch(
            index=index, searches=[{}, pages_request, {}, snippets_request]
        )["responses"]
        for resp in (pages_resp, snippets_resp):
            if "error" in resp:
                raise IndexingError(f"Elasticsearch at {self.url} failed a search: {resp['error']}")
        pages = {
            b["key"]: tuple(int(p["key"]) for p in b["pages"]["buckets"])
            for b in pages_resp["aggregations"]["docs"]["buckets"]
        }
        records = {h["_id"]: h for h in snippets_resp["hits"]["hits"]}
        hits = []
        for b in chosen:
            h = records[record_id(b.document_id, b.page)]
            src = h["_source"]
            fragments = h.get("highlight", {}).get("text_folded", [""])
            hits.append(
                SearchHit(
                    pages=pages.get(b.document_id, (b.page,)),
                    snippet=" ".join(unfold_highlight(fragments[0], src.get("text", "")).split()),
                    snippet_page=b.page,
                    score=round(b.score, 4),
                    **{name: src.get(name) for name in HIT_FIELDS},
                )
            )
        return hits

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._failures("closing its connections"):
            self.es.close()
