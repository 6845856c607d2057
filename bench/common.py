"""What every benchmark here needs: a throw-away official-flavour database at the reference volume (the shared
tools in ../shared/bench build it), one uvicorn worker serving it, and the shared load tool."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOOLS = SHARED / "bench"
PY = sys.executable
BIN = Path(PY).parent


def sh(*cmd: str, **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


@contextmanager
def reference_database(keep: bool = False, built: str | None = None) -> Iterator[str]:
    """A new database from the official dumps, scaled to the reference volume (20 sessions, 20,000 data
    collections with auto-processing, 2,000 samples under proposal 1 `blc00001`); dropped afterwards. ``built``:
    the name of one an earlier run kept, used as it is and left in place."""
    if built:
        yield built
        return
    db = f"bench_ispyb_{uuid.uuid4().hex[:6]}"
    t0 = time.monotonic()
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    try:
        for part in ("1_tables", "2_lookups", "3_data"):
            with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
                sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
        scale = ["--sessions", "20", "--dcs", "20000", "--samples", "2000"]
        sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", "1", "--login", "abcd", *scale)
        print(f"# volume ready in {time.monotonic() - t0:.0f} s: database {db}", flush=True)
        yield db
    finally:
        if not keep:
            subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


@dataclass
class Server:
    base: str
    token: str
    pid: int
    mongo_url: str
    mongo_db: str
    docs_pid: int | None = None  #: the document server's process (its children run under it)

    def peak_rss_mb(self) -> float:
        """The worker's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextmanager
def served(db: str, port: int, workers: int = 1, login: str = "abcd") -> Iterator[Server]:
    """The service on ``db`` (one SecantusDB process beside it), and a token for ``login``."""
    from app.cli.embedded import DocumentServer  # the bench, like the tests, runs SecantusDB as a process

    docs = DocumentServer(":memory:").start()
    env = {
        **os.environ,
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": f"mysql+aiomysql://root@127.0.0.1/{db}",
        "ISPYB_MONGO_URL": docs.url,
        "ISPYB_MONGO_DB": db,
        "ISPYB_AUTH_PLUGINS": "dummy",
        "ISPYB_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
        "PYTHONPATH": str(TOOLS / "nodelay"),
    }
    token = subprocess.run(
        [str(BIN / "ispyb-hybrid"), "token", login], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    cmd = [str(BIN / "ispyb-hybrid"), "serve", "--port", str(port), "--workers", str(workers), "--socket-per-worker"]
    server = subprocess.Popen([*cmd, "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}/ispyb/api/v1"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield Server(base, token, server.pid, docs.url, db, docs.pid)
    finally:
        server.terminate()
        server.wait(10)
        docs.stop()


def load(server: Server, route: str, label: str, concurrency: str, duration: float, warmup: float) -> None:
    """The shared closed-loop load tool on one route; it prints its own table."""
    auth = f"Authorization: Bearer {server.token}"
    timing = ["-d", str(duration), "-w", str(warmup)]
    sh(PY, str(TOOLS / "load.py"), server.base + route, "-H", auth, "-c", concurrency, *timing, "--label", label)
