"""Page preparation (rotation, deskew) and OCR with Tesseract: one run per page."""
