"""Sessions of the operator page, and the same-origin rule for its POSTs.

A session is a random token (256 bits, `secrets.token_urlsafe`) given to the browser as an
HttpOnly, SameSite=Strict cookie; the server keeps, in memory, only its SHA-256 mapped to the key
id it was opened with and when it expires. The cookie is never the key: a stolen cookie ends
with its session (logout, expiry, a restart of the API, the key's revocation), and the key
itself never leaves the login form.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

SESSION_COOKIE = "arhiva_session"


class Session(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    expires_at: float  # on the store's clock (monotonic)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SessionStore:
    """Open sessions, bounded: expired ones are dropped as new ones open, and beyond
    `max_sessions` the oldest end first. All sessions live equally long, so the oldest is
    always the first in the table."""

    def __init__(
        self, lifetime_s: float, max_sessions: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime_s = lifetime_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()  # sha256(token) -> session
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, key_id: str) -> str:
        """A new session for this key; returns its token (for the cookie, and nowhere else)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._expire(now)
            self._sessions[_digest(token)] = Session(key_id=key_id, expires_at=now + self.lifetime_s)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return token

    def key_id(self, token: str) -> str | None:
        """The key id of the open session this token names, or None."""
        digest = _digest(token)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(digest)
            if session is None:
                return None
            if session.expires_at <= now:
                del self._sessions[digest]
                return None
            return session.key_id

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(_digest(token), None)

    def close_key(self, key_id: str) -> None:
        """End every session opened with this key (it was revoked)."""
        with self._lock:
            for digest in [d for d, s in self._sessions.items() if s.key_id == key_id]:
                del self._sessions[digest]

    def _expire(self, now: float) -> None:
        while self._sessions and next(iter(self._sessions.values())).expires_at <= now:
            self._sessions.popitem(last=False)


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_port(netloc: str, scheme: str) -> str:
    """host:port, lowercased, with the scheme's default port written out."""
    netloc = netloc.strip().lower().rpartition("@")[2]
    if netloc.endswith("]") or ":" not in netloc:  # no port (an IPv6 literal ends with "]")
        return f"{netloc}:{_DEFAULT_PORTS.get(scheme, '')}"
    return netloc


def same_origin(headers: Iterable[tuple[bytes, bytes]], scheme: str) -> bool:
    """Whether a request comes from a page of this very site: its Origin header (or, when the
    browser sent none, its Referer) names the host and port of the request's own Host header.
    A request with neither, or with `Origin: null`, is not taken as same-origin.

    Only the host and port are compared, not the scheme, so that the check holds behind a
    TLS-terminating proxy that is not (yet) trusted for X-Forwarded-Proto."""
    found: dict[bytes, str] = {}
    for name, value in headers:
        if name in (b"host", b"origin", b"referer") and name not in found:
            found[name] = value.decode("latin-1")
    host = found.get(b"host")
    source = found.get(b"origin") or found.get(b"referer")
    if not host or not source:
        return False
    parts = urlsplit(source)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return False
    return _host_port(parts.netloc, parts.scheme) in (
        _host_port(host, scheme),
        # The page's own scheme may differ from the one the server sees behind a TLS proxy.
        _host_port(host, parts.scheme),
    )
