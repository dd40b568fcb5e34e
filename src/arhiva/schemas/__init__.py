"""Pydantic models at arhiva's boundaries, the manifest schema and the index contract."""
