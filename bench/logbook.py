#!/usr/bin/env python3
"""The logbook half of issue 13's benchmark: entries ingested into one session through ``POST /logbook`` (p50/p95
per request, one writer then 8 at once; the rest of the session's 10^5 written straight into the store, in the
stored shape, since one worker takes ~60 POSTs/s on a shared machine), then that session's logbook
(``GET /logbook``: first and third page, a text search, all entries' first page and a search over them) and its
timeline (``GET /sessions/{id}/timeline``) at its first page and at a deep page by cursor, and the same for
another session once 10^5 more entries of other sessions are in the collection (written straight in too). One uvicorn
worker, one SecantusDB process, a throw-away MariaDB database scaled with the shared tools (20 sessions, 200
collections); client, server and databases share the machine.

    .venv/bin/python bench/logbook.py      # 10^5 entries: 5,000 POSTed by one writer, 25,000 by 8, the rest direct
    .venv/bin/python bench/logbook.py --single 2000 --posted 6000 --runs 20    # reads at 10^5, a shorter ingest
    .venv/bin/python bench/logbook.py --entries 100000 --posted 100000      # all 10^5 through the route (~30 min)
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, SHARED, TOOLS, served, sh  # noqa: E402
from documents.store import DocumentStore  # noqa: E402

SESSIONS = 20
WORDS = "beam lost shutter cryo robot sample loaded detector gap undulator vacuum alarm fine".split()


def database() -> str:
    db = f"bench_timeline_{uuid.uuid4().hex[:6]}"
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
    scale = ["--sessions", str(SESSIONS), "--dcs", "200", "--samples", "20"]
    sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", "1", "--login", "abcd", *scale)
    return db


@dataclass(frozen=True)
class Place:
    """A session of the bench's proposal: its beamline and when it runs (UTC; the bench's host keeps UTC)."""

    sessionId: int
    beamLineName: str
    start: datetime
    span: timedelta

    def moment(self, share: float) -> datetime:
        return self.start + self.span * share


def sessions_of_proposal_1(db: str) -> list[Place]:
    query = "SELECT sessionId, beamLineName, startDate, endDate FROM BLSession WHERE proposalId=1 ORDER BY sessionId"
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "-N", db, "-e", query], check=True, capture_output=True, text=True
    ).stdout
    places = []
    for line in out.splitlines()[-SESSIONS:]:
        session, beamline, start, end = line.split("\t")
        begins, ends = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (start, end))
        places.append(Place(int(session), beamline, begins, ends - begins))
    return places


def note(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))


def figures(times: list[float]) -> str:
    times = sorted(times)
    return f"p50 {statistics.median(times):7.1f} ms   p95 {times[max(0, int(0.95 * len(times)) - 1)]:7.1f} ms"


async def ingest(base: str, token: str, place: Place, first: int, count: int, total: int, writers: int) -> None:
    """Entries ``first`` .. ``first + count`` of the session's ``total``, evenly over the session, POSTed by
    ``writers`` clients."""
    times: list[float] = []
    numbers = iter(range(first, first + count))
    rng = random.Random(first)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:

        async def writer() -> None:
            for n in numbers:
                body = {"sessionId": place.sessionId, "text": note(rng), "tags": ["bench"],
                        "time": place.moment(n / total).isoformat()}  # fmt: skip
                t0 = time.perf_counter()
                r = await client.post("/logbook", json=body)
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        seconds = time.perf_counter() - t0
    print(f"POST /logbook  c={writers}  {count:6d} entries  {count / seconds:6.0f}/s   {figures(times)}", flush=True)


async def fill(url: str, name: str, places: list[Place], numbers: range, total: int) -> float:
    """Entries ``numbers`` of ``places`` (of ``total`` each) written straight into the collection (documents/
    logbook.py's shape), evenly over each session like the POSTed ones."""
    from bson import ObjectId

    rng = random.Random(7)
    store = DocumentStore(url, name)
    await store.ensure_indexes()
    t0 = time.perf_counter()
    docs: list[dict[str, Any]] = []
    for n in numbers:
        place = places[n % len(places)]
        session, beamline = place.sessionId, place.beamLineName
        oid, moment = ObjectId(), place.moment(n // len(places) / total)
        docs.append(
            {"_id": oid, "entryId": str(oid), "version": 1, "latest": True, "kind": "note", "beamLineName": beamline,
             "proposalId": 1, "sessionId": session, "dataCollectionId": None, "blSampleId": None, "resultId": None,
             "author": {"service": "bench"}, "time": moment, "createdAt": moment, "text": note(rng),
             "tags": ["bench"], "attachments": []}
        )  # fmt: skip
        if len(docs) == 5000:
            await store.db.logbook.insert_many(docs, ordered=False)
            docs = []
    if docs:
        await store.db.logbook.insert_many(docs, ordered=False)
    await store.close()
    return time.perf_counter() - t0


def cursor_at(client: httpx.Client, session: int, depth: int) -> tuple[str | None, float]:
    """The cursor ``depth`` events into the session's timeline (walked 10,000 at a time), and the mean ms of
    those big pages."""
    cursor, walked, spent, pages = None, 0, 0.0, 0
    while walked < depth:
        params: dict[str, Any] = {"limit": min(10_000, depth - walked)} | ({"cursor": cursor} if cursor else {})
        t0 = time.perf_counter()
        page = client.get(f"/sessions/{session}/timeline", params=params).raise_for_status().json()
        spent, pages = spent + (time.perf_counter() - t0) * 1000, pages + 1
        walked += len(page["results"])
        cursor = page["next"]
        if cursor is None:
            break
    return cursor, spent / max(pages, 1)


def timed(label: str, read: Callable[[], httpx.Response], runs: int) -> None:
    read().raise_for_status()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        read().raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{label:58s} {figures(times)}", flush=True)


def logbook_reads(base: str, token: str, session: int, runs: int) -> None:
    """``GET /logbook`` of the session (first page, third page by cursor, a search) and of every entry."""
    reads: dict[str, tuple[dict[str, Any], int]] = {
        f"logbook of session {session}: first page": ({"sessionId": session}, 1),
        f"logbook of session {session}: third page (3 requests)": ({"sessionId": session}, 3),
        f"logbook of session {session}: q=undulator vac": ({"sessionId": session, "q": "undulator vac"}, 1),
        "logbook, all entries: first page": ({}, 1),
        "logbook, all entries: q=undulator vac": ({"q": "undulator vac"}, 1),
    }
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:

        def read(params: dict[str, Any], pages: int) -> httpx.Response:
            position: dict[str, Any] = {}
            for _ in range(pages):
                r = client.get("/logbook", params=params | position).raise_for_status()
                position = {"cursor": r.json()["next"]}
            return r

        for label, (params, pages) in reads.items():
            timed(label, lambda: read(params, pages), runs)  # noqa: B023 - called before the loop goes on


def timeline_reads(base: str, token: str, session: int, held: int, runs: int) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        path = f"/sessions/{session}/timeline"
        timed(f"timeline of session {session}: first page (25)", lambda: client.get(path), runs)
        depth = held * 9 // 10
        cursor, big = cursor_at(client, session, depth)
        print(f"  (walked {depth} deep in pages of up to 10,000: {big:.0f} ms a page)", flush=True)
        if cursor:
            timed(f"timeline of session {session}: page at {depth} by cursor", lambda: client.get(path, params={
                "cursor": cursor}), runs)  # fmt: skip
        timed(f"timeline of session {session}: logbook only, first page", lambda: client.get(path, params={
            "kinds": "logbook"}), runs)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", type=int, default=100_000, help="entries of one session")
    p.add_argument("--single", type=int, default=5_000, help="of those, how many one writer POSTs")
    p.add_argument("--posted", type=int, default=30_000, help="how many are POSTed in all (after --single, by 8)")
    p.add_argument("--others", type=int, default=100_000, help="entries of the other sessions, written directly")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--port", type=int, default=8631)
    a = p.parse_args()
    db = database()
    try:
        places = sessions_of_proposal_1(db)
        busy, others = places[0], places[1:]
        with served(db, a.port) as server:
            asyncio.run(ingest(server.base, server.token, busy, 0, a.single, a.entries, 1))
            asyncio.run(ingest(server.base, server.token, busy, a.single, a.posted - a.single, a.entries, 8))
            rest = range(a.posted, a.entries)
            seconds = asyncio.run(fill(server.mongo_url, server.mongo_db, [busy], rest, a.entries))
            print(f"# {len(rest)} more entries of session {busy.sessionId} written in {seconds:.0f} s", flush=True)
            logbook_reads(server.base, server.token, busy.sessionId, a.runs)
            timeline_reads(server.base, server.token, busy.sessionId, a.entries, a.runs)
            per_session = a.others // len(others)
            seconds = asyncio.run(fill(server.mongo_url, server.mongo_db, others, range(a.others), per_session))
            print(f"# {a.others} entries of {len(others)} other sessions written in {seconds:.0f} s", flush=True)
            logbook_reads(server.base, server.token, busy.sessionId, a.runs)
            timeline_reads(server.base, server.token, busy.sessionId, a.entries, a.runs)
            logbook_reads(server.base, server.token, others[0].sessionId, a.runs)
            timeline_reads(server.base, server.token, others[0].sessionId, per_session, a.runs)
    finally:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
