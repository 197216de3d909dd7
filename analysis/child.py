"""Start a trial so that it cannot outlive the sweep that started it.

    python -m analysis.child <sweep pid> <command...>

On Linux the kernel sends the trial SIGTERM when the sweep's thread that started it dies, however it dies
(kill -9 included): prctl(PR_SET_PDEATHSIG) is set here and kept across the exec into the trial's command. The
driver records a SIGTERM as a failure, so the restarted sweep runs the trial again, and never beside a
still-running copy. This small exec wrapper exists because the alternative, a preexec_fn in subprocess, is not
safe in a process with threads (the sweep runs one thread per device slot).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel for `sig` when the parent dies; False where that is not available (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m analysis.child <parent pid> <command...>")
    parent, command = int(argv[0]), argv[1:]
    die_with_parent()
    if os.getppid() != parent:  # the sweep died before the request took effect
        raise SystemExit(f"the sweep (pid {parent}) is gone; not starting {command[0]}")
    try:
        os.execvp(command[0], command)
    except OSError as exc:  # the launcher itself is missing or not executable
        print(f"could not start {command[0]!r}: {exc}", file=sys.stderr)
        raise SystemExit(127) from None


if __name__ == "__main__":
    main(sys.argv[1:])
