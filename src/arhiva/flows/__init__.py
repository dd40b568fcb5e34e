"""Prefect flows and tasks: thin wiring of the domain functions. The only place Prefect lives."""
