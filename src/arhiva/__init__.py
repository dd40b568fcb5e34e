"""arhiva: scanner folders become deskewed, OCRed, searchable PDF/A-2b documents."""

__version__ = "0.1.0"
