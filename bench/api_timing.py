"""Does a restricted document answered as missing cost more than a missing one? (issue 16)

Run from the repository root:  python -m bench.api_timing [--requests 2000] [--documents 200]

1. **Archive.** A temporary archive of `--documents` restricted documents, their records
   (metadata.json) written as the archive writes them (indented JSON of ArchivedDocument): one
   image page each, as most scans are, and `--documents` more of `--big-pages` image pages
   each; an empty SQLite index; a **public** API key. Only the records are written: the
   document routes read nothing else before answering 404.
2. **In process.** `Service.document()` (the lookup every document route makes) for a random
   missing id and for a restricted id, alternated, `--lookups` times each: median µs. The
   lookup as it was before issue 16 (read the record, 404 at once when there is none) is
   measured the same way, for comparison.
3. **Over HTTP.** `python -m arhiva api` on 127.0.0.1 (rate limit out of the way), one httpx
   client with keep-alive sending `GET /v1/documents/{id}` with the public key, missing and
   restricted ids alternated (the order of each pair at random), `--requests` of each after
   100 untimed: median and p90 ms, measured in the client. Every answer must be the same 404.

Nothing is asserted; the figures are only comparable on the same machine, and a busy machine
blurs differences of tens of microseconds. Results also go to bench/results/api-timing-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from arhiva.api.errors import Problem
from arhiva.api.limits import ApiLimits
from arhiva.api.service import Service
from arhiva.archive.package import METADATA_NAME, OCR_NAME, PDF_NAME, load_document, package_dir
from arhiva.indexing.open import open_index
from arhiva.keys import KeyStore, visible_levels
from arhiva.schemas.models import (
    AccessLevel,
    ArchivedDocument,
    ArchivedFile,
    DocumentMetadata,
    FileKind,
    SourceFile,
)
from bench.api_load import free_port, start_api
from bench.measure import machine, table, write_results

HOST = "127.0.0.1"


def record(document_id: str, pages: int) -> ArchivedDocument:
    sources = tuple(
        SourceFile(
            path=f"dosar-{document_id[:6]}/p{n:04d}.png",
            sha256=secrets.token_hex(32),
            size=1_283_560 + n,
            kind=FileKind.image,
            pages=1,
        )
        for n in range(1, pages + 1)
    )
    return ArchivedDocument(
        document_id=document_id,
        name=f"dosar-{document_id[:6]}",
        batch="lot-2026-11-22",
        collection="asistenta-sociala",
        access_level=AccessLevel.restricted,
        metadata=DocumentMetadata(
            title=f"Anchetă socială nr. {document_id[:4]}", document_type="anchetă socială"
        ),
        page_count=pages,
        mean_confidence=93.5,
        languages="ron",
        ocr_engine="Tesseract 5.3.0; ron 4.00.00alpha:ron:synth20170629:[1,36,0,1Ct3,3,16Mp3,3Lfys48Lfx96"
        "Lrx96Lfx128O1c1] sha256:9adfde6b51ba",
        pipeline_version="arhiva-0.1.0",
        archived_at=dt.datetime(2026, 11, 22, 13, 2, 11, tzinfo=dt.UTC),
        sources=sources,
        files=(
            ArchivedFile(name=PDF_NAME, sha256=secrets.token_hex(32), size=240_522 * pages),
            ArchivedFile(name=OCR_NAME, sha256=secrets.token_hex(32), size=13_526 * pages),
        ),
    )


def build(archive: Path, documents: int, big_pages: int) -> tuple[list[str], list[str], str]:
    """(ids of one-page documents, ids of big ones, a public key)."""
    small, big = [], []
    for ids, pages in ((small, 1), (big, big_pages)):
        for _ in range(documents):
            doc_id = secrets.token_hex(32)
            folder = package_dir(archive, doc_id)
            folder.mkdir(parents=True)
            (folder / METADATA_NAME).write_text(
                record(doc_id, pages).model_dump_json(indent=2) + "\n", encoding="utf-8"
            )
            ids.append(doc_id)
    open_index(archive, "sqlite").close()
    _, key = KeyStore(archive).create(AccessLevel.public, "bench")
    return small, big, key


def before(archive: Path, document_id: str, level: AccessLevel) -> ArchivedDocument:
    """The lookup as it was before issue 16: no record, an immediate 404."""
    try:
        doc = load_document(archive, document_id)
    except (OSError, ValueError):
        raise Problem(404, "not_found", "no such document") from None
    if doc.access_level not in visible_levels(level):
        raise Problem(404, "not_found", "no such document")
    return doc


def timed_lookups(
    lookup: Callable[[str, AccessLevel], object], hidden: list[str], n: int
) -> tuple[float, float]:
    """Median µs of a lookup by a public key of (a missing id, a hidden id), alternated."""
    missing_us: list[float] = []
    hidden_us: list[float] = []
    for i in range(n):
        pair = [(secrets.token_hex(32), missing_us), (hidden[i % len(hidden)], hidden_us)]
        random.shuffle(pair)
        for doc_id, out in pair:
            t0 = time.perf_counter_ns()
            try:
                lookup(doc_id, AccessLevel.public)
            except Problem:
                pass
            else:
                raise SystemExit(f"{doc_id} was visible to a public key")
            out.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(missing_us), statistics.median(hidden_us)


def over_http(url: str, key: str, hidden: list[str], n: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"missing": [], "restricted": []}
    seen: set[tuple[int, bytes]] = set()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(n + 100):
            pair = [("missing", secrets.token_hex(32)), ("restricted", hidden[i % len(hidden)])]
            random.shuffle(pair)
            for what, doc_id in pair:
                t0 = time.perf_counter()
                r = client.get(f"/v1/documents/{doc_id}")
                took = (time.perf_counter() - t0) * 1000
                seen.add((r.status_code, r.content))
                if i >= 100:
                    timings[what].append(took)
    if len(seen) != 1 or next(iter(seen))[0] != 404:
        raise SystemExit(f"the answers differ or are not 404: {seen}")
    out = {}
    for what, ms in timings.items():
        out[f"{what}_median_ms"] = statistics.median(ms)
        out[f"{what}_p90_ms"] = statistics.quantiles(ms, n=10)[-1]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_timing", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--documents", type=int, default=200, help="restricted documents of each size [200]")
    parser.add_argument("--big-pages", type=int, default=100, help="image pages of each big document [100]")
    parser.add_argument("--lookups", type=int, default=5000, help="in-process lookups of each kind [5000]")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests of each kind [2000]")
    args = parser.parse_args(argv)

    report: dict[str, object] = {"machine": machine(), "args": vars(args)}
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="arhiva-bench-timing-") as tmp:
        archive = Path(tmp) / "arhiva"
        small, big, key = build(archive, args.documents, args.big_pages)
        service = Service(archive, "sqlite", ApiLimits())
        try:
            for label, hidden in (("1-page", small), (f"{args.big_pages}-page", big)):
                for name, lookup in (
                    ("before", lambda i, lv: before(archive, i, lv)),
                    ("now", service.document),
                ):
                    timed_lookups(lookup, hidden, 200)  # warm-up
                    missing, restricted = timed_lookups(lookup, hidden, args.lookups)
                    report[f"in_process_{name}_{label}"] = {
                        "missing_us": missing,
                        "restricted_us": restricted,
                    }
                    rows.append(
                        (
                            f"in process, {name}: missing / restricted {label} (median µs)",
                            f"{missing:.1f} / {restricted:.1f}",
                        )
                    )
        finally:
            service.close()
        port = free_port()
        proc = start_api(archive, "sqlite", port, Path(tmp) / "api.log")
        try:
            for label, hidden in (("1-page", small), (f"{args.big_pages}-page", big)):
                http = over_http(f"http://{HOST}:{port}", key, hidden, args.requests)
                report[f"http_{label}"] = http
                rows.append(
                    (
                        f"HTTP: missing / restricted {label} (median ms)",
                        f"{http['missing_median_ms']:.3f} / {http['restricted_median_ms']:.3f}",
                    )
                )
                rows.append(
                    (
                        f"HTTP: missing / restricted {label} (p90 ms)",
                        f"{http['missing_p90_ms']:.3f} / {http['restricted_p90_ms']:.3f}",
                    )
                )
        finally:
            proc.terminate()
            proc.wait(10)
    print(table(rows))
    print(f"\nwrote {write_results('api-timing', report)}")


if __name__ == "__main__":
    main()
