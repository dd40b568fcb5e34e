"""Atomic writes: a file is either absent or complete, never half-written."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A file object whose content replaces `path` in one rename when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes) -> None:
    with _replacing(path) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def copy_file(src: Path, dst: Path) -> None:
    """Copy src to dst through a temporary file in dst's folder. src is only read."""
    with _replacing(dst) as out, src.open("rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 20)


def publish_dir(staging: Path, final: Path) -> bool:
    """Move a fully written staging folder to its final place in one rename.

    Returns False (and removes the staging folder) when `final` already exists: another run
    published the same content first.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    for f in staging.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
    try:
        os.rename(staging, final)
    except OSError:
        if final.exists():
            shutil.rmtree(staging, ignore_errors=True)
            return False
        raise
    _fsync_dir(final.parent)
    return True


def owner_tag() -> str:
    """host.pid of this process, as written into the names of what it leaves while it works
    (staging folders, page leases), so another process can tell when their owner is gone."""
    return f"{socket.gethostname().replace('.', '-')}.{os.getpid()}"


def owner_gone(tag: str) -> bool:
    """True when `tag` (host.pid) names a process of this host that no longer runs. A process
    of another host is never taken for gone: its entries age out instead."""
    host, _, pid = tag.partition(".")
    if host != socket.gethostname().replace(".", "-"):
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange_dirs(a: Path, b: Path) -> None:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE): a reader sees one or the
    other, never neither. Where the filesystem cannot (NFS, another OS), two renames, with a
    moment in which `a`'s path is missing."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd = -100
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            _fsync_dir(a.parent)
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(a))
    parked = b.with_name(b.name + ".swap")
    os.rename(a, parked)
    os.rename(b, a)
    os.rename(parked, b)
    _fsync_dir(a.parent)
