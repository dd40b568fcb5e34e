"""Issue 16, the API's findings: forwarded addresses believed only from a trusted proxy, a rate
limiter whose memory stays bounded, keys checked before the body is read and bodies bounded in
time, the operator page's own sessions and same-origin POSTs, and one error shape for every 4xx.

The servers are real: `arhiva api` as its own process, or uvicorn in a thread configured exactly
as `arhiva api` configures it (server_config), on a free port of 127.0.0.1, spoken to over real
sockets; the in-process tests use TestClient on a real SQLite index."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from arhiva.api.app import create_app, server_config
from arhiva.api.errors import ApiError
from arhiva.api.limits import ApiLimits, TokenBucket
from arhiva.api.sessions import SESSION_COOKIE, SessionStore, same_origin
from arhiva.archive.package import METADATA_NAME, package_dir
from arhiva.keys import KeyStore
from arhiva.schemas.models import AccessLevel

from .api_support import SAME_SITE, ApiArchive, api_archive, api_process, login, small_archive, until
from .conftest import free_port

HOST = "127.0.0.1"
GENEROUS = ApiLimits(rate_per_s=1000, burst=1000)
STRICT = ApiLimits(rate_per_s=0.01, burst=3)  # 3 requests, then one per 100 s
BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, prefect_api: None) -> ApiArchive:
    return api_archive(tmp_path_factory)


@pytest.fixture
def archive(shared: ApiArchive, tmp_path: Path) -> Path:
    """The shared public and restricted documents, indexed, with keys of its own."""
    return small_archive(shared, tmp_path / "arhiva", "autorizatie", "ancheta")


def bad_key(n: int) -> str:
    """A key of the right form that no key store holds."""
    return f"arh_{n:012x}_" + "A" * 43


@contextmanager
def serving(app: FastAPI, trusted: tuple[str, ...] = ()) -> Iterator[str]:
    """The app under uvicorn, as `arhiva api` serves it, on a free port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(server_config(app, HOST, port, trusted))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        until("uvicorn to start", lambda: server.started or not thread.is_alive())
        assert server.started, "uvicorn did not start"
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def arhiva_api(archive: Path, log: Path, **env: str) -> Iterator[str]:
    """`arhiva api` as its own process (3 requests per address, then one per 100 s); its
    access log (stderr) goes to `log`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ARHIVA_API_")}
    with api_process(
        archive, free_port(), log, "--rate", "0.01", "--burst", "3", env={**environ, **env}
    ) as url:
        yield url


def access_clients(log: Path, path: str = "/v1/search") -> list[str]:
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [e["client"] for e in entries if e["path"] == path]


def shaped(r: httpx.Response, status: int, error: str) -> None:
    """The response is `status` with the documented error body and nothing else."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert set(body) == {"error", "detail"} and body["error"] == error, body
    assert ApiError.model_validate(body).detail.strip(), body


# -- 1. forwarded addresses ------------------------------------------------------------------------


def test_forged_forwarded_addresses_do_not_escape_the_limit(archive: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with arhiva_api(archive, log) as url, httpx.Client(base_url=url, timeout=10) as client:
        answers = [
            client.post(
                "/v1/search",
                json={"query": "autorizatia"},
                headers={"Authorization": f"Bearer {bad_key(n)}", "X-Forwarded-For": f"203.0.113.{n}"},
            )
            for n in range(1, 11)
        ]
    assert [r.status_code for r in answers] == [401] * 3 + [429] * 7
    shaped(answers[-1], 429, "rate_limited")
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 100
    assert access_clients(log) == [HOST] * 10  # the peer, never the forged address


def test_a_trusted_proxy_s_forwarded_address_is_the_caller(archive: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    env = {"ARHIVA_API_TRUSTED_PROXIES": "127.0.0.1, ::1"}
    with arhiva_api(archive, log, **env) as url, httpx.Client(base_url=url, timeout=10) as client:

        def attempt(n: int, forwarded: str) -> int:
            headers = {"Authorization": f"Bearer {bad_key(n)}", "X-Forwarded-For": forwarded}
            return client.post("/v1/search", json={"query": "x"}, headers=headers).status_code

        # Each address the proxy forwards is a caller of its own, counted on its own.
        assert [attempt(n, f"203.0.113.{n}") for n in range(1, 11)] == [401] * 10
        # The proxy appends the address that connected to it to what the client sent: the
        # rightmost address not of a trusted proxy is the caller, whatever the client forged.
        chained = [attempt(n, f"10.9.9.{n}, 198.51.100.9") for n in range(4)]
        assert chained == [401, 401, 401, 429]
    assert access_clients(log) == [f"203.0.113.{n}" for n in range(1, 11)] + ["198.51.100.9"] * 4


# -- 2. the limiter's memory -----------------------------------------------------------------------


def test_the_limiter_table_stays_bounded_under_many_callers(archive: Path) -> None:
    limits = ApiLimits(rate_per_s=0.01, burst=3, max_callers=100)
    app = create_app(archive, "sqlite", limits=limits)
    with serving(app, trusted=(HOST,)) as url, httpx.Client(base_url=url, timeout=10) as client:

        def attempt(address: str) -> int:
            headers = {"Authorization": f"Bearer {bad_key(1)}", "X-Forwarded-For": address}
            return client.post("/v1/search", json={"query": "x"}, headers=headers).status_code

        statuses = [attempt(f"198.18.{n // 250}.{n % 250}") for n in range(400)]
        assert statuses == [401] * 400
        buckets = app.state.service.buckets
        assert len(buckets) == 100  # 400 callers seen, the 100 seen last remembered
        # The callers it remembers are still limited: the last one has 2 of its 3 tries left.
        assert [attempt("198.18.1.149") for _ in range(3)] == [401, 401, 429]


def test_the_limiter_forgets_idle_callers_and_keeps_limiting_busy_ones() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=5, max_callers=1_000_000, clock=lambda: now[0])
    for n in range(10_000):
        assert bucket.take(f"caller-{n}") == 0
    assert [bucket.take("busy") == 0 for _ in range(6)] == [True] * 5 + [False]
    assert len(bucket) == 10_001
    now[0] = 0.2  # the one-request callers' buckets are full again; busy's holds 2 tokens
    assert bucket.take("another") == 0
    assert len(bucket) == 2  # busy and another
    assert [bucket.take("busy") == 0 for _ in range(3)] == [True, True, False]

    capped = TokenBucket(rate=0.01, burst=3, max_callers=50)
    for n in range(1000):
        capped.take(f"caller-{n}")
    assert len(capped) == 50


# -- 3. keys before the body, and bodies bounded in time -------------------------------------------


def _head(port: int, key: str | None, length: int = 1000) -> bytes:
    lines = [
        "POST /v1/search HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + b'{"query": "'


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length from the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(status_line.split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    """Whether the server closes the connection within 2 s."""
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        return False


@pytest.fixture
def slow_server(archive: Path) -> Iterator[tuple[int, str]]:
    """uvicorn on a free port, bodies allowed BODY_TIMEOUT s; yields (port, a public key)."""
    _, key = KeyStore(archive).create(AccessLevel.public)
    limits = ApiLimits(rate_per_s=1000, burst=1000, body_timeout_s=BODY_TIMEOUT)
    with serving(create_app(archive, "sqlite", limits=limits)) as url:
        yield int(url.rsplit(":", 1)[1]), key


def test_a_request_without_a_key_is_refused_before_its_body(slow_server: tuple[int, str]) -> None:
    port, _ = slow_server
    for key in (None, bad_key(7)):
        with socket.create_connection((HOST, port), timeout=BODY_TIMEOUT + 5) as sock:
            start = time.monotonic()
            sock.sendall(_head(port, key))  # ... and the rest of the body never comes
            status, headers, body = _response(sock)
            took = time.monotonic() - start
            assert status == 401 and json.loads(body)["error"] == "unauthorized", body
            assert took < BODY_TIMEOUT / 2, took  # at once, not after waiting for the body
            assert headers["connection"] == "close" and _closed(sock)


def test_a_body_that_stalls_or_trickles_is_answered_408(slow_server: tuple[int, str]) -> None:
    port, key = slow_server
    for trickle in (False, True):
        with socket.create_connection((HOST, port), timeout=BODY_TIMEOUT + 5) as sock:
            stop = threading.Event()

            def drip(sock: socket.socket = sock, stop: threading.Event = stop) -> None:
                """One byte every 0.2 s, until the server closes or the test stops it."""
                while not stop.wait(0.2):
                    try:
                        sock.sendall(b"a")
                    except OSError:
                        return

            start = time.monotonic()
            sock.sendall(_head(port, key))
            dripping = threading.Thread(target=drip, daemon=True)
            if trickle:
                dripping.start()
            try:
                status, headers, body = _response(sock)
            finally:
                stop.set()
            took = time.monotonic() - start
            assert status == 408, body
            assert json.loads(body) == {
                "error": "body_timeout",
                "detail": f"the request body did not arrive in full within {BODY_TIMEOUT:g} s",
            }
            assert BODY_TIMEOUT - 0.1 <= took < BODY_TIMEOUT + 2, (trickle, took)
            assert headers["connection"] == "close" and _closed(sock)
            if trickle:
                dripping.join(5)
    # A body that does arrive is read as ever.
    with socket.create_connection((HOST, port), timeout=10) as sock:
        rest = b'autorizatia"}'
        sock.sendall(_head(port, key, length=len(b'{"query": "') + len(rest)) + rest)
        status, _, body = _response(sock)
        assert status == 200 and json.loads(body)["total_documents"] == 1, body


# -- 4. the operator page's sessions ---------------------------------------------------------------


def test_the_session_cookie_is_not_the_key(archive: Path, shared: ApiArchive) -> None:
    _, key = KeyStore(archive).create(AccessLevel.restricted)
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS)) as client:
        r = client.post("/ui/login", data={"key": key}, headers=SAME_SITE, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        token = client.cookies[SESSION_COOKIE]
        assert key not in cookie and key.split("_")[2] not in cookie and token != key
        assert len(token) >= 43 and "HttpOnly" in cookie and "SameSite=strict" in cookie
        # The session opens the page and the links it shows (PDFs, thumbnails) ...
        doc_id = shared.ids["ancheta"]
        assert client.get("/ui").status_code == 200
        assert client.get(f"/v1/documents/{doc_id}/pdf").status_code == 200
        client.cookies.clear()
        # ... and is no key: not as a bearer token, and the key is no session.
        r = client.get(f"/v1/documents/{doc_id}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        client.cookies.set(SESSION_COOKIE, key)
        assert client.get(f"/v1/documents/{doc_id}").status_code == 401
        assert client.get("/ui").status_code == 401
    # Over HTTPS the cookie is Secure.
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS), base_url="https://testserver") as client:
        r = client.post(
            "/ui/login",
            data={"key": key},
            headers={"Origin": "https://testserver"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/testserver/ui"},
        {},  # neither: not shown to come from this site
    ],
    ids=["other-origin", "lookalike-origin", "null-origin", "other-referer", "none"],
)
def test_a_cross_site_login_is_refused(archive: Path, headers: dict[str, str]) -> None:
    _, key = KeyStore(archive).create(AccessLevel.internal)
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS)) as client:
        r = client.post("/ui/login", data={"key": key}, headers=headers, follow_redirects=False)
        shaped(r, 403, "cross_site")
        assert "set-cookie" not in r.headers and not client.cookies
        assert len(client.app.state.service.sessions) == 0  # type: ignore[attr-defined]
        # The same form from the page itself (Origin, or a Referer of this site) logs in.
        referer = {"Referer": "http://testserver/ui"}
        r = client.post("/ui/login", data={"key": key}, headers=referer, follow_redirects=False)
        assert r.status_code == 303 and client.cookies[SESSION_COOKIE]


def test_logout_and_revocation_end_the_session(archive: Path, shared: ApiArchive) -> None:
    store = KeyStore(archive)
    record, key = store.create(AccessLevel.internal)
    doc_id = shared.ids["autorizatie"]
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS)) as client:
        sessions = client.app.state.service.sessions  # type: ignore[attr-defined]
        token = login(client, key)
        assert client.get("/ui").status_code == 200
        # Another site's logout form is refused, and the session goes on.
        assert client.post("/ui/logout", headers={"Origin": "http://evil.example"}).status_code == 403
        assert client.get("/ui").status_code == 200
        r = client.post("/ui/logout", headers=SAME_SITE, follow_redirects=False)
        assert r.status_code == 303 and SESSION_COOKIE not in client.cookies
        # The old cookie, sent again (a copy kept by whoever stole it), opens nothing.
        client.cookies.set(SESSION_COOKIE, token)
        assert client.get("/ui").status_code == 401
        assert client.get(f"/v1/documents/{doc_id}").status_code == 401
        assert len(sessions) == 0

        client.cookies.clear()
        login(client, key)
        client.cookies.clear()
        login(client, key)  # a second browser
        assert client.get(f"/v1/documents/{doc_id}").status_code == 200 and len(sessions) == 2
        store.revoke(record.key_id)
        assert client.get(f"/v1/documents/{doc_id}").status_code == 401
        assert len(sessions) == 0  # both sessions of the revoked key ended


def test_sessions_are_bounded_and_expire() -> None:
    now = [0.0]
    store = SessionStore(lifetime_s=10, max_sessions=5, clock=lambda: now[0])
    tokens = [store.open(f"{n:012x}") for n in range(20)]
    assert len(store) == 5 and len(set(tokens)) == 20
    assert [store.key_id(t) for t in tokens] == [None] * 15 + [f"{n:012x}" for n in range(15, 20)]
    now[0] = 10.0
    assert store.key_id(tokens[-1]) is None
    store.open("a" * 12)
    assert len(store) == 1


def test_same_origin_compares_host_and_port() -> None:
    def check(host: str, scheme: str = "http", **headers: str) -> bool:
        raw = [(b"host", host.encode())] + [(k.encode(), v.encode()) for k, v in headers.items()]
        return same_origin(raw, scheme)

    assert check("arhiva.primarie.ro", origin="http://arhiva.primarie.ro")
    assert check("arhiva.primarie.ro:8080", origin="http://Arhiva.Primarie.ro:8080")
    assert check("127.0.0.1:8080", referer="http://127.0.0.1:8080/ui?q=x")
    # Behind a TLS proxy not trusted for X-Forwarded-Proto the server sees http.
    assert check("arhiva.primarie.ro", origin="https://arhiva.primarie.ro")
    assert not check("arhiva.primarie.ro", origin="https://arhiva.primarie.ro:8443")
    assert not check("127.0.0.1:8080", origin="http://127.0.0.1:8081")
    assert not check("arhiva.primarie.ro", origin="http://arhiva.primarie.ro.evil.example")
    assert not check("arhiva.primarie.ro", origin="null", referer="http://arhiva.primarie.ro/ui")
    assert not check("arhiva.primarie.ro", origin="file://arhiva.primarie.ro")
    assert not check("arhiva.primarie.ro")


# -- 5. one error shape for every 4xx --------------------------------------------------------------

NESTED = b"[" * 30_000 + b"]" * 30_000  # 60,000 bytes: under the body limit, far too deep
BAD_REQUESTS = [
    # (name, method, path, headers beyond the key's, body, with a key, status, error)
    ("nested-arrays", "POST", "/v1/search", {"Content-Type": "application/json"}, NESTED, True, 400, "invalid_body"),
    ("nested-in-a-field", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": ' + NESTED + b"}", True, 400, "invalid_body"),
    ("100k-nested-arrays", "POST", "/v1/search", {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000, True, 413, "body_too_large"),
    ("not-json", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "a"', True, 400, "invalid_body"),
    ("not-utf-8", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "\xff\xfe"}', True, 400, "invalid_body"),
    ("5000-digits", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "a", "limit": ' + b"1" * 5000 + b"}", True, 400, "invalid_body"),
    ("form-body", "POST", "/v1/search", {"Content-Type": "application/x-www-form-urlencoded"}, b"query=a", True, 415, "unsupported_media_type"),
    ("no-content-type", "POST", "/v1/search", {}, b'{"query": "a"}', True, 415, "unsupported_media_type"),
    ("text-plain", "POST", "/v1/search", {"Content-Type": "text/plain"}, NESTED, True, 415, "unsupported_media_type"),
    ("wrong-field", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "a", "limit": 101}', True, 422, "invalid_request"),
    ("not-an-object", "POST", "/v1/search", {"Content-Type": "application/json"}, b"[1, 2]", True, 422, "invalid_request"),
    ("too-deep-paging", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "a", "limit": 100, "offset": 9950}', True, 422, "too_deep"),
    ("no-key", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "a"}', False, 401, "unauthorized"),
    ("no-key-document", "GET", "/v1/documents/" + "0" * 64, {}, b"", False, 401, "unauthorized"),
    ("missing-document", "GET", "/v1/documents/" + "0" * 64, {}, b"", True, 404, "not_found"),
    ("page-not-a-number", "GET", "/v1/documents/" + "0" * 64 + "/pages/x/thumbnail", {}, b"", True, 422, "invalid_request"),
    ("no-such-route", "GET", "/v1/nothing", {}, b"", True, 404, "no_route"),
    ("no-such-route-outside", "GET", "/nothing", {}, b"", False, 404, "no_route"),
    ("get-search", "GET", "/v1/search", {}, b"", True, 405, "method_not_allowed"),
    ("post-health", "POST", "/health", {}, b"", False, 405, "method_not_allowed"),
    ("too-large", "POST", "/v1/search", {"Content-Type": "application/json"}, b'{"query": "' + b"a" * 70_000 + b'"}', True, 413, "body_too_large"),
    ("cross-site-login", "POST", "/ui/login", {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, b"key=x", False, 403, "cross_site"),
]  # fmt: skip


def test_every_4xx_has_the_error_shape(archive: Path) -> None:
    _, key = KeyStore(archive).create(AccessLevel.restricted)
    seen = set()
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS)) as client:
        for name, method, path, headers, body, keyed, status, error in BAD_REQUESTS:
            if keyed:
                headers = {**headers, "Authorization": f"Bearer {key}"}
            r = client.request(method, path, headers=headers, content=body)
            try:
                shaped(r, status, error)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None
            seen.add(status)
            if status == 405:
                assert r.headers["allow"], name
            if status == 401:
                assert r.headers["www-authenticate"] == "Bearer", name
        nested = client.post(
            "/v1/search", content=NESTED, headers={"Authorization": f"Bearer {key}", **_JSON}
        ).json()
        assert nested["detail"] == "the request body is not JSON that can be read: it is nested too deeply"
    with TestClient(create_app(archive, "sqlite", limits=ApiLimits(rate_per_s=0.01, burst=1))) as client:
        statuses = [
            client.post("/v1/search", json={"query": "a"}, headers={"Authorization": f"Bearer {key}"})
            for _ in range(2)
        ]
        assert statuses[0].status_code == 200
        shaped(statuses[1], 429, "rate_limited")
        seen.add(429)
    # 408 is tested over a real socket above (test_a_body_that_stalls_or_trickles_is_answered_408).
    assert seen == {400, 401, 403, 404, 405, 413, 415, 422, 429}


_JSON = {"Content-Type": "application/json"}


# -- 6. a hidden document costs what a missing one does --------------------------------------------


def test_visibility_is_decided_from_the_record_s_head_and_checked_on_the_whole(
    archive: Path, shared: ApiArchive
) -> None:
    """The lookup decides from the record's first KiB (bench/api_timing.py measures why); a
    record whose level lies beyond it is read in full, and either way a visible document is
    checked again on its whole record."""
    store = KeyStore(archive)
    keys = {level: store.create(level)[1] for level in (AccessLevel.public, AccessLevel.restricted)}
    doc_id = shared.ids["ancheta"]  # restricted
    path = package_dir(archive, doc_id) / METADATA_NAME
    record = json.loads(path.read_text(encoding="utf-8"))
    long_name = {**record, "name": "dosar " * 300}  # its access level now past the first KiB
    path.write_text(json.dumps(long_name, ensure_ascii=False, indent=2), encoding="utf-8")
    with TestClient(create_app(archive, "sqlite", limits=GENEROUS)) as client:

        def status(level: AccessLevel) -> int:
            headers = {"Authorization": f"Bearer {keys[level]}"}
            return client.get(f"/v1/documents/{doc_id}", headers=headers).status_code

        assert (status(AccessLevel.restricted), status(AccessLevel.public)) == (200, 404)
        # A head that says public does not make a restricted record visible: the level given
        # again past the first KiB (JSON's last duplicate wins) is the one checked.
        head = json.dumps({"document_id": doc_id, "access_level": "public"})[:-1]
        path.write_text(head + ", " + json.dumps(long_name)[1:], encoding="utf-8")
        assert json.loads(path.read_text())["access_level"] == "restricted"
        assert (status(AccessLevel.restricted), status(AccessLevel.public)) == (200, 404)
