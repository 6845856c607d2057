#!/usr/bin/env python3
"""The beamline logbook at 10^5 entries: ingest through ``POST /logbook`` (entries/s and p50/p95 per request, one
writer and 8 at once), then the collection filled to ``--entries`` with entries of the same shape spread over 200
sessions and the last 30 days, and p50/p95 of a session's first page, its third page (cursor), a text search
within the session, and the same over the caller's whole logbook (sequential requests through one uvicorn worker
and SecantusDB, on one machine).
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
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, SHARED, TOOLS, served, sh  # noqa: E402
from documents.store import DocumentStore  # noqa: E402

SESSIONS = 200
WORDS = "beam lost shutter cryo robot sample loaded detector gap undulator vacuum alarm fine".split()


def database() -> str:
    db = f"bench_logbook_{uuid.uuid4().hex[:6]}"
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
    scale = ["--sessions", str(SESSIONS), "--dcs", "200", "--samples", "20"]
    sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", "1", "--login", "abcd", *scale)
    return db


def session_places(db: str) -> list[tuple[int, str]]:
    query = "SELECT sessionId, beamLineName FROM BLSession WHERE proposalId=1 ORDER BY sessionId"
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "-N", db, "-e", query], check=True, capture_output=True, text=True
    ).stdout
    return [(int(s), b) for s, b in (line.split("\t") for line in out.splitlines())][-SESSIONS:]


def text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))


def quantiles(times: list[float]) -> str:
    times.sort()
    return f"p50 {statistics.median(times):.1f} ms\tp95 {times[int(0.95 * len(times)) - 1]:.1f} ms"


async def ingest(base: str, token: str, session: int, count: int, writers: int, rng: random.Random) -> None:
    """``count`` notes through the API by ``writers`` concurrent clients."""
    times: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def writer(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                r = await client.post("/logbook", json={"sessionId": session, "text": text(rng), "tags": ["bench"]})
                r.raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(writer(count // writers) for _ in range(writers)))
        seconds = time.perf_counter() - t0
    print(f"ingest\t{writers} writer(s)\t{len(times) / seconds:.0f} entries/s\t{quantiles(times)}", flush=True)


async def fill(url: str, name: str, places: list[tuple[int, str]], count: int, rng: random.Random) -> float:
    """``count`` entries written straight into the collection, in the stored shape (documents/logbook.py)."""
    from bson import ObjectId

    store = DocumentStore(url, name)
    await store.ensure_indexes()
    t0 = time.perf_counter()
    base = datetime.now(UTC) - timedelta(days=30)
    docs: list[dict[str, Any]] = []
    for n in range(count):
        session, beamline = places[n % len(places)]
        oid = ObjectId()
        docs.append(
            {"_id": oid, "entryId": str(oid), "version": 1, "latest": True, "kind": rng.choice(["note", "robot"]),
             "beamLineName": beamline, "proposalId": 1, "sessionId": session, "dataCollectionId": None,
             "blSampleId": None, "resultId": None, "author": {"service": "bench"},
             "time": base + timedelta(seconds=rng.uniform(0, 30 * 86_400)), "createdAt": base, "text": text(rng),
             "tags": ["bench"], "attachments": []}
        )  # fmt: skip
        if len(docs) == 5000:
            await store.db.logbook.insert_many(docs, ordered=False)
            docs = []
    if docs:
        await store.db.logbook.insert_many(docs, ordered=False)
    await store.close()
    return time.perf_counter() - t0


def measure(base: str, token: str, session: int, runs: int) -> None:
    """p50/p95 of each read, ``runs`` times after one warm-up; a ``pages`` read follows the cursor that far."""
    reads: dict[str, tuple[dict[str, Any], int]] = {
        "session, first page": ({"sessionId": session}, 1),
        "session, third page (3 requests)": ({"sessionId": session}, 3),
        "session, q=undulator vac": ({"sessionId": session, "q": "undulator vac"}, 1),
        "all sessions, first page": ({}, 1),
        "all sessions, q=undulator vac": ({"q": "undulator vac"}, 1),
    }
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:

        def read(params: dict[str, Any], pages: int) -> int:
            position: dict[str, Any] = {}
            for _ in range(pages):
                r = client.get("/logbook", params=params | position)
                if r.status_code != 200:
                    return r.status_code
                position = {"cursor": r.json()["next"]}
            return 200

        for label, (params, pages) in reads.items():
            read(params, pages)
            times, failed = [], []
            for _ in range(runs):
                t0 = time.perf_counter()
                if (code := read(params, pages)) != 200:
                    failed.append(code)
                times.append((time.perf_counter() - t0) * 1000)
            refused = f"\t{len(failed)} answered {sorted(set(failed))}" if failed else ""
            print(f"read\t{label}\t{quantiles(times)}{refused}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--entries", type=int, default=100_000)
    p.add_argument("--ingest", type=int, default=2000, help="entries POSTed by each ingest run")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--port", type=int, default=8621)
    a = p.parse_args()
    db = database()
    rng = random.Random(13)
    try:
        places = session_places(db)
        with served(db, a.port) as server:
            for writers in (1, 8):
                asyncio.run(ingest(server.base, server.token, places[0][0], a.ingest, writers, rng))
            rest = a.entries - 2 * a.ingest
            seconds = asyncio.run(fill(server.mongo_url, server.mongo_db, places, rest, rng))
            print(f"# filled {rest} more entries in {seconds:.0f} s; {a.entries} in all", flush=True)
            measure(server.base, server.token, places[1][0], a.runs)
    finally:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
