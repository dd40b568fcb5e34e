"""The embedded index: SQLite FTS5 in the archive folder, one row per page.

The `unicode61` tokenizer with `remove_diacritics 2` folds ă â î ș ț and the old cedilla
letters ş ţ to their base letters, and case, both when indexing and when searching; so
`autorizatie`, `AUTORIZAȚIE` and `autorizaţie` all find `autorizație`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from arhiva.indexing.query import parse_query, to_fts5
from arhiva.schemas.models import IndexRecord, SearchHit

SCHEMA_VERSION = 1
INDEX_FILE = "index.sqlite"
MARK_START, MARK_END = "[", "]"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
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
CREATE VIRTUAL TABLE IF NOT EXISTS pages_fts USING fts5(
    text, content='pages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS pages_ai AFTER INSERT ON pages BEGIN
    INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS pages_ad AFTER DELETE ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


class IndexVersionError(RuntimeError):
    pass


class SqliteIndex:
    """SearchIndex on SQLite FTS5. Safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise IndexVersionError(
                    f"{path} has index schema {row[0]}, this arhiva needs {SCHEMA_VERSION}; "
                    "run `arhiva reindex` to rebuild it from the archive"
                )

    @classmethod
    def in_archive(cls, archive: Path) -> SqliteIndex:
        return cls(archive / INDEX_FILE)

    def upsert_document(self, document_id: str, records: Iterable[IndexRecord]) -> int:
        rows = [
            (
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
            for r in records
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM pages WHERE document_id = ?", (document_id,))
                self._db.executemany(
                    "INSERT INTO pages (document_id, page, title, collection, document_type, issue_date,"
                    " registration_number, access_level, pdf_path, text) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def has_document(self, document_id: str) -> bool:
        with self._lock:
            return (
                self._db.execute(
                    "SELECT 1 FROM pages WHERE document_id = ? LIMIT 1", (document_id,)
                ).fetchone()
                is not None
            )

    def count_pages(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM pages").fetchone()[0])

    def count_documents(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(DISTINCT document_id) FROM pages").fetchone()[0])

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        terms = parse_query(query)
        if not terms:
            return []
        sql = (
            "SELECT p.document_id, p.page, p.title, "
            f"snippet(pages_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16), bm25(pages_fts) "
            "FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid "
            "WHERE pages_fts MATCH ? ORDER BY bm25(pages_fts) LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, (to_fts5(terms), max(limit * 50, 500))).fetchall()
        grouped: dict[str, dict] = {}
        for doc_id, page, title, snippet, rank in rows:
            g = grouped.setdefault(doc_id, {"title": title, "pages": [], "snippet": snippet, "score": -rank})
            g["pages"].append(page)
        hits = [
            SearchHit(
                document_id=doc_id,
                title=g["title"],
                pages=tuple(sorted(g["pages"])),
                snippet=" ".join(g["snippet"].split()),
                score=round(g["score"], 4),
            )
            for doc_id, g in grouped.items()
        ]
        return hits[:limit]

    def close(self) -> None:
        with self._lock:
            self._db.close()
