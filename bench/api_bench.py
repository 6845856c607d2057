#!/usr/bin/env python3
"""Throughput and latency of the main read routes on the reference volume, beside the raw-driver ceiling.

Builds a throw-away official-flavour database, scales it with ../shared/bench/scale_ispyb.py (20 sessions,
20,000 data collections with auto-processing, 2,000 samples), serves it with one uvicorn worker and drives
../shared/bench/load.py at concurrency 1 and 32. Prints figures; asserts nothing.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOOLS = SHARED / "bench"
PY = sys.executable
BIN = Path(PY).parent


def sh(*cmd: str, **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def load_dumps(db: str) -> None:
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()

    db = f"bench_ispyb_{uuid.uuid4().hex[:6]}"
    url = f"mysql+aiomysql://root@127.0.0.1/{db}"
    procs: list[subprocess.Popen[bytes]] = []
    cleanup: list[Callable[[], None]] = []
    try:
        t0 = time.monotonic()
        load_dumps(db)
        sh(
            PY,
            str(TOOLS / "scale_ispyb.py"),
            "--db",
            db,
            "--proposal-id",
            "1",
            "--login",
            "abcd",
            "--sessions",
            "20",
            "--dcs",
            "20000",
            "--samples",
            "2000",
        )
        print(f"# volume ready in {time.monotonic() - t0:.0f} s: database {db}", flush=True)

        from app.embedded import DocumentServer  # the bench, like the tests, runs SecantusDB as a process

        docs = DocumentServer(":memory:").start()
        cleanup.append(docs.stop)
        env = {
            **os.environ,
            "ISPYB_MODE": "dev",
            "ISPYB_SQL_URL": url,
            "ISPYB_MONGO_URL": docs.url,
            "ISPYB_AUTH_PLUGINS": "dummy",
            "ISPYB_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
            "PYTHONPATH": str(TOOLS / "nodelay"),
        }
        token = subprocess.run(
            [str(BIN / "ispyb-hybrid"), "token", "abcd"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        server = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "app.main:app",
                "--port",
                str(a.port),
                "--workers",
                str(a.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
        )
        procs.append(server)
        base = f"http://127.0.0.1:{a.port}/ispyb/api/v1"
        for _ in range(100):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                time.sleep(0.3)
        routes = {
            "datacollection": "/datacollections/10001",
            "auto-integrations": "/processings/auto-integrations?dataCollectionId=10001",
            "sessions-of-proposal": "/sessions?proposal=blc00001",
            "events-of-session": "/events?sessionId=11",
        }
        for label, route in routes.items():
            sh(
                PY,
                str(TOOLS / "load.py"),
                base + route,
                "-H",
                f"Authorization: Bearer {token}",
                "-c",
                "1,32",
                "-d",
                str(a.duration),
                "-w",
                str(a.warmup),
                "--label",
                label,
            )
        print("# raw PyMySQL ceiling: the same primary-key SELECT", flush=True)
        sh(
            PY,
            str(TOOLS / "db_ceiling.py"),
            "--db",
            db,
            "--duration",
            str(a.duration),
            "--label",
            "raw-pk",
            "pk",
            "--table",
            "DataCollection",
            "--pk",
            "dataCollectionId",
            "--id",
            "10001",
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        for stop in cleanup:
            stop()
        if not a.keep:
            subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
