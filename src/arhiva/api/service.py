"""What the API's routes and its operator page share: the service (archive, index, keys,
limits), its errors and how a request finds it. Both app.py (the JSON routes) and ui.py (the
operator page) import from here; this module imports neither."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from arhiva.api.limits import ApiLimits, TokenBucket, retry_after
from arhiva.archive.package import load_document
from arhiva.errors import IndexingError, IndexVersionError
from arhiva.indexing.base import SearchIndex
from arhiva.indexing.open import open_index
from arhiva.keys import ApiKey, KeyStore, visible_levels
from arhiva.schemas.models import AccessLevel, ArchivedDocument
from arhiva.schemas.search import FACET_FIELDS, SearchRequest, SearchResult

log = logging.getLogger("arhiva.api")

SESSION_COOKIE = "arhiva_key"
MAX_RESULT_WINDOW = 10_000  # offset + limit; Elasticsearch's index.max_result_window
_DOCUMENT_ID = re.compile(r"^[0-9a-f]{64}$")


# -- errors ------------------------------------------------------------------------------------


class ApiError(BaseModel):
    """Every error the API itself raises has this body."""

    error: str = Field(description="A stable code, e.g. not_found, rate_limited, search_timeout.")
    detail: str = Field(description="What went wrong, in plain English.")


class Problem(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def not_found() -> Problem:
    """The one answer for a document that does not exist, is above the caller's level, or whose
    id is malformed: the caller cannot tell them apart."""
    return Problem(404, "not_found", "no such document")


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
        self.buckets = TokenBucket(limits.rate_per_s, limits.burst)
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

    def authenticate(self, request: Request, token: str | None) -> ApiKey:
        key = self.keys.authenticate(token) if token else None
        client = request.client.host if request.client else "-"
        if key is None:
            # Failed attempts are rate limited per client address, so guessing costs time.
            self._limit(f"addr:{client}")
            raise Problem(
                401,
                "unauthorized",
                "an API key is needed: send 'Authorization: Bearer <key>' (keys come from `arhiva keys create`)",
                {"WWW-Authenticate": "Bearer"},
            )
        request.state.key_id = key.key_id
        self._limit(f"key:{key.key_id}")
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

        The path is built from the id only once it is 64 lowercase hex characters."""
        if not _DOCUMENT_ID.fullmatch(document_id):
            raise not_found()
        try:
            doc = load_document(self.archive, document_id)
        except (OSError, ValueError):
            raise not_found() from None
        if doc.access_level not in visible_levels(level):
            raise not_found()
        return doc


def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]
