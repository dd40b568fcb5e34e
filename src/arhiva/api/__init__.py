"""The portal search API and the operator search page (FastAPI). See docs/api.md."""
