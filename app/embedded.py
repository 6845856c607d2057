"""The embedded document server: SecantusDB run as a separate process (GPL-2.0, never imported here)."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from documents.store import answers

EXECUTABLE = "secantusd-py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _executable() -> str:
    beside = Path(sys.executable).parent / EXECUTABLE
    found = str(beside) if beside.exists() else shutil.which(EXECUTABLE)
    if not found:
        raise RuntimeError(f"`{EXECUTABLE}` not found: install the embedded extra (pip install -e '.[embedded]')")
    return found


class DocumentServer:
    """A SecantusDB process on loopback; ``storage`` is a folder or ``:memory:``."""

    def __init__(self, storage: str, port: int | None = None, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.storage = storage
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "DocumentServer":
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
        cmd = [
            _executable(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            self.storage,
            "--log-level",
            "WARNING",
        ]
        self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{EXECUTABLE} exited with code {self.process.returncode}")
            if answers(self.url):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{EXECUTABLE} did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
