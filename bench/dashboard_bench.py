#!/usr/bin/env python3
"""Dashboard aggregations at scale: metric documents spread over 100 sessions, loaded in two steps (100,000 then
1,000,000), the rollups kept by the same code as the ingest route; after each step, p50/p95 of the session
histogram, time series and summary routes (sequential requests through one uvicorn worker). The ratio between
the two steps shows whether the cost stays flat as the collection grows.
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, SHARED, TOOLS, served, sh  # noqa: E402
from documents import rollups  # noqa: E402
from documents.store import DocumentStore  # noqa: E402

SESSIONS = 100
ROUTES = {
    "histogram": "/stats/metrics/histogram?kind=em.ctf&field=estimatedResolution&bins=50&sessionId={s}",
    "timeseries": "/stats/metrics/timeseries?kind=em.ctf&field=estimatedResolution&interval=hour&sessionId={s}",
    "summary": "/stats/metrics/summary?kind=em.ctf&sessionId={s}",
}


def database() -> str:
    db = f"bench_dash_{uuid.uuid4().hex[:6]}"
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
    scale = ["--sessions", str(SESSIONS), "--dcs", "2000", "--samples", "100"]
    sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", "1", "--login", "abcd", *scale)
    return db


def sessions(db: str) -> list[int]:
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "-N", db, "-e", "SELECT sessionId FROM BLSession WHERE proposalId=1"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [int(x) for x in out.split()][-SESSIONS:]


async def load(url: str, name: str, session_ids: list[int], per_session: int, rng: random.Random) -> float:
    """``per_session`` more metrics for every session, spread over the same 48 h of each and sent session by
    session in time order (as a pipeline sends them), stored with their rollups by the ingest route's code."""
    store = DocumentStore(url, name)
    await store.ensure_indexes()
    t0 = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for session in session_ids:
        moments = sorted(rng.uniform(0, 172_800) for _ in range(per_session))
        docs = [
            {"kind": "em.ctf", "dataCollectionId": 0, "proposalId": 1, "sessionId": session,
             "values": {"imageNumber": n, "estimatedResolution": rng.uniform(2.5, 8.0),
                        "defocusU": rng.uniform(5e3, 3e4), "astigmatism": rng.uniform(0, 500),
                        "crossCorrelation": rng.uniform(0, 0.4)},
             "createdAt": base + timedelta(seconds=at)}
            for n, at in enumerate(moments)
        ]  # fmt: skip
        for first in range(0, len(docs), 5000):
            batch = docs[first : first + 5000]
            await store.db.metrics.insert_many(batch, ordered=False)
            await rollups.add(store.db, batch)
    await store.close()
    return time.perf_counter() - t0


def measure(base: str, token: str, session: int, runs: int, label: str) -> dict[str, float]:
    p95 = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for name, route in ROUTES.items():
            path = route.format(s=session)
            client.get(path).raise_for_status()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p50, p95[name] = statistics.median(times), times[int(0.95 * len(times)) - 1]
            print(f"{label}\t{name}\tp50 {p50:.1f} ms\tp95 {p95[name]:.1f} ms", flush=True)
    return p95


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--small", type=int, default=100_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--port", type=int, default=8768)
    a = p.parse_args()
    db = database()
    rng = random.Random(3)
    try:
        ids = sessions(db)
        with served(db, a.port) as server:
            seconds = asyncio.run(load(server.mongo_url, server.mongo_db, ids, a.small // SESSIONS, rng))
            print(f"# loaded {a.small} metrics with rollups in {seconds:.0f} s ({a.small / seconds:.0f}/s)", flush=True)
            small = measure(server.base, server.token, ids[0], a.runs, f"{a.small // 1000}k")
            seconds = asyncio.run(load(server.mongo_url, server.mongo_db, ids, (a.large - a.small) // SESSIONS, rng))
            print(
                f"# loaded {a.large - a.small} more in {seconds:.0f} s ({(a.large - a.small) / seconds:.0f}/s)",
                flush=True,
            )
            large = measure(server.base, server.token, ids[0], a.runs, f"{a.large // 1000}k")
            for name in ROUTES:
                print(f"# {name}: p95 at {a.large // 1000}k / at {a.small // 1000}k = {large[name] / small[name]:.2f}")
    finally:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
