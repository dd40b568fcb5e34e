"""Who still needs a page's work folder (its prepared image, Tesseract's output, its one-page PDF).

Two documents can hold the same page (the same annex filed in two dossiers), in one batch or in
two batches ingested at once into the same archive. A page's work folder is removed only when
the last document that needs it is archived: within a run, a count of the documents still to
come for each page; across runs, a lease file per run in the folder (`.held-by/<host>.<pid>.<n>`),
taken before the page is submitted and given back when the run is done with it. Leases of a
process of this host that is gone do not count; the check and the removal happen under one lock
(the `pages` folder, flock), so no run removes a folder another has just leased.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from arhiva import atomic
from arhiva.config import Settings
from arhiva.ocr.page import page_dir
from arhiva.schemas.models import DocumentPlan, PageRef

LEASES = ".held-by"


class PageWork:
    """The page work folders of one run's documents."""

    def __init__(self, work: Path, settings: Settings, documents: Iterable[DocumentPlan]) -> None:
        self.work = work
        self.settings = settings
        self.holder = f"{atomic.owner_tag()}.{secrets.token_hex(4)}"
        self._left = Counter(ref.content_key for doc in documents for ref in doc.pages)
        self._held: set[str] = set()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        pages = self.work / "pages"
        pages.mkdir(parents=True, exist_ok=True)
        fd = os.open(pages, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def hold(self, doc: DocumentPlan) -> None:
        """Lease the document's pages for this run, before they are submitted."""
        todo = [ref for ref in doc.pages if ref.content_key not in self._held]
        if not todo:
            return
        with self._locked():
            for ref in todo:
                lease = page_dir(self.work, ref, self.settings) / LEASES / self.holder
                lease.parent.mkdir(parents=True, exist_ok=True)
                lease.touch()
                self._held.add(ref.content_key)

    def release(self, doc: DocumentPlan, *, archived: bool) -> None:
        """The run is done with the document: archived (its pages' folders go once nothing
        needs them any more), or set aside (they stay, for a re-run after the fix)."""
        done: list[PageRef] = []
        for ref in doc.pages:
            self._left[ref.content_key] -= 1
            if self._left[ref.content_key] <= 0:
                done.append(ref)
        if not done:
            return
        with self._locked():
            for ref in done:
                folder = page_dir(self.work, ref, self.settings)
                (folder / LEASES / self.holder).unlink(missing_ok=True)
                self._held.discard(ref.content_key)
                if archived and folder.is_dir() and not _leased(folder):
                    shutil.rmtree(folder, ignore_errors=True)


def _leased(folder: Path) -> bool:
    """Whether another run that still works holds the page."""
    leases = folder / LEASES
    if not leases.is_dir():
        return False
    for lease in leases.iterdir():
        host, _, rest = lease.name.partition(".")
        if atomic.owner_gone(f"{host}.{rest.split('.')[0]}"):
            lease.unlink(missing_ok=True)
            continue
        return True
    return False
