"""PDF/A assembly, XMP metadata, checksums and the on-disk archive package."""
