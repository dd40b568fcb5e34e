"""Limits of the search API: body size and read time, rate per caller, and the access log
(ASGI middleware)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from arhiva.api.errors import ASGIApp, Message, Problem, Receive, Scope, Send, send_problem

ACCESS_LOG = logging.getLogger("arhiva.api.access")


class ApiLimits(BaseModel):
    """What one caller, and all callers together, may ask of the service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted.")
    body_timeout_s: float = Field(
        10.0, gt=0, description="Seconds a request body may take to arrive in full before a 408."
    )
    query_timeout_s: float = Field(10.0, gt=0, description="Seconds a search may take before a 504.")
    search_threads: int = Field(4, ge=1, le=64, description="Searches run at once against the index.")
    max_pending_searches: int = Field(
        32, ge=1, description="Searches running or waiting before new ones get a 503."
    )
    rate_per_s: float = Field(20.0, gt=0, description="Requests per second each key may make, on average.")
    burst: int = Field(60, ge=1, description="Requests a key may make at once after a pause.")
    max_callers: int = Field(
        10_000,
        ge=1,
        description="Callers (keys and client addresses) the rate limiter tracks at once; beyond it, "
        "those seen longest ago are forgotten.",
    )
    session_s: float = Field(8 * 3600, gt=0, description="Lifetime of an operator page session.")
    max_sessions: int = Field(
        10_000, ge=1, description="Operator page sessions kept at once; beyond it, the oldest end."
    )


class TokenBucket:
    """Per-caller rate limit: `burst` tokens, refilled at `rate` per second; a request takes one.

    The table is bounded: a caller idle long enough for its bucket to be full again is
    forgotten (a full bucket is what a new caller gets, so nothing is lost), and beyond
    `max_callers` the callers seen longest ago are forgotten first. Entries are kept in the
    order they were last seen, so both cost O(1) per request."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_callers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_callers = max_callers
        self.refill_s = burst / rate  # an idle caller's bucket is full again after this
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # caller -> (tokens, last)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, caller: str) -> float:
        """0 when the request may go ahead, else the seconds until it may (the Retry-After)."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            tokens, last = self._buckets.pop(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[caller] = (tokens, now)  # now the most recently seen
            while len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
            return wait

    def _forget(self, now: float) -> None:
        """Drop the callers, least recently seen first, whose buckets have refilled."""
        while self._buckets:
            tokens, last = next(iter(self._buckets.values()))
            if tokens + (now - last) * self.rate < self.burst:
                return
            self._buckets.popitem(last=False)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class BodyLimit:
    """Read request bodies (POST, PUT, PATCH) before the app sees them: larger than `max_bytes`
    is a 413, whether or not they say their size, and a body that has not arrived in full
    within `timeout_s` of the first read is a 408. Both close the connection."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = Problem(413, "body_too_large", f"the request body is larger than {self.max_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await send_problem(send, too_large, close=True)
                return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                slow = Problem(
                    408,
                    "body_timeout",
                    f"the request body did not arrive in full within {self.timeout_s:g} s",
                )
                await send_problem(send, slow, close=True)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                await send_problem(send, too_large, close=True)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """One JSON line per request on the `arhiva.api.access` logger: method, path (never the query
    string, which may hold search words about people), status, duration, bytes sent, client
    address and the caller's key id. Keys, cookies and other headers are never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        start = time.perf_counter()
        status = 500
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            client = scope.get("client")
            ACCESS_LOG.info(
                json.dumps(
                    {
                        "event": "access",
                        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                        "bytes": sent,
                        "client": client[0] if client else None,
                        "key_id": state.get("key_id"),
                    },
                    ensure_ascii=False,
                )
            )
