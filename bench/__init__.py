"""Benchmarks for arhiva. Run them from the repository root, e.g. `python -m bench.ingest`."""
