"""How well a batch of sample pages came through: character error rates against the ground truth.

Needs rapidfuzz (the `dev` extra), like the tests and benchmarks that use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from arhiva.archive.package import iter_document_ids, load_document, load_pages, package_dir
from arhiva.samples.batch import SamplePage, read_samples_index


def cer(ocr: str, truth: str) -> float:
    """Character error rate: edit distance over the ground truth's length, whitespace collapsed.

    Diacritics count: 'ș' for 'ş' or 'a' for 'ă' is an error.
    """
    from rapidfuzz.distance import Levenshtein

    a, b = " ".join(ocr.split()), " ".join(truth.split())
    return Levenshtein.distance(a, b) / max(1, len(b))


@dataclass(frozen=True)
class ArchivedSample:
    sample: SamplePage
    truth: str
    text: str  # what arhiva recognised and stored
    pdf: Path  # the document's PDF/A
    page: int  # the page's number in that PDF


def archived_samples(archive: Path, batch: Path) -> Iterator[ArchivedSample]:
    """Every page of a sample batch that the archive holds, with its ground truth and OCR text."""
    samples = {(p.file, p.index): p for p in read_samples_index(batch)}
    for doc_id in iter_document_ids(archive):
        doc = load_document(archive, doc_id)
        refs = [(s.path, i) for s in doc.sources for i in range(s.pages)]
        pdf = package_dir(archive, doc_id) / "document.pdf"
        for record, ref in zip(load_pages(archive, doc_id), refs, strict=True):
            if (sample := samples.get(ref)) is not None:
                truth = (batch / sample.ground_truth).read_text(encoding="utf-8")
                yield ArchivedSample(sample, truth, record.text, pdf, record.number)
