"""Search indexes behind one interface: the embedded SQLite FTS5 index and Elasticsearch."""
