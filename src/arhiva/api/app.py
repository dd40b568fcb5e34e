"""The portal search API: FastAPI over the SearchIndex backends and the archive folder.

Every route but /health needs an API key (`arhiva keys create`), given as
`Authorization: Bearer <key>` (or, for the operator page, in its session cookie). A key of
level L sees only documents of level L and below: its searches get the access-level filter
forced server-side, and document routes answer a document above it exactly as a missing one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from elasticsearch import TransportError as EsTransportError
from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from arhiva import __version__
from arhiva.api.limits import AccessLog, ApiLimits, BodyLimit, TokenBucket, retry_after
from arhiva.api.thumbs import THUMB_WIDTH, thumbnail
from arhiva.archive.package import PDF_NAME, load_document, package_dir
from arhiva.errors import IndexingError
from arhiva.indexing.base import SearchIndex
from arhiva.indexing.open import check_location, open_index
from arhiva.keys import ApiKey, KeyStore, visible_levels
from arhiva.schemas.models import AccessLevel, ArchivedDocument, DocumentMetadata
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


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "No valid API key (missing, unknown or revoked).",
        404: "No such document (or not visible to this key).",
        413: "The request body is too large.",
        422: "The request is not valid (invalid_request: the fields at fault are named), or it pages "
        "too deep (too_deep: offset + limit over 10,000).",
        429: "Too many requests for this key; see Retry-After.",
        503: "The search index cannot be reached, or too many searches are waiting.",
        504: "The search took longer than the query timeout.",
    }
    return {c: {"model": ApiError, "description": text[c]} for c in codes}


# -- response models ---------------------------------------------------------------------------


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable when the index cannot be reached.")
    backend: str
    version: str


class DocumentInfo(BaseModel):
    """An archived document's record sheet, as the caller may see it."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    title: str
    collection: str | None
    access_level: AccessLevel
    metadata: DocumentMetadata
    page_count: int
    languages: str
    archived_at: dt.datetime
    pdf_url: str = Field(description="The PDF/A-2b, relative to the API's root.")
    pdf_sha256: str | None
    pdf_bytes: int | None
    thumbnail_url: str = Field(description="A page's thumbnail: replace {page} by 1..page_count.")


def document_info(doc: ArchivedDocument) -> DocumentInfo:
    pdf = next((f for f in doc.files if f.name == PDF_NAME), None)
    base = f"/v1/documents/{doc.document_id}"
    return DocumentInfo(
        document_id=doc.document_id,
        title=doc.title,
        collection=doc.collection,
        access_level=doc.access_level,
        metadata=doc.metadata,
        page_count=doc.page_count,
        languages=doc.languages,
        archived_at=doc.archived_at,
        pdf_url=f"{base}/pdf",
        pdf_sha256=pdf.sha256 if pdf else None,
        pdf_bytes=pdf.size if pdf else None,
        thumbnail_url=f"{base}/pages/{{page}}/thumbnail",
    )


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
        except (IndexingError, EsTransportError) as exc:
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


# -- the app -----------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API key from `arhiva keys create`.")


def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def caller(
    request: Request,
    service: Annotated[Service, Depends(get_service)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    return service.authenticate(request, token)


ServiceDep = Annotated[Service, Depends(get_service)]
CallerDep = Annotated[ApiKey, Depends(caller)]
DocumentId = Annotated[str, PathParam(description="The document id: 64 lowercase hex characters.")]


def create_app(
    archive: Path,
    index_location: str | None = None,
    *,
    limits: ApiLimits | None = None,
    index: SearchIndex | None = None,
) -> FastAPI:
    """The API over this archive folder and index ('sqlite', None, or an Elasticsearch URL).

    `index` gives an already open index instead (the caller closes it)."""
    limits = limits or ApiLimits()
    archive = archive.resolve()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        app.state.service.close()

    app = FastAPI(
        title="arhiva portal search API",
        version=__version__,
        description=(
            "Search the archive's OCR text (one result per document, with its matching pages, a "
            "highlighted snippet and facet counts), read a document's record sheet, download its "
            "PDF/A-2b and page thumbnails. Every route but /health needs an API key as a bearer "
            "token; a key sees only documents of its access level and below "
            "(public < internal < restricted). See docs/api.md."
        ),
        lifespan=lifespan,
    )
    check_location(index_location)
    app.state.service = Service(archive, index_location, limits, index)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return JSONResponse(
            ApiError(error=exc.error, detail=exc.detail).model_dump(), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        where = ("body", "path", "query", "header")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in where) or 'request'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return JSONResponse(ApiError(error="invalid_request", detail=problems[:2000]).model_dump(), 422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(ApiError(error="internal_error", detail="the request failed").model_dump(), 500)

    @app.get("/health", tags=["service"], responses=_responses(503))
    async def health(service: ServiceDep) -> Health:
        """Whether the service and its index answer. Needs no key and says nothing about documents."""
        try:
            await service.call_index("has_document", "0" * 64)
        except Problem as p:
            raise Problem(503, "index_unavailable", "the search index cannot be reached") from p
        return Health(status="ok", backend=service.index.backend, version=__version__)

    @app.post("/v1/search", tags=["search"], responses=_responses(401, 413, 422, 429, 503, 504))
    async def search(body: SearchRequest, key: CallerDep, service: ServiceDep) -> SearchResult:
        """Documents whose pages hold the words, best first, with their matching pages, a snippet
        of the best page (matches in [brackets]) and facet counts; only documents the key may see
        are searched, counted and faceted. Page through with offset and limit (offset + limit at
        most 10,000)."""
        return await service.search(body, key.level)

    @app.get("/v1/documents/{document_id}", tags=["documents"], responses=_responses(401, 404, 422, 429))
    def get_document(document_id: DocumentId, key: CallerDep, service: ServiceDep) -> DocumentInfo:
        """A document's record sheet and the links to its PDF/A and page thumbnails."""
        return document_info(service.document(document_id, key.level))

    @app.get(
        "/v1/documents/{document_id}/pdf",
        tags=["documents"],
        response_class=FileResponse,
        responses={200: {"content": {"application/pdf": {}}}, **_responses(401, 404, 422, 429)},
    )
    def get_pdf(document_id: DocumentId, key: CallerDep, service: ServiceDep) -> FileResponse:
        """The document's PDF/A-2b, as archived."""
        doc = service.document(document_id, key.level)
        return FileResponse(
            package_dir(service.archive, doc.document_id) / PDF_NAME,
            media_type="application/pdf",
            filename=f"{doc.document_id}.pdf",
            content_disposition_type="inline",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    @app.get(
        "/v1/documents/{document_id}/pages/{page}/thumbnail",
        tags=["documents"],
        response_class=FileResponse,
        responses={200: {"content": {"image/jpeg": {}}}, **_responses(401, 404, 422, 429)},
    )
    def get_thumbnail(
        document_id: DocumentId,
        page: Annotated[int, PathParam(description="Page number, from 1.")],
        key: CallerDep,
        service: ServiceDep,
    ) -> FileResponse:
        """A page's scan, scaled to 240 pixels wide (JPEG)."""
        doc = service.document(document_id, key.level)
        if not 1 <= page <= doc.page_count:
            raise not_found()
        path = thumbnail(service.archive, doc.document_id, page, THUMB_WIDTH)
        return FileResponse(
            path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=303)

    from arhiva.api.ui import add_ui

    add_ui(app)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(AccessLog)
    return app
