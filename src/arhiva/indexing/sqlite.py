"""The embedded index: SQLite FTS5 in the archive folder, one row per page.

The `unicode61` tokenizer with `remove_diacritics 2` folds ă â î ș ț and the old cedilla
letters ş ţ to their base letters, and case, both when indexing and when searching; so
`autorizatie`, `AUTORIZAȚIE` and `autorizaţie` all find `autorizație`. Snippets are cut
from the original text, diacritics kept.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from arhiva.indexing.base import DocumentRecords, IndexVersionError
from arhiva.indexing.query import parse_query, to_fts5
from arhiva.schemas.models import IndexRecord
from arhiva.schemas.search import (
    FACET_FIELDS,
    MARK_END,
    MARK_START,
    FacetCount,
    SearchFilters,
    SearchHit,
    SearchRequest,
    SearchResult,
)

SCHEMA_VERSION = 2
INDEX_FILE = "index.sqlite"
MAX_PAGES_PER_HIT = 100

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    title TEXT NOT NULL,
    collection TEXT,
    document_type TEXT,
    issue_date TEXT,
    registration_number TEXT,
    access_level TEXT NOT NULL,
    pdf_path TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (document_id, page)
);
CREATE VIRTUAL TABLE pages_fts USING fts5(
    text, content='pages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER pages_ai AFTER INSERT ON pages BEGIN
    INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER pages_ad AFTER DELETE ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""
_DROP = """
DROP TRIGGER IF EXISTS pages_ai;
DROP TRIGGER IF EXISTS pages_ad;
DROP TABLE IF EXISTS pages_fts;
DROP TABLE IF EXISTS pages;
DROP TABLE IF EXISTS meta;
"""
_INSERT = (
    "INSERT INTO pages (document_id, page, title, collection, document_type, issue_date,"
    " registration_number, access_level, pdf_path, text) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def _row(r: IndexRecord) -> tuple[Any, ...]:
    return (
        r.document_id,
        r.page,
        r.title,
        r.collection,
        r.document_type,
        r.issue_date.isoformat() if r.issue_date else None,
        r.registration_number,
        r.access_level.value,
        r.pdf_path,
        r.text,
    )


def _where(filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (
        ("collection", filters.collection),
        ("document_type", filters.document_type),
        ("access_level", [v.value for v in filters.access_level]),
    ):
        if values:
            clauses.append(f"p.{column} IN ({','.join('?' * len(values))})")
            args += list(values)
    if filters.date_from:
        clauses.append("p.issue_date >= ?")
        args.append(filters.date_from.isoformat())
    if filters.date_to:
        clauses.append("p.issue_date <= ?")
        args.append(filters.date_to.isoformat())
    return "".join(f" AND {c}" for c in clauses), args


def _statements(script: str) -> list[str]:
    """Split a script into statements (trigger bodies included), to run inside a transaction."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


class SqliteIndex:
    """SearchIndex on SQLite FTS5. Safe to share between threads of one process."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
            if not exists:
                self._create()
            self.schema_version = int(
                self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
            )

    @classmethod
    def in_archive(cls, archive: Path) -> SqliteIndex:
        return cls(archive / INDEX_FILE)

    def _create(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(_TABLES):
                self._db.execute(statement)
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _check_version(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise IndexVersionError(
                f"{self.path} has index schema {self.schema_version}, this arhiva needs {SCHEMA_VERSION}; "
                "run `arhiva reindex` to rebuild it from the archive"
            )

    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        self._check_version()
        rows = [_row(r) for r in records]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM pages WHERE document_id = ?", (document_id,))
                self._db.executemany(_INSERT, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def rebuild(self, documents: Iterable[DocumentRecords]) -> int:
        """One transaction: readers see the old index until the new one is committed."""
        written = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(_DROP + _TABLES):
                    self._db.execute(statement)
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                for _, records in documents:
                    self._db.executemany(_INSERT, [_row(r) for r in records])
                    written += len(records)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.schema_version = SCHEMA_VERSION
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return written

    def refresh(self) -> None:
        """Committed writes are visible at once."""

    def has_document(self, document_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM pages WHERE document_id = ? LIMIT 1", (document_id,))
            return row.fetchone() is not None

    def document_ids(self) -> Iterator[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT document_id FROM pages").fetchall()
        yield from (r[0] for r in rows)

    def count_pages(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM pages").fetchone()[0])

    def count_documents(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(DISTINCT document_id) FROM pages").fetchone()[0])

    def search(self, request: SearchRequest) -> SearchResult:
        """One full-text pass into a temporary table; totals, groups and facets come from it."""
        self._check_version()
        terms = parse_query(request.query)
        if not terms:
            return SearchResult(total_documents=0, hits=())
        match = to_fts5(terms)
        where, args = _where(request.filters)
        with self._lock:
            self._db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER, document_id TEXT, page INTEGER, rank REAL,"
                " collection TEXT, document_type TEXT, access_level TEXT, year TEXT)"
            )
            self._db.execute("DELETE FROM temp.hits")
            self._db.execute(
                "INSERT INTO temp.hits SELECT p.id, p.document_id, p.page, bm25(pages_fts), p.collection,"
                " p.document_type, p.access_level, substr(p.issue_date, 1, 4) FROM pages_fts"
                f" JOIN pages p ON p.id = pages_fts.rowid WHERE pages_fts MATCH ?{where}",
                (match, *args),
            )
            total = self._db.execute("SELECT count(DISTINCT document_id) FROM temp.hits").fetchone()[0]
            # With min(), SQLite takes the other bare columns (id) from the row holding the minimum.
            groups = self._db.execute(
                "SELECT document_id, min(rank) AS best, id, group_concat(page) FROM temp.hits"
                " GROUP BY document_id ORDER BY best, document_id LIMIT ? OFFSET ?",
                (request.limit, request.offset),
            ).fetchall()
            hits = [self._hit(match, *g) for g in groups]
            facets = self._facets() if request.facets else {}
            self._db.execute("DELETE FROM temp.hits")
        return SearchResult(total_documents=int(total), hits=tuple(hits), facets=facets)

    def _hit(self, match: str, document_id: str, best: float, best_id: int, pages: str) -> SearchHit:
        row = self._db.execute(
            f"SELECT p.page, p.title, p.collection, p.document_type, p.issue_date, p.access_level, p.pdf_path, "
            f"snippet(pages_fts, 0, '{MARK_START}', '{MARK_END}', '…', 24) "
            "FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid WHERE pages_fts MATCH ? AND p.id = ?",
            (match, best_id),
        ).fetchone()
        page, title, collection, doc_type, issue_date, access, pdf_path, snippet = row
        return SearchHit(
            document_id=document_id,
            title=title,
            pages=tuple(sorted(int(p) for p in pages.split(",")))[:MAX_PAGES_PER_HIT],
            snippet=" ".join(snippet.split()),
            snippet_page=page,
            score=round(-best, 4),
            collection=collection,
            document_type=doc_type,
            issue_date=issue_date,
            access_level=access,
            pdf_path=pdf_path,
        )

    def _facets(self) -> dict[str, tuple[FacetCount, ...]]:
        facets = {}
        for name in FACET_FIELDS:
            rows = self._db.execute(
                f"SELECT {name} AS v, count(DISTINCT document_id) AS n FROM temp.hits WHERE v IS NOT NULL"
                " GROUP BY v ORDER BY n DESC, v LIMIT 50"
            ).fetchall()
            facets[name] = tuple(FacetCount(value=str(v), count=int(n)) for v, n in rows)
        return facets

    def close(self) -> None:
        with self._lock:
            self._db.close()
