"""API keys of the portal search API, kept hashed in ARCHIVE/keys.json.

A key reads `arh_<key id>_<secret>`: the key id (12 hex characters) names the key in lists,
logs and `arhiva keys revoke`; the secret is 32 random bytes (URL-safe base64). Only the
SHA-256 of the whole key is stored, so the file gives nobody a usable key. A key of level L
sees the documents of level L and below: public < internal < restricted.

The file is rewritten atomically (temporary file, then rename) under an exclusive lock, so two
`arhiva keys` commands at once never lose a key, and a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arhiva import atomic
from arhiva.errors import ArhivaError
from arhiva.schemas.models import AccessLevel

KEYS_FILE = "keys.json"
_KEY = re.compile(r"^arh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
LEVEL_ORDER = (AccessLevel.public, AccessLevel.internal, AccessLevel.restricted)


def visible_levels(level: AccessLevel) -> tuple[AccessLevel, ...]:
    """The document access levels a key of this level may see."""
    return LEVEL_ORDER[: LEVEL_ORDER.index(level) + 1]


class ApiKeyError(ArhivaError):
    """A key command cannot be done (unknown key id, unreadable key file)."""


class ApiKey(BaseModel):
    """One key as stored: never the key itself, only its SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]
    name: str = Field("", max_length=200)
    level: AccessLevel
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    keys: tuple[ApiKey, ...] = ()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


class KeyStore:
    """ARCHIVE/keys.json. Lookups re-read the file when it changed, so a key created or revoked
    by `arhiva keys` takes effect in a running API at its next request."""

    def __init__(self, archive: Path) -> None:
        self.path = archive / KEYS_FILE
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    # -- reading -------------------------------------------------------------------------

    def _read(self) -> KeyFile:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return KeyFile()
        try:
            return KeyFile.model_validate_json(data)
        except ValueError as exc:
            raise ApiKeyError(f"{self.path} is not a valid key file: {exc}") from exc

    def _current(self) -> dict[str, ApiKey]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._keys = {k.key_id: k for k in self._read().keys}
            self._stamp = stamp
        return self._keys

    def list(self) -> tuple[ApiKey, ...]:
        return self._read().keys

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key this secret belongs to, or None. The comparison takes constant time."""
        m = _KEY.match(key)
        if not m:
            return None
        record = self._current().get(m.group(1))
        if record is None or not record.active:
            return None
        return record if hmac.compare_digest(record.sha256, _hash(key)) else None

    def get(self, key_id: str) -> ApiKey | None:
        return self._current().get(key_id)

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[KeyFile]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(f".{KEYS_FILE}.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._read()
        finally:
            os.close(fd)

    def _write(self, keys: KeyFile) -> None:
        atomic.write_text(self.path, keys.model_dump_json(indent=2) + "\n")
        os.chmod(self.path, 0o600)

    def create(self, level: AccessLevel, name: str = "") -> tuple[ApiKey, str]:
        """A new key of this level. Returns its record and the key, shown this once only."""
        with self._locked() as current:
            taken = {k.key_id for k in current.keys}
            key_id = secrets.token_hex(6)
            while key_id in taken:
                key_id = secrets.token_hex(6)
            key = f"arh_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(
                key_id=key_id, name=name, level=level, sha256=_hash(key), created_at=dt.datetime.now(dt.UTC)
            )
            self._write(KeyFile(keys=(*current.keys, record)))
        return record, key

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id. Revoking a revoked key changes nothing."""
        with self._locked() as current:
            found = [k for k in current.keys if k.key_id == key_id]
            if not found:
                raise ApiKeyError(f"no API key has the id {key_id!r} (see `arhiva keys list`)")
            if not found[0].active:
                return found[0]
            revoked = found[0].model_copy(update={"revoked_at": dt.datetime.now(dt.UTC)})
            self._write(KeyFile(keys=tuple(revoked if k.key_id == key_id else k for k in current.keys)))
        return revoked
