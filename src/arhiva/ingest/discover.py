"""Walk a scanner output folder and plan its documents, without decoding any page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from arhiva.checksum import document_id, sha256_file
from arhiva.errors import InputFileError, ManifestError, QuarantineReason
from arhiva.ingest.filetypes import Limits, probe
from arhiva.ingest.manifest import MAX_MANIFEST_BYTES, ManifestEntry, read_manifest
from arhiva.ingest.names import name_problem, printable, title_from_name
from arhiva.ingest.quarantine import quarantine_record
from arhiva.ingest.stacks import duplex_order
from arhiva.schemas.manifest import MANIFEST_NAMES
from arhiva.schemas.models import (
    AccessLevel,
    BatchPlan,
    DocumentMetadata,
    DocumentPlan,
    FileKind,
    PageRef,
    QuarantineRecord,
    SourceFile,
)

LITTER_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "ready", "ready.txt"})
LITTER_DIRS = frozenset({"__macosx", "@eadir", ".stfolder", "$recycle.bin", "system volume information"})
GROUND_TRUTH_SUFFIX = ".gt.txt"  # ground-truth text beside generated pages (tesstrain naming)

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts page2 before page10."""
    return tuple(
        (0, int(part)) if part.isdecimal() else (1, part.casefold()) for part in _DIGITS.split(name) if part
    )


def is_litter(name: str) -> bool:
    low = name.lower()
    return name.startswith((".", "~$")) or low in LITTER_FILES or low.endswith(GROUND_TRUTH_SUFFIX)


def _names_per_file(root: Path) -> dict[tuple[int, int], int]:
    """How many names each file with several hard links has inside the batch folder."""
    counts: dict[tuple[int, int], int] = {}
    for dirpath, _dirs, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass
class _Folder:
    rel: str  # '' for the batch root
    files: list[SourceFile] = field(default_factory=list)
    manifest: Path | None = None


@dataclass
class Planner:
    """Builds a BatchPlan from a folder. Pure reading: SOURCE is never written to."""

    source: Path
    batch: str
    collection: str | None = None
    access_level: AccessLevel | None = None
    default_access: AccessLevel = AccessLevel.restricted
    limits: Limits = field(default_factory=Limits)
    duplex: bool = False  # stacks scanned as all fronts, then all backs in reverse order
    max_manifest_bytes: int = MAX_MANIFEST_BYTES
    _notes: dict[str, str] = field(default_factory=dict)
    _names_inside: dict[tuple[int, int], int] = field(default_factory=dict)
    _quarantined: list[QuarantineRecord] = field(default_factory=list)
    _ignored: list[str] = field(default_factory=list)
    _held_back: list[str] = field(default_factory=list)

    def plan(self) -> BatchPlan:
        root = self.source.resolve(strict=True)
        self._names_inside = _names_per_file(root)
        documents: list[DocumentPlan] = []
        seen_ids: dict[str, str] = {}
        for folder in self._walk(root):
            for doc in self._documents_of(root, folder):
                if doc.document_id in seen_ids:
                    self._ignored.append(f"{doc.name} (same pages as {seen_ids[doc.document_id]})")
                    continue
                seen_ids[doc.document_id] = doc.name
                documents.append(doc)
        return BatchPlan(
            batch=self.batch,
            source=str(root),
            documents=tuple(documents),
            quarantined=tuple(self._quarantined),
            ignored=tuple(self._ignored),
            held_back=tuple(self._held_back),
        )

    # -- walking -----------------------------------------------------------------------------

    def _walk(self, root: Path) -> Iterator[_Folder]:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            rel_dir = here.relative_to(root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir
            keep = []
            for d in sorted(dirnames, key=natural_key):
                rel = f"{rel_dir}/{d}" if rel_dir else d
                if d.startswith(".") or d.lower() in LITTER_DIRS:
                    self._ignored.append(printable(rel) + "/")
                elif (here / d).is_symlink():
                    self._symlink(root, here / d, rel, is_dir=True)
                else:
                    keep.append(d)
            dirnames[:] = keep
            folder = _Folder(rel_dir)
            for name in sorted(filenames, key=natural_key):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                path = here / name
                if is_litter(name):
                    self._ignored.append(printable(rel))
                    continue
                if problem := name_problem(rel):
                    self._quarantine(
                        rel,
                        QuarantineReason.bad_name,
                        f"{problem} (its bytes are kept in source_bytes); rename it and ingest it again",
                        path=path,
                    )
                    continue
                if name.lower() in MANIFEST_NAMES:
                    if folder.manifest is not None:
                        self._quarantine(
                            rel,
                            QuarantineReason.bad_manifest,
                            "both manifest.csv and manifest.json exist; keep one",
                        )
                        continue
                    folder.manifest = path
                    continue
                if path.is_symlink():
                    if not self._symlink(root, path, rel, is_dir=False):
                        continue
                elif self._linked_outside(path, rel):
                    continue
                src = self._probe(path, rel)
                if src is not None:
                    folder.files.append(src)
            yield folder

    def _symlink(self, root: Path, path: Path, rel: str, *, is_dir: bool) -> bool:
        """True when a file symlink points inside the batch folder and may be read."""
        target = path.resolve()
        if not target.is_relative_to(root):
            self._quarantine(
                rel,
                QuarantineReason.symlink_outside_source,
                f"symbolic link to {printable(str(target))}, outside the batch folder; it was not followed",
            )
            return False
        if is_dir:
            self._ignored.append(f"{printable(rel)}/ (symbolic link to a folder inside the batch)")
            return False
        return True

    def _linked_outside(self, path: Path, rel: str) -> bool:
        """True (and the file set aside, unread) when a hard link gives the file a name outside
        the batch folder too: it is not the scanner's to hand in, as a symbolic link out is not."""
        try:
            st = path.stat()
        except OSError:
            return False  # _probe names it
        inside = self._names_inside.get((st.st_dev, st.st_ino), 1)
        if st.st_nlink <= inside:
            return False
        outside = st.st_nlink - inside
        self._quarantine(
            rel,
            QuarantineReason.link_outside_source,
            f"hard link to a file with {outside} more name{'s' if outside > 1 else ''} outside the batch folder; "
            "it was not read (copy the file into the batch instead)",
        )
        return True

    def _probe(self, path: Path, rel: str) -> SourceFile | None:
        try:
            size = path.stat().st_size
            info = probe(path, size, self.limits)
            sha = sha256_file(path)
        except InputFileError as exc:
            self._quarantine(rel, exc.reason, exc.message, path=path)
            return None
        except OSError as exc:
            self._quarantine(rel, QuarantineReason.unsupported_type, f"cannot be read: {exc.strerror}")
            return None
        if info.note:
            self._notes[rel] = info.note
        return SourceFile(path=rel, sha256=sha, size=size, kind=info.kind, pages=info.pages)

    def _quarantine(self, rel: str, reason: QuarantineReason, message: str, path: Path | None = None) -> None:
        sha = size = None
        if path is not None and path.is_file():
            try:
                size = path.stat().st_size
                sha = sha256_file(path)
            except OSError:
                pass
        self._quarantined.append(
            quarantine_record(rel, reason, message, stage="discover", batch=self.batch, sha256=sha, size=size)
        )

    # -- grouping ----------------------------------------------------------------------------

    def _documents_of(self, root: Path, folder: _Folder) -> Iterator[DocumentPlan]:
        by_name = {f.path: f for f in folder.files}
        used: set[str] = set()
        if folder.manifest is not None:
            rel_manifest = (f"{folder.rel}/" if folder.rel else "") + folder.manifest.name
            try:
                entries = read_manifest(folder.manifest, self.max_manifest_bytes)
                docs = [d for entry in entries if (d := self._from_manifest(root, folder, entry, by_name))]
            except ManifestError as exc:
                self._quarantine(rel_manifest, QuarantineReason.bad_manifest, str(exc), path=folder.manifest)
                for f in folder.files:  # nothing of a folder with a bad manifest is ingested
                    self._held_back.append(f"{f.path}: {rel_manifest} is invalid")
                return
            for doc in docs:
                used.update(s.path for s in doc.sources)
                yield doc
        singles: list[SourceFile] = []
        for f in folder.files:
            if f.path in used:
                continue
            if f.kind is FileKind.image:
                singles.append(f)
            elif stack := self._stack(f.path, [f]):  # a multi-page file or a PDF is a document of its own
                yield stack
        if singles and (stack := self._stack(folder.rel or ".", singles)):
            yield stack

    def _from_manifest(
        self, root: Path, folder: _Folder, entry: ManifestEntry, by_name: dict[str, SourceFile]
    ) -> DocumentPlan | None:
        """The manifest's document, or None when one of its files was quarantined."""
        assert folder.manifest is not None
        sources = []
        for f in entry.document.files:
            rel = (f"{folder.rel}/{f}" if folder.rel else f).replace("\\", "/")
            src = by_name.get(rel)
            if src is not None:
                sources.append(src)
            elif (root / rel).is_file():  # listed, present, but quarantined or ignored
                names = ", ".join(entry.document.files)
                self._held_back.append(f"{names}: {rel} ({entry.where} of the manifest) could not be read")
                return None
            else:
                raise ManifestError(
                    folder.manifest.name,
                    [f"{entry.where}, field 'file': {f!r} does not exist in this folder"],
                )
        meta = DocumentMetadata.model_validate(entry.document.model_dump(exclude={"files"}))
        name = (
            sources[0].path
            if len(sources) == 1
            else (folder.rel or ".") + f" [{meta.title or sources[0].path}]"
        )
        return self._document(name, sources, meta)

    def _stack(self, name: str, sources: list[SourceFile]) -> DocumentPlan | None:
        """A multi-page file or a folder of pages, in page order (collated, with `duplex`); None
        when a duplex stack cannot be fronts and backs (its files set aside)."""
        doc = self._document(name, sources, DocumentMetadata())
        if not self.duplex:
            return doc
        try:
            pages = tuple(duplex_order(doc.pages))
        except ValueError as exc:
            for s in sources:
                self._quarantine(
                    s.path,
                    QuarantineReason.not_duplex,
                    f"{name}: {exc}; scan it again, or ingest it without --duplex",
                )
            return None
        return doc.model_copy(
            update={"pages": pages, "document_id": document_id(p.content_key for p in pages)}
        )

    def _document(self, name: str, sources: list[SourceFile], meta: DocumentMetadata) -> DocumentPlan:
        pages = tuple(
            PageRef(source=s.path, source_sha256=s.sha256, index=i, kind=s.kind)
            for s in sources
            for i in range(s.pages)
        )
        if meta.title is None:
            stem = name if name != "." else self.batch
            title = title_from_name(Path(stem).stem if "/" not in stem else stem)
            title = title or title_from_name(self.batch) or "untitled"
            meta = DocumentMetadata.model_validate({**meta.model_dump(), "title": title})
        access = meta.access_level or self.access_level or self.default_access
        return DocumentPlan(
            document_id=document_id(p.content_key for p in pages),
            name=name,
            collection=self.collection,
            metadata=meta,
            access_level=access,
            sources=tuple(sources),
            pages=pages,
            notes=tuple(f"{s.path}: {self._notes[s.path]}" for s in sources if s.path in self._notes),
        )
