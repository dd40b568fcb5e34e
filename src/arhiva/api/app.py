"""The portal search API: FastAPI over the SearchIndex backends and the archive folder.

Every route but /health needs an API key (`arhiva keys create`), given as
`Authorization: Bearer <key>` (or, for the operator page, through its session cookie), checked
by gate.py before the request's body is read. A key of
level L sees only documents of level L and below: its searches get the access-level filter
forced server-side, and document routes answer a document above it exactly as a missing one.

This module composes the app: the JSON routes here and the operator page of ui.py, both on the
service of service.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from arhiva import __version__
from arhiva.api.errors import HTTP_ERRORS, ApiError, Problem, not_found
from arhiva.api.gate import STATE_KEY, Gate
from arhiva.api.limits import AccessLog, ApiLimits, BodyLimit
from arhiva.api.service import Service, get_service, unauthorized
from arhiva.api.thumbs import THUMB_WIDTH, thumbnail
from arhiva.api.ui import add_ui
from arhiva.archive.package import PDF_NAME, package_dir
from arhiva.indexing.base import SearchIndex
from arhiva.indexing.open import check_location
from arhiva.keys import ApiKey
from arhiva.schemas.models import AccessLevel, ArchivedDocument, DocumentMetadata
from arhiva.schemas.search import SearchRequest, SearchResult

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("arhiva.api")

# -- errors ------------------------------------------------------------------------------------


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "The request body is not JSON that can be read (invalid_body).",
        401: "No valid API key (missing, unknown or revoked).",
        404: "No such document (or not visible to this key).",
        408: "The request body did not arrive in full in time (body_timeout).",
        413: "The request body is too large.",
        415: "The request body is not sent as Content-Type: application/json.",
        422: "The request is not valid (invalid_request: the fields at fault are named), or it pages "
        "too deep (too_deep: offset + limit over 10,000).",
        429: "Too many requests for this key; see Retry-After.",
        503: "The search index cannot be reached (index_unavailable), must be rebuilt with "
        "`arhiva reindex` (index_outdated), or too many searches are waiting (busy).",
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


# -- the app -----------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API key from `arhiva keys create`.")


def caller(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """The key the gate checked, before the body was read (gate.py)."""
    key = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(key, ApiKey):
        raise unauthorized()
    return key


def json_body(request: Request) -> None:
    """A body is only read as JSON when it says it is (not, say, from a form of another site)."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise Problem(
            415,
            "unsupported_media_type",
            f"the request body must be sent as Content-Type: application/json, not {media or 'none'!r}",
        )


def _unreadable(exc: BaseException | None) -> str:
    """Why FastAPI could not read a body as JSON (it answers such bodies with a bare 400)."""
    if isinstance(exc, RecursionError):
        return "the request body is not JSON that can be read: it is nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "the request body is not UTF-8"
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return "the request body is not JSON that can be read: it holds a number with too many digits"
    return "the request body is not JSON that can be read"


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

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        error, detail = HTTP_ERRORS.get(exc.status_code, ("http_error", "the request failed"))
        if exc.status_code == 400:
            detail = _unreadable(exc.__cause__)
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in ("allow", "retry-after")}
        return JSONResponse(
            ApiError(error=error, detail=detail).model_dump(), exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        syntax = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if syntax is not None:  # not JSON at all: a 400, like a body nested too deeply
            reason = (syntax.get("ctx") or {}).get("error", "invalid JSON")
            at = syntax.get("loc", ("body", 0))[-1]
            detail = f"the request body is not valid JSON: {reason} at character {at}"
            return JSONResponse(ApiError(error="invalid_body", detail=detail).model_dump(), 400)
        where = ("body", "path", "query", "header")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in where) or 'request'}: {e.get('msg')}"
            for e in errors
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
            if p.error == "index_outdated":
                raise
            raise Problem(503, "index_unavailable", "the search index cannot be reached") from p
        return Health(status="ok", backend=service.index.backend, version=__version__)

    @app.post(
        "/v1/search",
        tags=["search"],
        responses=_responses(400, 401, 408, 413, 415, 422, 429, 503, 504),
        dependencies=[Depends(json_body)],
    )
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

    add_ui(app)
    # Outermost last: the access log sees everything, the gate runs before any body is read.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout_s=limits.body_timeout_s)
    app.add_middleware(Gate, service=app.state.service)
    app.add_middleware(AccessLog)
    return app


def server_config(
    app: FastAPI, host: str, port: int, trusted_proxies: tuple[str, ...] = ()
) -> uvicorn.Config:
    """How `arhiva api` serves the app with uvicorn. X-Forwarded-For and X-Forwarded-Proto are
    believed only from `trusted_proxies` (ARHIVA_API_TRUSTED_PROXIES; uvicorn's own default
    would believe them from 127.0.0.1): the client address uvicorn then gives the app, which
    the rate limiter and the access log use, is the peer's, or the one such a proxy forwarded."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
    )
