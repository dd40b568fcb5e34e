"""The hot folder: find batch folders in an inbox that are complete and not yet ingested.

A batch is a folder directly inside the inbox. It is complete when it holds a `READY` marker
file, or when none of its files has changed (size or modification time) for `settle` seconds.
Folders still being copied (names ending in .part, .tmp, .crdownload) never count as settled.
What was ingested is remembered in ARCHIVE/watch/<batch>.json, written once the ingest is over,
so a restarted watcher never ingests a batch twice, and a batch whose ingest was cut short is
simply taken up again (ingest is idempotent).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from arhiva import atomic

READY_MARKERS = ("READY", "READY.txt", "ready")
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(folder: Path) -> Snapshot:
    """Every file under the folder with its size and modification time (symlinks not followed)."""
    entries = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            try:
                st = p.lstat()
            except FileNotFoundError:  # removed while we looked
                continue
            entries.append((p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(entries))


def ledger_dir(archive: Path) -> Path:
    return archive / "watch"


def ledger_path(archive: Path, batch: str) -> Path:
    return ledger_dir(archive) / f"{batch}.json"


def is_done(archive: Path, batch: str) -> bool:
    return ledger_path(archive, batch).is_file()


def mark_done(archive: Path, batch: str, files: int, outcome: dict[str, object]) -> None:
    record = {"batch": batch, "files": files, "ingested_at": dt.datetime.now(dt.UTC).isoformat(), **outcome}
    atomic.write_text(ledger_path(archive, batch), json.dumps(record, ensure_ascii=False, indent=2) + "\n")


@dataclass
class _Seen:
    snap: Snapshot
    since: float


@dataclass
class Inbox:
    """Tells which batch folders of an inbox are ready. `clock` is injectable for tests."""

    inbox: Path
    archive: Path
    settle: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def ready(self) -> list[Path]:
        """Batch folders complete now and never ingested, oldest name first."""
        out: list[Path] = []
        now = self.clock()
        for folder in sorted(p for p in self.inbox.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if is_done(self.archive, folder.name):
                self._seen.pop(folder.name, None)
                continue
            if any((folder / m).is_file() for m in READY_MARKERS):
                out.append(folder)
                continue
            snap = snapshot(folder)
            seen = self._seen.get(folder.name)
            if seen is None or seen.snap != snap:
                self._seen[folder.name] = _Seen(snap, now)
                continue
            partial = any(path.endswith(PARTIAL_SUFFIXES) for path, _, _ in snap)
            if snap and not partial and now - seen.since >= self.settle:
                out.append(folder)
        return out
