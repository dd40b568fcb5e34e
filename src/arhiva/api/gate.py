"""The door of the API (ASGI middleware), passed before any request body is read:

- a request to /v1/... must carry a valid key (a bearer token, or the operator page's session
  cookie); a missing, unknown or revoked one is answered 401 at once (429 when its address
  has failed too often), so a caller without a key cannot hold a connection open by sending
  its body slowly. The key found is handed to the routes in the request's state.
- a POST to the operator page (/ui/...) must come from one of this site's own pages (its
  Origin, else its Referer, names the request's own host); any other is answered 403.
"""

from __future__ import annotations

from starlette.requests import cookie_parser

from arhiva.api.errors import ASGIApp, Problem, Receive, Scope, Send, send_problem
from arhiva.api.service import Service
from arhiva.api.sessions import SESSION_COOKIE, same_origin

STATE_KEY = "api_key"
CROSS_SITE = Problem(
    403,
    "cross_site",
    "this form may only be sent from the operator page of this site "
    "(its Origin or Referer header must name this host)",
)


def _credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """(bearer token, session cookie) of a request, either None when absent."""
    bearer = None
    cookies = []
    for name, value in headers:
        if name == b"authorization" and bearer is None:
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
        elif name == b"cookie":
            cookies.append(value.decode("latin-1"))
    session = cookie_parser("; ".join(cookies)).get(SESSION_COOKIE) if cookies else None
    return bearer, session or None


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding":
            return True
    return False


def needs_key(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class Gate:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if needs_key(path):
            bearer, session = _credentials(scope["headers"])
            client = scope.get("client")
            try:
                key = self.service.authenticate(client[0] if client else None, bearer, session)
            except Problem as problem:
                await send_problem(send, problem, close=_has_body(scope))
                return
            state = scope.setdefault("state", {})
            state[STATE_KEY] = key
            state["key_id"] = key.key_id
        elif (
            scope["method"] == "POST"
            and path.startswith("/ui/")
            and not same_origin(scope["headers"], scope.get("scheme", "http"))
        ):
            await send_problem(send, CROSS_SITE, close=_has_body(scope))
            return
        await self.app(scope, receive, send)
