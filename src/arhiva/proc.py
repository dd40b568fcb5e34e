"""External programs, run one way: the command logged, a time limit, and a missing program or a
run out of time turned into arhiva's errors (MissingDependencyError, ToolError) that say what
to do, instead of tracebacks."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
from collections.abc import Sequence

from arhiva.errors import ArhivaError, MissingDependencyError, ToolError

log = logging.getLogger("arhiva.proc")


def _missing(what: str, program: str, install: str, exc: OSError) -> MissingDependencyError:
    fix = f"; {install}" if install else ""
    return MissingDependencyError(f"{what} cannot run: {program} is not installed ({exc.strerror}){fix}")


def run(
    cmd: Sequence[str], *, what: str, timeout: float, install: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` to its end and return what it printed, whatever its exit code (the caller
    reads the verdict). `what` names the program in messages; `install` says how to get it."""
    log.debug("%s: %s", what, shlex.join(cmd))
    try:
        done = subprocess.run(
            list(cmd), capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout
        )
    except FileNotFoundError as exc:
        raise _missing(what, cmd[0], install, exc) from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{what} did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise ToolError(f"{what} cannot run ({shlex.join(cmd)}): {exc}") from exc
    if done.stderr.strip():
        log.debug("%s said: %s", what, done.stderr.strip()[-2000:])
    return done


def start(cmd: Sequence[str], *, what: str, install: str = "") -> subprocess.Popen[str]:
    """Start a program that keeps running, with text pipes (UTF-8) to its stdin and stdout."""
    log.debug("%s: starting %s", what, shlex.join(cmd))
    try:
        return subprocess.Popen(
            list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
    except OSError as exc:
        raise _missing(what, shlex.join(cmd), install, exc) from exc


def version(cmd: Sequence[str], pattern: str, timeout: float = 30) -> str | None:
    """The version a program prints (the first group of `pattern` in its output), or None when
    it is missing or says nothing that matches."""
    try:
        done = run(cmd, what=cmd[0], timeout=timeout)
    except ArhivaError:
        return None
    m = re.search(pattern, done.stdout + done.stderr)
    return m.group(1) if m else None
