"""Load test of the portal search API: requests/s and latency of POST /v1/search, both backends.

Run from the repository root:  python -m bench.api_load [--pages 1000000] [--backends sqlite,elasticsearch]

For each backend:

1. **Index.** `--pages` synthetic pages (default 1,000,000) from bench.index's generator
   (`synthetic_documents`: the same Romanian text, metadata and rare words as `bench.index`) go
   through the backend's own `rebuild()` into a fresh temporary archive folder (SQLite) or a fresh
   alias `apiload-<random>` (Elasticsearch). Not timed here; `bench.index` measures that.
2. **Service.** `python -m arhiva api --archive TMP --index ... --port PORT` runs as its own process
   on 127.0.0.1 (loopback only), with a public API key created by `arhiva.keys` (so every search
   carries the forced access-level filter, as the portal's would) and the rate limit raised out of
   the way. Its JSON access log goes to a file in the temporary folder (its cost is included).
3. **Load.** `--concurrency` clients (default 8) on one asyncio event loop (httpx, keep-alive)
   send the 20 queries of `bench.index.QUERIES` in turn, each once untimed to warm up, then until
   `--requests` requests (default 2,000) or `--seconds` seconds (default 60), whichever comes first.
   requests/s = answered requests / wall time of the timed phase; p50/p95/p99 are over every timed
   request, measured in the client (queueing in the server included). Answers other than 200 are
   counted and reported, never hidden.

Elasticsearch is `--es-url`, or a node started with `scripts/elasticsearch start` on `--es-port`
(9261) and stopped at the end; the benchmark's indices are deleted at the end either way.
Results go to bench/results/api-load-<timestamp>.json with the 1-minute load average.

Caveats: the client, the API process and the index (the Elasticsearch JVM, or SQLite inside the
API process) share the machine's cores; on 2 cores the client's own CPU use is part of the figure.
Nothing is asserted: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

import arhiva
from arhiva.indexing.open import open_index
from arhiva.keys import KeyStore
from arhiva.schemas.models import AccessLevel

from .index import BACKENDS, QUERIES, RESULTS_DIR, es_script, percentile, synthetic_documents

HOST = "127.0.0.1"


@dataclass(frozen=True)
class LoadResult:
    backend: str
    pages: int
    index_build_s: float
    concurrency: int
    requests: int
    non_200: dict[str, int]
    seconds: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_total_documents: float
    load_1min_before: float


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def build_index(archive: Path, location: str, pages: int, seed: int) -> float:
    start = time.perf_counter()
    index = open_index(archive, location)
    try:
        index.rebuild(synthetic_documents(pages, seed))
        index.refresh()
    finally:
        index.close()
    return time.perf_counter() - start


def start_api(archive: Path, location: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "arhiva", "api", "--archive", str(archive), "--index", location]
    cmd += ["--host", HOST, "--port", str(port), "--rate", "1000000", "--burst", "1000000"]
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"arhiva api exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://{HOST}:{port}/health", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"arhiva api did not answer within 120 s; see {log}")


async def load(
    url: str, key: str, concurrency: int, max_requests: int, max_seconds: float
) -> tuple[list[float], dict[str, int], list[int], float]:
    bodies = [q.request.model_dump(mode="json") for q in QUERIES]
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    totals: list[int] = []
    non_200: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:
        for body in bodies:  # warm-up, untimed; an error here is the server's answer, not the bench's
            r = await client.post("/v1/search", json=body)
            if r.status_code != 200:
                print(f"warm-up: {r.status_code} for {body['query']!r}", flush=True)
        sent = 0
        start = time.perf_counter()
        deadline = start + max_seconds

        async def worker() -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/search", json=body)
                except httpx.HTTPError as exc:
                    non_200[type(exc).__name__] = non_200.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 200:
                    totals.append(int(r.json()["total_documents"]))
                else:
                    non_200[str(r.status_code)] = non_200.get(str(r.status_code), 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, non_200, totals, elapsed


def run_backend(backend: str, es_url: str | None, args: argparse.Namespace) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="arhiva-apiload-") as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        location = "sqlite" if backend == "sqlite" else f"{es_url}/apiload-{secrets.token_hex(4)}"
        print(f"{backend}: indexing {args.pages} pages ...", flush=True)
        build_s = build_index(archive, location, args.pages, args.seed)
        print(f"{backend}: indexed in {build_s:.0f} s; starting arhiva api", flush=True)
        _, key = KeyStore(archive).create(AccessLevel.public, "bench")
        port = free_port()
        proc = start_api(archive, location, port, Path(tmp) / "api.log")
        try:
            load_before = os.getloadavg()[0]
            lat, non_200, totals, elapsed = asyncio.run(
                load(f"http://{HOST}:{port}", key, args.concurrency, args.requests, args.seconds)
            )
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            if backend != "sqlite":
                from arhiva.indexing.elastic import ElasticIndex

                index = open_index(archive, location)
                assert isinstance(index, ElasticIndex)
                if names := index.indices():
                    index.es.indices.delete(index=",".join(names), ignore_unavailable=True)
                index.close()
    ms = sorted(x * 1000 for x in lat)
    return LoadResult(
        backend=backend,
        pages=args.pages,
        index_build_s=round(build_s, 1),
        concurrency=args.concurrency,
        requests=len(lat),
        non_200=non_200,
        seconds=round(elapsed, 2),
        requests_per_s=round(len(lat) / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(percentile(ms, 50), 1) if ms else 0.0,
        p95_ms=round(percentile(ms, 95), 1) if ms else 0.0,
        p99_ms=round(percentile(ms, 99), 1) if ms else 0.0,
        mean_total_documents=round(sum(totals) / len(totals), 1) if totals else 0.0,
        load_1min_before=round(load_before, 2),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_load", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=1_000_000, help="pages to index [1000000]")
    parser.add_argument("--seed", type=int, default=1, help="generator seed [1]")
    parser.add_argument(
        "--requests", type=int, default=2000, help="timed requests per backend, at most [2000]"
    )
    parser.add_argument("--seconds", type=float, default=60, help="timed phase per backend, at most [60]")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight [8]")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated [both]")
    parser.add_argument("--es-url", help="an Elasticsearch node to use; default: start one")
    parser.add_argument("--es-port", type=int, default=9261, help="port of the node started [9261]")
    parser.add_argument("--es-heap", default="2g", help="Java heap of the node started [2g]")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or any(b not in BACKENDS for b in backends):
        parser.error(f"--backends: choose among {', '.join(BACKENDS)}")
    if min(args.pages, args.requests, args.concurrency) < 1 or args.seconds <= 0:
        parser.error("--pages, --requests, --concurrency and --seconds must be positive")
    for url in filter(None, [args.es_url]):
        if httpx.URL(url).host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("--es-url must be on loopback")

    load_at_start = os.getloadavg()[0]
    results: list[LoadResult] = []
    for backend in backends:
        if backend == "sqlite":
            results.append(run_backend(backend, None, args))
            continue
        url, started = args.es_url, False
        try:
            if not url:
                print(f"starting Elasticsearch on port {args.es_port} ...", flush=True)
                url, started = es_script("start", args.es_port, args.es_heap), True
            results.append(run_backend(backend, url.rstrip("/"), args))
        finally:
            if started:
                es_script("stop", args.es_port)

    print()
    print(
        f"{'backend':<14}{'pages':>10}{'conc.':>7}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  non-200"
    )
    for r in results:
        print(
            f"{r.backend:<14}{r.pages:>10}{r.concurrency:>7}{r.requests:>10}{r.requests_per_s:>9.1f}"
            f"{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}  {r.non_200 or '-'}"
        )
    report = {
        "timestamp": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "arhiva_version": arhiva.__version__,
        "cpu_count": os.cpu_count(),
        "load_1min_at_start": round(load_at_start, 2),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
        "results": [asdict(r) for r in results],
    }
    print(f"1-min load average {report['load_1min_at_start']} at start, {report['load_1min_at_end']} at end")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"api-load-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
