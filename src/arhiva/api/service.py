"""What the API's routes and its operator page share: the service (archive, index, keys,
sessions, limits) and how a request finds it. app.py (the JSON routes), ui.py (the operator
page) and gate.py (the key check at the door) import from here; this module imports none of
them."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic_core import from_json

from arhiva.api.errors import Problem, not_found
from arhiva.api.limits import ApiLimits, TokenBucket, retry_after
from arhiva.api.sessions import SessionStore
from arhiva.archive.package import METADATA_NAME, OCR_NAME, PDF_NAME, package_dir
from arhiva.errors import IndexingError, IndexVersionError
from arhiva.indexing.base import SearchIndex
from arhiva.indexing.open import open_index
from arhiva.keys import ApiKey, KeyStore, visible_levels
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    ArchivedFile,
    DocumentMetadata,
    FileKind,
    SourceFile,
)
from arhiva.schemas.search import FACET_FIELDS, SearchRequest, SearchResult

log = logging.getLogger("arhiva.api")

MAX_RESULT_WINDOW = 10_000  # offset + limit; Elasticsearch's index.max_result_window
_DOCUMENT_ID = re.compile(r"^[0-9a-f]{64}$")


# -- the service -------------------------------------------------------------------------------


class Service:
    """What the routes share: the archive, the index, the keys and the limits."""

    def __init__(
        self, archive: Path, index_location: str | None, limits: ApiLimits, index: SearchIndex | None = None
    ) -> None:
        self.archive = archive
        self.index_location = index_location
        self.limits = limits
        self.owns_index = index is None
        self._index = index
        self.keys = KeyStore(archive)
        self.buckets = TokenBucket(limits.rate_per_s, limits.burst, limits.max_callers)
        self.sessions = SessionStore(limits.session_s, limits.max_sessions)
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()

    @property
    def index(self) -> SearchIndex:
        """The index, opened at first use (and again after a shutdown, if the app is restarted)."""
        with self._open_lock:
            if self._index is None:
                self._index = open_index(self.archive, self.index_location)
            return self._index

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.limits.search_threads, thread_name_prefix="arhiva-search"
                )
            return self._pool

    def close(self) -> None:
        with self._lock, self._open_lock:
            pool, self._pool = self._pool, None
            index = self._index if self.owns_index else None
            if self.owns_index:
                self._index = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if index is not None:
            index.close()

    # -- callers -------------------------------------------------------------------------

    def authenticate(self, client: str | None, bearer: str | None, session: str | None) -> ApiKey:
        """The key a request is made with: its bearer token, else its operator page session.
        Rate limited per key, and failures per client address (so guessing costs time).

        `client` is the caller's address as the server resolved it: the peer's, or the one a
        trusted proxy forwarded (ARHIVA_API_TRUSTED_PROXIES), never a forwarded one otherwise."""
        if bearer:
            key = self.keys.authenticate(bearer)
        elif session:
            key = self.session_key(session)
        else:
            key = None
        if key is None:
            self._limit(f"addr:{address_bucket(client)}")
            raise unauthorized()
        self._limit(f"key:{key.key_id}")
        return key

    def session_key(self, token: str) -> ApiKey | None:
        """The key of an open operator page session; a session of a revoked key ends here."""
        key_id = self.sessions.key_id(token)
        if key_id is None:
            return None
        key = self.keys.get(key_id)
        if key is None or not key.active:
            self.sessions.close_key(key_id)
            return None
        return key

    def _limit(self, caller: str) -> None:
        wait = self.buckets.take(caller)
        if wait > 0:
            raise Problem(
                429,
                "rate_limited",
                f"too many requests; this key may make {self.limits.rate_per_s:g} requests a second "
                f"(bursts of {self.limits.burst}); retry after {retry_after(wait)} s",
                {"Retry-After": retry_after(wait)},
            )

    # -- the index, bounded in time --------------------------------------------------------

    async def call_index(self, method: str, *args: Any) -> Any:
        """Run a blocking index method in the search threads, bounded by the query timeout.

        A call that times out keeps its thread until the backend returns, so the number of
        calls running or waiting is capped: beyond it, new calls get a 503 at once."""
        with self._lock:
            if self._pending >= self.limits.max_pending_searches:
                raise Problem(
                    503, "busy", "too many searches are running; retry shortly", {"Retry-After": "1"}
                )
            self._pending += 1
        try:
            future = self._executor().submit(lambda: getattr(self.index, method)(*args))
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.limits.query_timeout_s)
        except TimeoutError as exc:
            raise Problem(
                504,
                "search_timeout",
                f"the search did not finish within {self.limits.query_timeout_s:g} s; "
                "use more specific words or a filter",
            ) from exc
        except IndexVersionError as exc:
            log.error("index outdated: %s", exc)
            raise Problem(
                503,
                "index_outdated",
                "the search index was built for another version of arhiva; "
                "it must be rebuilt with `arhiva reindex`",
            ) from exc
        except IndexingError as exc:
            log.warning("index unavailable: %s", exc)
            raise Problem(
                503,
                "index_unavailable",
                "the search index cannot be reached; retry later",
                {"Retry-After": "5"},
            ) from exc

    def _done(self, _: object) -> None:
        with self._lock:
            self._pending -= 1

    async def search(self, request: SearchRequest, level: AccessLevel) -> SearchResult:
        """The request as a key of this level may make it: its access-level filter intersected
        with the levels the key may see. An empty intersection finds nothing."""
        if request.offset + request.limit > MAX_RESULT_WINDOW:
            raise Problem(
                422,
                "too_deep",
                f"offset + limit must not exceed {MAX_RESULT_WINDOW}; narrow the search instead of paging further",
            )
        allowed = visible_levels(level)
        asked = request.filters.access_level or allowed
        levels = tuple(a for a in allowed if a in asked)
        if not levels:
            return SearchResult(
                total_documents=0, hits=(), facets={n: () for n in FACET_FIELDS} if request.facets else {}
            )
        scoped = request.model_copy(
            update={"filters": request.filters.model_copy(update={"access_level": levels})}
        )
        result: SearchResult = await self.call_index("search", scoped)
        # Defence in depth: the backend was given the filter, and nothing above it gets out.
        hits = tuple(h for h in result.hits if h.access_level in levels)
        if len(hits) != len(result.hits):
            log.error("the %s index returned documents outside the access filter", self.index.backend)
            raise Problem(500, "internal_error", "the search failed")
        facets = dict(result.facets)
        if "access_level" in facets:
            facets["access_level"] = tuple(c for c in facets["access_level"] if c.value in levels)
        return result.model_copy(update={"facets": facets})

    # -- documents -----------------------------------------------------------------------

    def document(self, document_id: str, level: AccessLevel) -> ArchivedDocument:
        """The archived document, if it exists and the key may see it; else the one 404.

        The path is built from the id only once it is 64 lowercase hex characters. A missing
        document and one above the key cost the same: the first 1 KiB of the record is read
        (of a stand-in record when there is none) and parsed as far as it goes, and the access
        level found there decides; only a document the key may see is then read in full, and
        its level checked again. So neither whether the record exists nor its size (its page
        count) shows in the time a 404 takes."""
        if not _DOCUMENT_ID.fullmatch(document_id):
            raise not_found()
        path = package_dir(self.archive, document_id) / METADATA_NAME
        head = _head(path)
        try:
            fields = from_json(_STAND_IN_HEAD if head is None else head, allow_partial=True)
        except ValueError:
            fields = None
        seen = fields.get("access_level") if isinstance(fields, dict) else None
        allowed = visible_levels(level)
        # A record whose level lies beyond its first KiB (not one this archive writes) is read in full.
        if head is None or (seen is not None and seen not in allowed):
            raise not_found()
        try:
            doc = ArchivedDocument.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            raise not_found() from None
        if doc.document_id != document_id or doc.access_level not in allowed:
            raise not_found()
        return doc


_HEAD_BYTES = 1024  # the access level is among a record's first fields (ArchivedDocument's order)


def _head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as f:
            return f.read(_HEAD_BYTES)
    except OSError:
        return None


def unauthorized() -> Problem:
    return Problem(
        401,
        "unauthorized",
        "an API key is needed: send 'Authorization: Bearer <key>' (keys come from `arhiva keys create`)",
        {"WWW-Authenticate": "Bearer"},
    )


def address_bucket(client: str | None) -> str:
    """The rate limiter's name for a client address: the address itself, or for IPv6 its /64
    network (one subscriber's share, whose addresses cost nothing to change)."""
    if not client:
        return "-"
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _stand_in_record() -> bytes:
    """The record of a typical one-page document, as the archive writes it (indented JSON),
    whose head is parsed in place of a missing one's so that both cost the same."""
    digest = "0" * 64
    doc = ArchivedDocument(
        document_id=digest,
        name="dosar/pagina-0001",
        batch="lot-0000-00-00",
        collection="urbanism",
        access_level=AccessLevel.restricted,
        metadata=DocumentMetadata(title="Document de arhivă nr. 0/0000", document_type="document"),
        page_count=1,
        mean_confidence=90.0,
        languages="ron",
        ocr_engine="Tesseract 5.3.0; ron 4.00.00alpha:ron:synth20170629:[1,36,0,1Ct3,3,16Mp3,3Lfys48Lfx96"
        "Lrx96Lfx128O1c1] sha256:000000000000",
        pipeline_version="arhiva-0.0.0",
        archived_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        sources=(
            SourceFile(path="dosar/pagina-0001.png", sha256=digest, size=1, kind=FileKind.image, pages=1),
        ),
        files=(
            ArchivedFile(name=PDF_NAME, sha256=digest, size=1),
            ArchivedFile(name=OCR_NAME, sha256=digest, size=1),
        ),
    )
    return (doc.model_dump_json(indent=2) + "\n").encode()


_STAND_IN_HEAD = _stand_in_record()[:_HEAD_BYTES]


def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]
