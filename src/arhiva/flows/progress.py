"""Progress of a running ingest, for whoever shows it (the CLI's progress bar)."""

from __future__ import annotations

import threading
from typing import Protocol


class ProgressListener(Protocol):
    def start(self, total_pages: int) -> None: ...

    def advance(self, pages: int = 1) -> None: ...


class _Null:
    def start(self, total_pages: int) -> None:
        pass

    def advance(self, pages: int = 1) -> None:
        pass


_listener: ProgressListener = _Null()
_lock = threading.Lock()


def set_listener(listener: ProgressListener | None) -> None:
    global _listener
    with _lock:
        _listener = listener or _Null()


def listener() -> ProgressListener:
    return _listener
