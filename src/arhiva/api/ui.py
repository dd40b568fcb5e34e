"""The operator search page: server-rendered HTML on the same service (Jinja2, autoescaped).

Authentication: the operator enters an API key once on /ui; it is checked and a session of its
own is opened (sessions.py): the cookie holds a random session token, never the key, HttpOnly,
SameSite=Strict, Secure when served over HTTPS, for 8 hours. Every request looks the session
up and checks its key again, so a revoked key ends its sessions at once; logging out ends the
session on the server. The page only reads (search is a GET form); logging in and out are
POSTs, which the gate (gate.py) accepts only from this site's own pages. Everything shown is
escaped; snippet matches become <mark>.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import ValidationError

from arhiva.api.errors import Problem
from arhiva.api.service import Service, get_service
from arhiva.api.sessions import SESSION_COOKIE
from arhiva.keys import ApiKey, visible_levels
from arhiva.schemas.search import (
    COUNT_LIMIT,
    MARK_END,
    MARK_START,
    SearchFilters,
    SearchRequest,
    SearchResult,
)

PAGE_SIZE = 20
FACET_NAMES = {"collection": "Colecție", "document_type": "Tip", "access_level": "Acces", "year": "An"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` with the
    # page's own login and logout forms, which the gate must then refuse.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def marked(snippet: str) -> Markup:
    """A snippet with its [matches] as <mark>, everything else escaped."""
    parts = snippet.replace(MARK_END, MARK_START).split(MARK_START)
    return Markup("").join(
        Markup("<mark>{}</mark>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts)
    )


_env = Environment(
    loader=PackageLoader("arhiva.api", "templates"), autoescape=select_autoescape(default=True)
)
_env.filters["marked"] = marked


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(facet_names=FACET_NAMES, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _key(request: Request, service: Service) -> ApiKey | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        key = service.authenticate(_client(request), None, token)
    except Problem as p:
        if p.status == 401:
            return None
        raise
    request.state.key_id = key.key_id
    return key


def add_ui(app: FastAPI) -> None:
    @app.get("/ui", include_in_schema=False)
    async def search_page(request: Request) -> Response:
        service = get_service(request)
        try:
            key = _key(request, service)
        except Problem as p:  # rate limited
            return _page("login.html", p.status, key=None, error=p.detail)
        if key is None:
            return _page("login.html", 401, key=None, error=None)
        params = request.query_params
        form = {
            "q": params.get("q", "").strip(),
            "collection": params.get("collection", "").strip(),
            "type": params.get("type", "").strip(),
            "access": params.getlist("access"),
            "date_from": params.get("from", ""),
            "date_to": params.get("to", ""),
            "offset": 0,
        }
        levels = visible_levels(key.level)
        context: dict[str, Any] = {"key": key, "form": form, "levels": levels, "result": None, "error": None}
        if not form["q"]:
            return _page("search.html", **context)
        try:
            form["offset"] = max(0, int(params.get("offset", "0")))
            search = SearchRequest(
                query=form["q"],
                filters=SearchFilters(
                    collection=(form["collection"],) if form["collection"] else (),
                    document_type=(form["type"],) if form["type"] else (),
                    access_level=tuple(a for a in form["access"] if a),
                    date_from=form["date_from"] or None,
                    date_to=form["date_to"] or None,
                ),
                limit=PAGE_SIZE,
                offset=form["offset"],
            )
        except (ValidationError, ValueError) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else [{"msg": str(exc)}]
            context["error"] = "Căutare invalidă: " + "; ".join(str(e["msg"]) for e in errors)
            return _page("search.html", 422, **context)
        try:
            result: SearchResult = await service.search(search, key.level)
        except Problem as p:
            context["error"] = p.detail
            return _page("search.html", p.status, **context)
        context["result"] = result

        def at(offset: int) -> str:
            query = [(k, v) for k, v in params.multi_items() if k != "offset"]
            return "/ui?" + urlencode([*query, ("offset", str(offset))])

        off = form["offset"]
        context["prev_url"] = at(max(0, off - PAGE_SIZE)) if off > 0 else None
        # A lower-bound total (total_exact false) may hide more documents: a full page says so.
        more = off + PAGE_SIZE < result.total_documents or (
            not result.total_exact and len(result.hits) == PAGE_SIZE
        )
        context["next_url"] = at(off + PAGE_SIZE) if more else None
        context["count_limit"] = f"{COUNT_LIMIT + 1:,}".replace(",", ".")
        return _page("search.html", **context)

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        service = get_service(request)
        body = (await request.body()).decode("utf-8", "replace")
        token = (parse_qs(body).get("key") or [""])[0].strip()
        try:
            key = service.authenticate(_client(request), token, None)
        except Problem as p:
            error = "Cheie necunoscută sau revocată." if p.status == 401 else p.detail
            return _page("login.html", p.status, key=None, error=error)
        request.state.key_id = key.key_id
        if old := request.cookies.get(SESSION_COOKIE):
            service.sessions.close(old)
        response = RedirectResponse("/ui", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            service.sessions.open(key.key_id),
            max_age=int(service.limits.session_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        if token := request.cookies.get(SESSION_COOKIE):
            get_service(request).sessions.close(token)
        response = RedirectResponse("/ui", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return response
