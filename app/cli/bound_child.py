"""``python -m app.cli.bound_child PARENT_PID COMMAND...``: run COMMAND so that it ends when PARENT_PID does.

Linux only (``PR_SET_PDEATHSIG``, kept across ``exec``): the kernel sends COMMAND a SIGKILL when the *thread* of
the parent that started it exits, so start it from a thread that lives as long as the parent (the main thread).
A parent that stops cleanly stops COMMAND first (SIGTERM: ``DocumentServer.stop``); this is for a parent that died
outright, and SIGKILL cannot be lost: SecantusDB left a SIGTERM unhandled now and then (its handler runs on its
main thread, blocked in a wait) and kept its storage locked. Its storage recovers from its journal at the next start,
as after a crash. Elsewhere COMMAND is only exec'd. No heavy imports: this runs before every embedded document
server."""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(parent: int, command: list[str]) -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the signal was armed
            sys.exit(1)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
