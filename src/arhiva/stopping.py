"""How the `arhiva` command stops on Ctrl-C and SIGTERM: through its normal exit, with a message
and an exit code (130, or 143 for SIGTERM), so Prefect's temporary server is stopped with it
instead of orphaned (SIGTERM's default would orphan it)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

_stopped_by: list[int] = []  # the stop signals received


def _stop(signum: int, frame: object) -> None:
    _stopped_by.append(signum)
    raise KeyboardInterrupt  # typer turns it into exit code 130; run() names the signal


def run(command: Callable[[], object], say: Callable[[str], object]) -> None:
    """Run the command with Ctrl-C and SIGTERM taken. Python leaves SIGINT ignored when the
    parent ignored it, as a script's background job does; Ctrl-C must stop a batch all the same."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        command()
    except KeyboardInterrupt:  # raised outside typer's own handling
        sys.exit(130)
    finally:
        if _stopped_by:
            term = _stopped_by[0] == signal.SIGTERM
            how = "stopped by SIGTERM" if term else "interrupted (Ctrl-C)"
            say(f"{how}; finished work is kept: run the same command again to go on")
            if term:
                sys.exit(143)  # replaces typer's 130: 128 + SIGTERM, as a shell reports it
