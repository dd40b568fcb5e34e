"""The API's one error shape, `{"error": "<code>", "detail": "<plain English>"}`, and how it is
sent: by the routes (raising Problem), by the exception handlers of app.py, and by the ASGI
middleware that answers before the app runs (limits.py, gate.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel, Field

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiError(BaseModel):
    """Every error the API answers (every 4xx and 5xx) has this body."""

    error: str = Field(description="A stable code, e.g. not_found, rate_limited, search_timeout.")
    detail: str = Field(description="What went wrong, in plain English.")


class Problem(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> bytes:
        return json.dumps(ApiError(error=self.error, detail=self.detail).model_dump()).encode()


def not_found() -> Problem:
    """The one answer for a document that does not exist, is above the caller's level, or whose
    id is malformed: the caller cannot tell them apart."""
    return Problem(404, "not_found", "no such document")


# The codes of the errors Starlette and FastAPI raise themselves (as HTTPException).
HTTP_ERRORS = {
    400: ("invalid_body", "the request could not be read"),
    404: ("no_route", "no such route; the routes are listed at /docs"),
    405: ("method_not_allowed", "this route does not answer this method"),
    413: ("body_too_large", "the request body is too large"),
    415: ("unsupported_media_type", "the request body's Content-Type is not accepted"),
}


async def send_problem(send: Send, problem: Problem, *, close: bool = False) -> None:
    """Answer a request with the problem, from ASGI middleware. `close`: ask the server to close
    the connection after it, for a request whose body is left unread."""
    data = problem.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
