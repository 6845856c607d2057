#!/usr/bin/env python3
"""Simulated beamlines: the writes MXCuBE's PyISPyB adapter makes for one collection, against one uvicorn worker.

One collection is, in the adapter's order (docs/design/mxcube-calls.md §3): POST datacollections/group (the queue
group), POST datacollections/datacollection (the collection, in that group), 10 × POST images/image,
POST datacollections/datacollection with collection_id (the update at the end), POST events/robot-action:
14 calls, sent back to back (a beamline's calls are sequential; back to back is the burstiest case).

Modes (each prints collections/s and p50/p99/max per call type, from the client's clock):
- ``throughput``: 1 and 8 beamlines, each starting its next collection as soon as its last ended;
- ``paced``: 50 beamlines each starting one collection every ``--period`` seconds (30 s: a busy MX beamline), their
  phases spread evenly; ``--period 3`` is time compressed tenfold (ten times the real load).

The database is a throw-away copy of the official dump at the reference volume (bench/common.py: 20 sessions,
20,000 collections under proposal 1); the caller (login ``abcd``) is given the acquisition permission in it, as
beamline control software holds. ``--keys on`` sends an Idempotency-Key with every write (the unchanged adapter
sends none; ``--keys both`` runs each mode without, then with keys, in one sitting). The client runs in this
process on the same two cores as the server, SecantusDB and MariaDB. Prints figures only.
"""

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import reference_database, served  # noqa: E402

CALLS = ("group", "collection", "image", "update", "robot-action")
IMAGES = 10
LOGIN = "abcd"


@dataclass
class Tally:
    """Latencies (seconds) per call type, failures, and collections completed within the measured window."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    collections: int = 0


@dataclass(frozen=True)
class Site:
    """What the beamlines write into: sessions and samples of proposal 1, and the caller's headers."""

    sessions: list[int]
    samples: list[int]
    headers: dict[str, str]


def grant_acquisition(db: str) -> None:
    """Give ``abcd`` the acquisition permission (a group of its own), as beamline software holds it."""
    with pymysql.connect(host="127.0.0.1", user="root", database=db, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT personId FROM Person WHERE login = %s", (LOGIN,))
        found = cur.fetchone()
        assert found, f"no person {LOGIN} in {db}"
        person_id = found[0]
        cur.execute("INSERT INTO UserGroup (name) VALUES ('bench_acquisition')")
        group = cur.lastrowid
        cur.execute("INSERT INTO Permission (type, description) VALUES ('acquisition', 'bench')")
        permission = cur.lastrowid
        cur.execute("INSERT INTO UserGroup_has_Permission VALUES (%s, %s)", (group, permission))
        cur.execute("INSERT INTO UserGroup_has_Person VALUES (%s, %s)", (group, person_id))


def site_of(db: str, token: str) -> Site:
    with pymysql.connect(host="127.0.0.1", user="root", database=db) as conn, conn.cursor() as cur:
        cur.execute("SELECT sessionId FROM BLSession WHERE proposalId = 1 ORDER BY sessionId")
        sessions = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT s.blSampleId FROM BLSample s JOIN Crystal c USING (crystalId) JOIN Protein p USING (proteinId)"
            " WHERE p.proposalId = 1 ORDER BY s.blSampleId LIMIT 200"
        )
        samples = [r[0] for r in cur.fetchall()]
    return Site(sessions, samples, {"Authorization": f"Bearer {token}"})


def collection_dict(session: int, group: int, sample: int, n: int) -> dict[str, Any]:
    """A collection as MXCuBE's ``to_collect_dict`` and ``AbstractCollect`` make it."""
    return {
        "sessionId": str(session),
        "group_id": group,
        "experiment_type": "OSC",
        "status": "Running",
        "comments": "bench",
        "fileinfo": {"directory": "/data/bench", "prefix": f"s{n}", "run_number": 1, "template": f"s{n}_1_%05d.cbf"},
        "sample_reference": {"blSampleId": sample, "spacegroup": "P21"},
        "oscillation_sequence": [
            {"start": 0.0, "range": 0.1, "number_of_images": IMAGES, "exposure_time": 0.02, "start_image_number": 1}
        ],
        "resolution": 1.8,
        "transmission": 50.0,
        "wavelength": 0.9763,
        "detectorDistance": 250.0,
        "xBeam": 160.1,
        "yBeam": 165.2,
        "collection_start_time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


class Beamline:
    """One beamline's MXCuBE: one collection at a time, each call timed."""

    def __init__(self, http: httpx.AsyncClient, site: Site, number: int, keys: bool, tally: Tally) -> None:
        self.http, self.site, self.keys, self.tally = http, site, keys, tally
        self.session = site.sessions[number % len(site.sessions)]
        self.sample = site.samples[number % len(site.samples)]
        self.number = number
        self.measuring = False

    async def call(self, kind: str, path: str, body: dict[str, Any]) -> Any:
        headers = self.site.headers | ({"Idempotency-Key": uuid.uuid4().hex} if self.keys else {})
        start = time.perf_counter()
        r = await self.http.post(path, json=body, headers=headers)
        took = time.perf_counter() - start
        if self.measuring:
            self.tally.latencies[kind].append(took)
            if r.status_code not in (200, 201):
                self.tally.failures[kind] += 1
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def collect(self, n: int) -> None:
        queue = {"sessionId": self.session, "experimentType": "OSC", "actualContainerSlotInSC": 1}
        group = (await self.call("group", "datacollections/group", queue))["dataCollectionGroupId"]
        body = collection_dict(self.session, group, self.sample, n)
        dc = (await self.call("collection", "datacollections/datacollection", body))["dataCollectionId"]
        for image in range(1, IMAGES + 1):
            name = f"s{n}_1_{image:05d}.cbf"
            shot = {"dataCollectionId": dc, "imageNumber": image, "fileName": name, "fileLocation": "/data/bench"}
            await self.call("image", "images/image", shot | {"measuredIntensity": 1.0, "synchrotronCurrent": 200.0})
        final = body | {"collection_id": dc, "status": "Data collection successful"}
        await self.call("update", "datacollections/datacollection", final)
        robot = {"actionType": "LOAD", "sessionId": str(self.session), "blSampleId": self.sample, "status": "SUCCESS"}
        await self.call("robot-action", "events/robot-action", robot | {"containerLocation": "1", "dewarLocation": 1})
        if self.measuring:
            self.tally.collections += 1


def client(base: str, beamlines: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=beamlines, max_keepalive_connections=beamlines)
    return httpx.AsyncClient(base_url=base + "/", limits=limits, timeout=60.0)


async def back_to_back(
    base: str, site: Site, beamlines: int, warmup: float, duration: float, keys: bool
) -> tuple[Tally, float]:
    """Each beamline collects continuously; measured over ``duration`` after ``warmup`` (the seconds measured)."""
    tally = Tally()
    async with client(base, beamlines) as http:
        lines = [Beamline(http, site, i, keys, tally) for i in range(beamlines)]
        end = time.monotonic() + warmup + duration

        async def run(line: Beamline) -> None:
            n = 0
            while time.monotonic() < end:
                await line.collect(n)
                n += 1

        async def window() -> float:
            await asyncio.sleep(warmup)
            for line in lines:
                line.measuring = True
            start = time.monotonic()
            await asyncio.sleep(duration)
            for line in lines:
                line.measuring = False
            return time.monotonic() - start

        measured = asyncio.create_task(window())
        await asyncio.gather(*(run(line) for line in lines))
    return tally, await measured


async def paced(base: str, site: Site, beamlines: int, period: float, rounds: int, keys: bool) -> Tally:
    """Each beamline starts a collection every ``period`` seconds (phases spread over the period), ``rounds``
    times; a collection still running when its next one is due delays it (then counted late)."""
    tally = Tally()
    async with client(base, beamlines) as http:
        lines = [Beamline(http, site, i, keys, tally) for i in range(beamlines)]
        start = time.monotonic()
        late = 0

        async def run(index: int, line: Beamline) -> None:
            nonlocal late
            line.measuring = True
            for n in range(rounds):
                due = start + period * (n + index / beamlines)
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif n:
                    late += 1
                await line.collect(n)

        await asyncio.gather(*(run(i, line) for i, line in enumerate(lines)))
        tally.failures["late starts"] = late
    return tally


def report(title: str, tally: Tally, seconds: float) -> None:
    print(f"\n## {title}")
    print(f"collections: {tally.collections} in {seconds:.0f} s = {tally.collections / seconds:.2f} collections/s")
    print(f"{'call':<14}{'calls':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'failed':>8}")
    everything: list[float] = []
    for kind in CALLS:
        values = sorted(tally.latencies[kind])
        everything += values
        print(f"{kind:<14}{len(values):>8}" + _quantiles(values) + f"{tally.failures[kind]:>8}")
    print(f"{'all calls':<14}{len(everything):>8}" + _quantiles(sorted(everything)))
    if tally.failures.get("late starts"):
        print(f"late starts: {tally.failures['late starts']}")
    sys.stdout.flush()


def _quantiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{'-':>10}" * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"{cuts[49] * 1000:>10.1f}{cuts[98] * 1000:>10.1f}{values[-1] * 1000:>10.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["throughput", "paced", "both"], default="both")
    p.add_argument("--duration", type=float, default=20.0, help="throughput: measured seconds per run")
    p.add_argument("--warmup", type=float, default=3.0, help="throughput: seconds before measuring")
    p.add_argument("--beamlines", default="1,8", help="throughput: concurrent beamlines, comma-separated")
    p.add_argument("--paced-beamlines", type=int, default=50)
    p.add_argument("--period", type=float, default=30.0, help="paced: seconds between a beamline's collections")
    p.add_argument("--rounds", type=int, default=4, help="paced: collections per beamline")
    p.add_argument(
        "--keys",
        choices=["off", "on", "both"],
        default="off",
        help="send an Idempotency-Key with every write (the unchanged adapter sends none); both: each run twice",
    )
    p.add_argument("--port", type=int, default=8767)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()
    with reference_database(a.keep) as db:
        grant_acquisition(db)
        with served(db, a.port, 1, login=LOGIN) as server:
            site = site_of(db, server.token)
            print(f"# one uvicorn worker, MariaDB database {db} (official flavour, reference volume)")
            for keys in {"off": [False], "on": [True], "both": [False, True]}[a.keys]:
                keyed = "with an Idempotency-Key on every write" if keys else "without Idempotency-Key"
                if a.mode in ("throughput", "both"):
                    for beamlines in (int(n) for n in a.beamlines.split(",")):
                        run = back_to_back(server.base, site, beamlines, a.warmup, a.duration, keys)
                        tally, measured = asyncio.run(run)
                        report(f"{beamlines} beamline(s) back to back, {keyed}", tally, measured)
                if a.mode in ("paced", "both"):
                    start = time.monotonic()
                    tally = asyncio.run(paced(server.base, site, a.paced_beamlines, a.period, a.rounds, keys))
                    every = f"one collection each every {a.period:g} s, {a.rounds} rounds"
                    report(f"{a.paced_beamlines} beamlines, {every}, {keyed}", tally, time.monotonic() - start)


if __name__ == "__main__":
    main()
