"""Which backend an index location means: the archive's SQLite file, or an Elasticsearch URL.

This module alone knows the rule (and the SQLite file's name): everything else passes the
location through and asks here."""

from __future__ import annotations

from pathlib import Path

from arhiva.errors import IndexLocationError, UsageError
from arhiva.indexing.base import SearchIndex
from arhiva.indexing.sqlite import INDEX_FILE, SqliteIndex

EMBEDDED = "sqlite"
_URL_SCHEMES = ("http://", "https://")


def is_embedded(location: str | None) -> bool:
    """`None` or 'sqlite': the SQLite index in the archive folder."""
    return not location or location == EMBEDDED


def is_elasticsearch(location: str | None) -> bool:
    return location is not None and location.startswith(_URL_SCHEMES)


def check_location(location: str | None) -> None:
    if not is_embedded(location) and not is_elasticsearch(location):
        raise IndexLocationError(
            f"unknown index {location!r}: use 'sqlite' or an Elasticsearch URL like http://127.0.0.1:9200"
        )


def embedded_path(archive: Path) -> Path:
    """Where the archive's SQLite index is (or will be)."""
    return archive / INDEX_FILE


def index_exists(archive: Path, location: str | None) -> bool:
    """False when the location is the embedded index and its file is not there yet (the first
    ingest creates it). An Elasticsearch index is assumed to exist: only connecting tells."""
    return not is_embedded(location) or embedded_path(archive).exists()


def describe(location: str | None) -> str:
    """The location as an operator names it: 'SQLite' when none is given, else as given."""
    return location or "SQLite"


def unavailable_fix(location: str | None) -> str:
    """What to do when the index at this location cannot be opened."""
    return "scripts/elasticsearch start" if is_elasticsearch(location) else "arhiva reindex"


def open_index(archive: Path, location: str | None = None, *, must_exist: bool = False) -> SearchIndex:
    """`None` or 'sqlite': ARCHIVE/index.sqlite. 'http(s)://host:port[/alias]': Elasticsearch.

    `must_exist`: an embedded index that is not there yet is a UsageError instead of being
    created empty (for commands that only read it)."""
    check_location(location)
    if location is None or is_embedded(location):
        if must_exist and not index_exists(archive, location):
            raise UsageError(f"{archive} has no search index ({INDEX_FILE}); run `arhiva ingest` first")
        return SqliteIndex.in_archive(archive)
    from arhiva.indexing.elastic import DEFAULT_ALIAS, ElasticIndex

    scheme, _, rest = location.rstrip("/").partition("://")
    host, _, alias = rest.partition("/")
    return ElasticIndex(f"{scheme}://{host}", alias or DEFAULT_ALIAS)
