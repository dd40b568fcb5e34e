"""The audit trail: every event in a document's life, appended to its package (PREMIS-style).

`events.jsonl` sits in the package folder, one JSON object per line: when, what (ingested,
ocred, converted, indexed, reindexed, verified), which tool and version, the outcome, and the
checksum of what the event produced or checked. It is append-only, so it is not covered by
`checksums.sha256` (which would change with every event); each event carries its own checksum.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

EVENTS_NAME = "events.jsonl"


class EventType(StrEnum):
    ingested = "ingested"
    ocred = "ocred"
    converted = "converted"
    indexed = "indexed"
    reindexed = "reindexed"
    verified = "verified"
    access_changed = "access_changed"
    replaced = "replaced"  # a newer version (a re-scan) replaces this one


class Outcome(StrEnum):
    success = "success"
    failure = "failure"


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: dt.datetime
    event: EventType
    agent: str  # tool and version
    outcome: Outcome = Outcome.success
    detail: str = ""
    checksum: str | None = None  # SHA-256 of what the event produced or checked


def event(
    kind: EventType, agent: str, detail: str = "", checksum: str | None = None, ok: bool = True
) -> Event:
    return Event(
        at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        event=kind,
        agent=agent,
        outcome=Outcome.success if ok else Outcome.failure,
        detail=detail,
        checksum=checksum,
    )


def append_events(package: Path, *events: Event) -> None:
    """Append under an exclusive lock, so concurrent writers never interleave lines."""
    lines = "".join(e.model_dump_json() + "\n" for e in events).encode("utf-8")
    fd = os.open(package / EVENTS_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, lines)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_events(package: Path) -> list[Event]:
    path = package / EVENTS_NAME
    if not path.is_file():
        return []
    return [
        Event.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
