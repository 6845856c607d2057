#!/usr/bin/env python3
"""A session page, one GraphQL query against the REST calls a dashboard makes for it, on one uvicorn worker at the
reference volume (official flavour, 20 sessions of 1,000 collections): the session, its 25 latest collections with
their best result (SQL auto-processing and a document result each), and the session's CTF summary (1,000 em.ctf
metrics in its rollups).

REST page: ``GET /sessions/{id}`` and ``GET /events?sessionId=&limit=25`` (the collections), then 25
``GET /datacollections/{id}/best-result`` and ``GET /stats/metrics/summary?sessionId=&kind=em.ctf``, six at a time
as a browser sends them: 28 requests. (``--documents results``: each collection's latest results instead,
``GET /datacollections/{id}?include=results`` against ``results { ... }``.)
GraphQL page: one ``POST /graphql``.

For each, at concurrency 1 and 32 (closed loop, ``--duration`` seconds after ``--warmup``): pages/s, requests/s and
the p50/p99 of a whole page, measured by an asyncio + httpx client in this process (it shares the machine's two
cores with the server and MariaDB: quote ratios from one sitting). Then SQL statements and document-store commands
per page, counted in an app served in this process over the same stores (SQLAlchemy's ``before_cursor_execute``,
PyMongo's command listener).

    .venv/bin/python bench/graphql_bench.py           # --duration 20 --warmup 5 --port 8651
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from math import nan
from pathlib import Path
from typing import Any

import httpx
from pymongo import monitoring
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Server, reference_database, served  # noqa: E402

PAGE = 25
CTF = 40  # metrics per collection: 1,000 in the session
#: requests a page has in flight at once, as a browser keeps at most six connections to one origin
BROWSER_LANES = 6
QUERY = """query Page($s: Int!) { session(sessionId: $s) { sessionId beamLineName startDate endDate
  metrics { emCtf { estimatedResolution { count mean p50 p90 } } }
  dataCollections(first: 25) { totalCount edges { node { dataCollectionId startTime numberOfImages runStatus
    %s } } } } }"""
#: each collection's documents, by ``--documents``: GraphQL's selection and REST's call (``{dc}``: the id)
DOCUMENTS = {
    "best": ("bestResult { reason best { source id program spaceGroup resolution innerShellRMerge } }",
             "/datacollections/{dc}/best-result"),
    "results": ("results { resultId kind status program { name } data }",
                "/datacollections/{dc}?include=results"),
}  # fmt: skip
Page = Callable[[httpx.AsyncClient], Awaitable[None]]


def first_session(db: str) -> int:
    sql = "SELECT sessionId FROM BLSession WHERE proposalId=1 ORDER BY sessionId DESC LIMIT 1"
    out = subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-N", db, "-e", sql], check=True, capture_output=True)
    return int(out.stdout)


def rest_page(session: int, documents: str) -> Page:
    async def page(client: httpx.AsyncClient) -> None:
        (await client.get(f"/sessions/{session}")).raise_for_status()
        listed = await client.get("/events", params={"sessionId": session, "limit": PAGE})
        dcs = [e["Item"]["dataCollectionId"] for e in listed.raise_for_status().json()["results"]]
        summary: dict[str, str | int] = {"sessionId": session, "kind": "em.ctf"}
        lanes = asyncio.Semaphore(BROWSER_LANES)

        async def get(path: str, **kw: Any) -> httpx.Response:
            async with lanes:
                return await client.get(path, **kw)

        calls = [get(DOCUMENTS[documents][1].format(dc=dc)) for dc in dcs]
        answers = await asyncio.gather(*calls, get("/stats/metrics/summary", params=summary))
        for answer in answers:
            answer.raise_for_status()

    return page


def graphql_page(session: int, documents: str) -> Page:
    query = QUERY % DOCUMENTS[documents][0]

    async def page(client: httpx.AsyncClient) -> None:
        answer = await client.post("/graphql", json={"query": query, "variables": {"s": session}})
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors") or len(body["data"]["session"]["dataCollections"]["edges"]) != PAGE:
            raise RuntimeError(f"unexpected answer: {str(body)[:300]}")

    return page


def pages(session: int, documents: str) -> list[tuple[str, Page]]:
    return [("REST", rest_page(session, documents)), ("GraphQL", graphql_page(session, documents))]


async def seed(server: Server, session: int) -> None:
    """A document result and CTF metrics for each of the session's 25 latest collections."""
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=60) as client:
        events = (await client.get("/events", params={"sessionId": session, "limit": PAGE})).json()["results"]
        dcs = [e["Item"]["dataCollectionId"] for e in events]
        assert len(dcs) == PAGE, events[:2]
        for i, dc in enumerate(dcs):
            shells = {"innerShell": {"rMerge": 0.03 + i / 1000}, "overall": {"resolutionLimitHigh": 1.6}}
            data = {"spaceGroup": "P212121"} | shells
            body = {"kind": "mx.autoproc", "program": {"name": "fast_dp"}, "status": "success",
                    "dataCollectionIds": [dc], "data": data}  # fmt: skip
            (await client.post("/results", json=body)).raise_for_status()
        lines = [
            json.dumps(
                {
                    "kind": "em.ctf",
                    "dataCollectionId": dc,
                    "values": {"imageNumber": n, "estimatedResolution": 2.5 + n / 10},
                }
            )
            for dc in dcs
            for n in range(CTF)
        ]
        report = (await client.post("/metrics/bulk", content="\n".join(lines))).json()
        assert report["accepted"] == len(lines), report


async def drive(server: Server, page: Page, concurrency: int, duration: float, warmup: float) -> dict[str, float]:
    """Closed loop: ``concurrency`` clients each loading pages back to back; the figures of the pages that end in
    the measured window (a REST page at c=32 takes many seconds)."""
    headers = {"Authorization": f"Bearer {server.token}"}
    lanes = concurrency * BROWSER_LANES
    limits = httpx.Limits(max_connections=lanes, max_keepalive_connections=lanes)
    start = stop = float("inf")
    latencies: list[float] = []
    answered = failed = 0

    async def count(response: httpx.Response) -> None:  # every answer in the window, whole pages or not
        nonlocal answered
        answered += start <= time.monotonic() <= stop

    hooks = {"response": [count]}
    async with httpx.AsyncClient(
        base_url=server.base, headers=headers, timeout=120, limits=limits, event_hooks=hooks
    ) as client:
        await page(client)
        start = time.monotonic() + warmup
        stop = start + duration

        async def worker() -> None:
            nonlocal failed
            while (began := time.monotonic()) < stop:
                try:
                    await page(client)
                except (httpx.HTTPError, RuntimeError):  # a refusal (503: the pool's wait ran out) or a lost socket
                    failed += start <= time.monotonic() <= stop
                    continue
                if start <= (ended := time.monotonic()) <= stop:  # pages that end in the window count
                    latencies.append(ended - began)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    p50, p99 = (statistics.quantiles(latencies, n=100)[i] for i in (49, 98)) if len(latencies) > 1 else (nan, nan)
    return {
        "pages/s": len(latencies) / duration,
        "req/s": answered / duration,
        "p50 ms": 1000 * p50,
        "p99 ms": 1000 * p99,
        "failed pages": failed,
    }


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


def round_trips(server: Server, session: int, documents: str) -> dict[str, tuple[int, int]]:
    """(SQL statements, document-store commands) of one page of each kind, in an app served in this process."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    commands = Commands()
    monitoring.register(commands)  # before the app's client exists: it takes the listeners registered then
    settings = Settings(
        _env_file=None,
        mode="dev",
        sql_url=f"mysql+aiomysql://root@127.0.0.1/{server.mongo_db}",  # served() names both stores after the db
        mongo_url=server.mongo_url,
        mongo_db=server.mongo_db,
        auth_plugins=["dummy"],
        jwt_secret="bench-secret-bench-secret-bench-secret",
    )
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    figures = {}
    with TestClient(create_app(settings), base_url="http://local/ispyb/api/v1") as client:
        client.headers["Authorization"] = f"Bearer {server.token}"
        engine = client.app.state.ispyb.database.engine.sync_engine  # type: ignore[attr-defined]
        event.listen(engine, "before_cursor_execute", counted)

        async def bridge(page: Page) -> None:  # the pages are async: run them on the client's own transport
            transport = httpx.ASGITransport(app=client.app)
            base = str(client.base_url)
            async with httpx.AsyncClient(transport=transport, base_url=base, headers=client.headers) as local:
                await page(local)

        for name, page in pages(session, documents):
            assert client.portal is not None
            client.portal.call(bridge, page)  # warm: permissions and kinds cached as in a running service
            statements, commands.count = 0, 0
            client.portal.call(bridge, page)
            figures[name] = (statements, commands.count)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--port", type=int, default=8651)
    p.add_argument("--keep", action="store_true", help="keep the database")
    p.add_argument("--documents", choices=DOCUMENTS, default="best", help="each collection's best result, or results")
    p.add_argument("--db", help="a database kept by an earlier run (--keep), instead of a new one")
    a = p.parse_args()
    volume = reference_database(a.keep, a.db)
    with volume as db, served(db, a.port) as server:
        session = first_session(db)
        asyncio.run(seed(server, session))
        print(f"# session {session}: {PAGE} collections with a result each, {PAGE * CTF} CTF metrics; each "
              f"collection's {a.documents}", flush=True)  # fmt: skip
        print("page\tc\tpages/s\treq/s\tp50 ms\tp99 ms\tfailed pages")
        for c in (1, 32):
            for name, page in pages(session, a.documents):
                f = asyncio.run(drive(server, page, c, a.duration, a.warmup))
                row = [name, c, *(f"{value:.1f}" for value in f.values())]
                print("\t".join(map(str, row)), flush=True)
        print("page\tSQL statements\tdocument commands")
        for name, (sql, docs) in round_trips(server, session, a.documents).items():
            print(f"{name}\t{sql}\t{docs}")


if __name__ == "__main__":
    main()
