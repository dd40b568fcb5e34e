"""Generated scans with known text, skew and rotation, for tests, benchmarks and the demo."""
