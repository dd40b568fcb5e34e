"""The embedded index: SQLite FTS5 in the archive folder, one row per page.

Each page's text is stored once (`pages`) and indexed in one full-text table per clearance
(visibility.py): `pages_fts_public` holds the public pages, `pages_fts_internal` the public and
internal ones, `pages_fts_restricted` all of them, each an external-content FTS5 table over
`pages`. A search reads one of them, so bm25() and every count see only what the caller may.

The `unicode61` tokenizer with `remove_diacritics 2` folds ă â î ș ț and the old cedilla
letters ş ţ to their base letters, and case, both when indexing and when searching; so
`autorizatie`, `AUTORIZAȚIE` and `autorizaţie` all find `autorizație`. Snippets are cut
from the original text, diacritics kept.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arhiva.indexing.base import DocumentRecords, IndexingError, IndexVersionError
from arhiva.indexing.query import parse_query, to_fts5
from arhiva.indexing.visibility import CLEARANCES, scope, sets_holding
from arhiva.schemas.models import AccessLevel, IndexRecord
from arhiva.schemas.search import (
    COUNT_LIMIT,
    FACET_FIELDS,
    HIT_FIELDS,
    MARK_END,
    MARK_START,
    FacetCount,
    SearchFilters,
    SearchHit,
    SearchRequest,
    SearchResult,
)

# 4: one full-text table per clearance (3 had one table of every page, whatever its level).
SCHEMA_VERSION = 4
INDEX_FILE = "index.sqlite"
MAX_PAGES_PER_HIT = 100
MAX_FACET_VALUES = 50
DEFAULT_CACHE_SIZE = -2000  # SQLite's default page cache: 2 MB
REBUILD_CACHE_KIB = 256 * 1024  # a rebuild merges full-text segments in a 256 MB cache
# A page's row id is its document's number shifted left by PAGE_BITS, plus the page number:
# the full-text index alone then tells which document a match is on, without a join.
PAGE_BITS = 16
MAX_PAGE = (1 << PAGE_BITS) - 1


def fts_table(clearance: AccessLevel) -> str:
    """The full-text table of a clearance's set."""
    return f"pages_fts_{clearance.value}"


_FTS_TABLE = """CREATE VIRTUAL TABLE {table} USING fts5(
    text, content='pages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
"""
_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    doc INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    collection TEXT,
    document_type TEXT,
    issue_date TEXT,
    year TEXT,
    registration_number TEXT,
    access_level TEXT NOT NULL,
    pdf_path TEXT NOT NULL
);
CREATE TABLE pages (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
""" + "".join(_FTS_TABLE.format(table=fts_table(c)) for c in CLEARANCES)
# Schema 3's one full-text table, kept up by triggers, goes too.
_DROP = (
    """
DROP TRIGGER IF EXISTS pages_ai;
DROP TRIGGER IF EXISTS pages_ad;
DROP TABLE IF EXISTS pages_fts;
"""
    + "".join(f"DROP TABLE IF EXISTS {fts_table(c)};\n" for c in CLEARANCES)
    + """DROP TABLE IF EXISTS pages;
DROP TABLE IF EXISTS documents;
DROP TABLE IF EXISTS meta;
"""
)
_INSERT_DOCUMENT = (
    "INSERT INTO documents (document_id, title, collection, document_type, issue_date, year,"
    " registration_number, access_level, pdf_path) VALUES (?,?,?,?,?,?,?,?,?)"
)
_UPDATE_DOCUMENT = (
    "UPDATE documents SET title=?, collection=?, document_type=?, issue_date=?, year=?,"
    " registration_number=?, access_level=?, pdf_path=? WHERE doc=?"
)
_INSERT_PAGE = "INSERT INTO pages (id, text) VALUES (?, ?)"
# A document's pages into, or out of, a full-text table ({t}) of external content: what is
# removed must be given as it was indexed, so both read the text from `pages`.
_INDEX_PAGES = "INSERT INTO {t}(rowid, text) SELECT id, text FROM pages WHERE id BETWEEN ? AND ?"
_UNINDEX_PAGES = (
    "INSERT INTO {t}({t}, rowid, text) SELECT 'delete', id, text FROM pages WHERE id BETWEEN ? AND ?"
)
# What a hit shows of its document's row, read by name.
_HIT_COLUMNS = ("doc", *HIT_FIELDS)
# SQLite's primary result codes of a database another connection holds: worth trying again.
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _metadata(r: IndexRecord) -> tuple[Any, ...]:
    issue_date = r.issue_date.isoformat() if r.issue_date else None
    return (
        r.title,
        r.collection,
        r.document_type,
        issue_date,
        issue_date[:4] if issue_date else None,
        r.registration_number,
        r.access_level.value,
        r.pdf_path,
    )


def _page_rows(doc: int, records: list[IndexRecord]) -> list[tuple[int, str]]:
    rows = []
    for r in records:
        if not 1 <= r.page <= MAX_PAGE:
            raise IndexingError(f"{r.document_id}: page {r.page} is outside 1..{MAX_PAGE}")
        rows.append(((doc << PAGE_BITS) | r.page, r.text))
    return rows


def _where(filters: SearchFilters) -> tuple[str, list[Any]]:
    """Conditions on `documents`, and their arguments."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (
        ("collection", filters.collection),
        ("document_type", filters.document_type),
        ("access_level", [v.value for v in filters.access_level]),
    ):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            args += list(values)
    if filters.date_from:
        clauses.append("issue_date >= ?")
        args.append(filters.date_from.isoformat())
    if filters.date_to:
        clauses.append("issue_date <= ?")
        args.append(filters.date_to.isoformat())
    return " AND ".join(clauses), args


def _columns(table: str) -> str:
    return ", ".join(f"{table}.{c}" for c in _HIT_COLUMNS)


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


def _owner_only(path: Path) -> None:
    """The index holds the text of every access level: created 0600, and an older one opened to
    others is closed to them (SQLite gives its -wal and -shm files the database's mode)."""
    if not path.exists():
        path.touch(mode=0o600)
    elif path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):
            path.chmod(0o600)


class SqliteIndex:
    """SearchIndex on SQLite FTS5. Safe to share between threads of one process."""

    backend = "sqlite"

    def __init__(self, path: Path, *, count_limit: int = COUNT_LIMIT) -> None:
        self.path = path
        # A search counts documents over at most count_limit + 1 matching pages (see search()).
        self.count_limit = count_limit
        path.parent.mkdir(parents=True, exist_ok=True)
        _owner_only(path)
        self._lock = threading.Lock()
        with self._failures("opening it"):
            self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self._lock:
                    exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
                    if not exists:
                        self._create()
                    self.schema_version = int(
                        self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
                    )
            except BaseException:
                self._db.close()
                raise

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """SQLite's errors as arhiva's: an IndexingError naming the file and what failed,
        retryable only when another connection held the database."""
        try:
            yield
        except sqlite3.Error as exc:
            error = IndexingError(f"SQLite index {self.path}: {doing} failed: {exc}")
            error.retryable = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY_CODES
            raise error from exc

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

    def _write_document(self, document_id: str, records: list[IndexRecord], *, fresh: bool) -> None:
        """Inside a transaction: the document's row and its pages, replacing what it had, in the
        full-text table of every clearance that sees its (new) level and in no other.
        `fresh`: the index was just emptied, nothing to replace."""
        row = (
            None
            if fresh
            else self._db.execute(
                "SELECT doc, access_level FROM documents WHERE document_id = ?", (document_id,)
            ).fetchone()
        )
        if row is not None:
            doc = int(row[0])
            span = (doc << PAGE_BITS, (doc << PAGE_BITS) | MAX_PAGE)
            for clearance in sets_holding(AccessLevel(row[1])):
                self._db.execute(_UNINDEX_PAGES.format(t=fts_table(clearance)), span)
            self._db.execute("DELETE FROM pages WHERE id BETWEEN ? AND ?", span)
            if not records:
                self._db.execute("DELETE FROM documents WHERE doc = ?", (doc,))
                return
            self._db.execute(_UPDATE_DOCUMENT, (*_metadata(records[0]), doc))
        elif not records:
            return
        else:
            doc = int(
                self._db.execute(_INSERT_DOCUMENT, (document_id, *_metadata(records[0]))).lastrowid or 0
            )
        self._db.executemany(_INSERT_PAGE, _page_rows(doc, records))
        span = (doc << PAGE_BITS, (doc << PAGE_BITS) | MAX_PAGE)
        for clearance in sets_holding(records[0].access_level):
            self._db.execute(_INDEX_PAGES.format(t=fts_table(clearance)), span)

    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        self._check_version()
        rows = list(records)
        with self._failures(f"indexing {document_id}"), self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._write_document(document_id, rows, fresh=False)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def rebuild(self, documents: Iterable[DocumentRecords]) -> int:
        """One transaction: readers see the old index until the new one is committed."""
        written = 0
        with self._failures("rebuilding it"), self._lock:
            self._db.execute(f"PRAGMA cache_size = -{REBUILD_CACHE_KIB}")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(_DROP + _TABLES):
                    self._db.execute(statement)
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                for document_id, records in documents:
                    self._write_document(document_id, records, fresh=True)
                    written += len(records)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._db.execute(f"PRAGMA cache_size = {DEFAULT_CACHE_SIZE}")
            self.schema_version = SCHEMA_VERSION
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return written

    def refresh(self) -> None:
        """Committed writes are visible at once."""

    def has_document(self, document_id: str) -> bool:
        self._check_version()  # as Elasticsearch's: an index to rebuild holds nothing usable
        with self._failures(f"looking up {document_id}"), self._lock:
            row = self._db.execute("SELECT 1 FROM documents WHERE document_id = ?", (document_id,))
            return row.fetchone() is not None

    def document_ids(self) -> Iterator[str]:
        with self._failures("listing its documents"), self._lock:
            rows = self._db.execute("SELECT document_id FROM documents").fetchall()
        yield from (r[0] for r in rows)

    def document_levels(self) -> Iterator[tuple[str, AccessLevel]]:
        with self._failures("listing its documents' levels"), self._lock:
            rows = self._db.execute("SELECT document_id, access_level FROM documents").fetchall()
        yield from ((r[0], AccessLevel(r[1])) for r in rows)

    def count_pages(self) -> int:
        with self._failures("counting its pages"), self._lock:
            return int(self._db.execute("SELECT count(*) FROM pages").fetchone()[0])

    def count_documents(self) -> int:
        with self._failures("counting its documents"), self._lock:
            return int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def search(self, request: SearchRequest) -> SearchResult:
        """Two passes over the full-text table of the request's clearance (visibility.scope),
        which alone tells the document of a match (its row id shifted right): the top pages by
        rank, for the documents of the answer page and their best pages; and counting (total
        and facets) over at most count_limit + 1 matching pages."""
        self._check_version()
        terms = parse_query(request.query)
        if not terms:
            return SearchResult(total_documents=0, hits=())
        match = to_fts5(terms)
        scoped = scope(request.filters)
        table = fts_table(scoped.clearance)
        where, args = _where(scoped.filters)
        only = f" AND rowid >> {PAGE_BITS} IN (SELECT doc FROM documents WHERE {where})" if where else ""
        with self._failures("searching"), self._lock:
            ranked = self._ranked(table, match, only, args, request.offset, request.limit)
            hits = [self._hit(table, match, best, page, doc) for best, page, doc in ranked]
            total, exact, facets = self._count(table, match, only, args)
        return SearchResult(
            total_documents=total,
            total_exact=exact,
            hits=tuple(hits),
            facets=facets if request.facets else {},
        )

    def _rows(self, sql: str, args: Iterable[Any]) -> list[sqlite3.Row]:
        """The rows of a query, read by column name."""
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, tuple(args)).fetchall()

    def _ranked(
        self, table: str, match: str, only: str, args: list[Any], offset: int, limit: int
    ) -> list[tuple[float, int, sqlite3.Row]]:
        """(best rank, best page, documents row) of each document of the answer page, best first.

        The top pages by rank first (a bounded sort: no grouping or join over every match), in
        two windows; only when documents with many matching pages fill both does it group every
        match per document."""
        wanted = offset + limit
        for size in (wanted * 3 + 20, wanted * 16 + 80):
            rows = self._db.execute(
                f"SELECT rowid, bm25({table}) AS r FROM {table} WHERE {table} MATCH ?{only}"
                " ORDER BY r, rowid LIMIT ?",
                (match, *args, size),
            ).fetchall()
            best: dict[int, tuple[float, int]] = {}
            for rowid, rank in rows:
                best.setdefault(rowid >> PAGE_BITS, (rank, rowid & MAX_PAGE))
            if len(best) >= wanted or len(rows) < size:
                chosen = list(best.items())[offset:wanted]
                if not chosen:
                    return []
                docs = {
                    row["doc"]: row
                    for row in self._rows(
                        f"SELECT {_columns('documents')} FROM documents"
                        f" WHERE doc IN ({','.join('?' * len(chosen))})",
                        [doc for doc, _ in chosen],
                    )
                }
                return [(rank, page, docs[doc]) for doc, (rank, page) in chosen]
        # With min(), SQLite takes the bare column (the page) from the row holding the minimum.
        # LIMIT -1 keeps SQLite from flattening bm25() into the aggregate (not allowed).
        rows = self._rows(
            f"SELECT m.best AS best_rank, m.page AS best_page, {_columns('d')} FROM ("
            f" SELECT id >> {PAGE_BITS} AS doc, min(r) AS best, id & {MAX_PAGE} AS page FROM ("
            f"  SELECT rowid AS id, bm25({table}) AS r FROM {table} WHERE {table} MATCH ?{only}"
            "  LIMIT -1"
            " ) GROUP BY doc) m JOIN documents d ON d.doc = m.doc"
            " ORDER BY m.best, m.doc LIMIT ? OFFSET ?",
            (match, *args, limit, offset),
        )
        return [(row["best_rank"], row["best_page"], row) for row in rows]

    def _hit(self, table: str, match: str, best: float, best_page: int, row: sqlite3.Row) -> SearchHit:
        """A hit from its document's row (the columns of _HIT_COLUMNS, by name)."""
        first = row["doc"] << PAGE_BITS
        pages = self._db.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ?"
            " ORDER BY rowid LIMIT ?",
            (match, first, first | MAX_PAGE, MAX_PAGES_PER_HIT),
        ).fetchall()
        (snippet,) = self._db.execute(
            f"SELECT snippet({table}, 0, '{MARK_START}', '{MARK_END}', '…', 24) FROM {table}"
            f" WHERE {table} MATCH ? AND rowid = ?",
            (match, first | best_page),
        ).fetchone()
        return SearchHit(
            pages=tuple(int(p) & MAX_PAGE for (p,) in pages),
            snippet=" ".join(snippet.split()),
            snippet_page=best_page,
            score=round(-best, 4),
            **{name: row[name] for name in HIT_FIELDS},
        )

    def _count(
        self, table: str, match: str, only: str, args: list[Any]
    ) -> tuple[int, bool, dict[str, tuple[FacetCount, ...]]]:
        """Documents in total and per facet value over at most count_limit + 1 matching pages
        (exact when no more match), per combination of facet values in one pass, then summed."""
        counts: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
        total = pages = 0
        rows = self._db.execute(
            "SELECT d.collection, d.document_type, d.access_level, d.year, count(*), sum(m.n) FROM ("
            f" SELECT id >> {PAGE_BITS} AS doc, count(*) AS n FROM ("
            f"  SELECT rowid AS id FROM {table} WHERE {table} MATCH ?{only} LIMIT ?"
            " ) GROUP BY doc) m JOIN documents d ON d.doc = m.doc GROUP BY 1, 2, 3, 4",
            (match, *args, self.count_limit + 1),
        )
        for *values, n, visited in rows:
            total += n
            pages += visited
            for name, value in zip(FACET_FIELDS, values, strict=True):
                if value is not None:
                    counts[name][str(value)] += n
        facets = {
            name: tuple(
                FacetCount(value=v, count=n)
                for v, n in sorted(c.items(), key=lambda i: (-i[1], i[0]))[:MAX_FACET_VALUES]
            )
            for name, c in counts.items()
        }
        return total, pages <= self.count_limit, facets

    def close(self) -> None:
        with self._failures("closing it"), self._lock:
            self._db.close()
