"""Intake: discover scanner output, validate files, group pages, quarantine bad input."""
