"""Pick the index backend from a location: the archive's SQLite file, or an Elasticsearch URL."""

from __future__ import annotations

from pathlib import Path

from arhiva.indexing.base import SearchIndex
from arhiva.indexing.sqlite import SqliteIndex

EMBEDDED = "sqlite"


def check_location(location: str | None) -> None:
    if location and location != EMBEDDED and not location.startswith(("http://", "https://")):
        raise ValueError(
            f"unknown index {location!r}: use 'sqlite' or an Elasticsearch URL like http://127.0.0.1:9200"
        )


def open_index(archive: Path, location: str | None = None) -> SearchIndex:
    """`None` or 'sqlite': ARCHIVE/index.sqlite. 'http(s)://host:port[/alias]': Elasticsearch."""
    check_location(location)
    if not location or location == EMBEDDED:
        return SqliteIndex.in_archive(archive)
    from arhiva.indexing.elastic import DEFAULT_ALIAS, ElasticIndex

    scheme, _, rest = location.rstrip("/").partition("://")
    host, _, alias = rest.partition("/")
    return ElasticIndex(f"{scheme}://{host}", alias or DEFAULT_ALIAS)
