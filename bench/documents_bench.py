#!/usr/bin/env python3
"""The document side on the reference volume: 200,000 metric documents through POST /metrics/bulk and, in the
same run, through raw insert_many on the same SecantusDB server into a collection with the same indexes (the
ceiling); then the unified
GET /datacollections/{id}?include=results,metrics at concurrency 1 and 32.

One uvicorn worker over a throw-away official-flavour database (bench/common.py). Prints figures; asserts nothing.
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load, reference_database, served  # noqa: E402
from documents.indexes import INDEXES  # noqa: E402

DC_FIRST, DC_LAST = 2, 20001  # the reference volume's collections, all in proposal 1 (blc00001)


def metric(rng: random.Random, n: int) -> dict[str, object]:
    return {
        "kind": "em.ctf",
        "dataCollectionId": rng.randint(DC_FIRST, DC_LAST),
        "values": {"imageNumber": n, "estimatedResolution": rng.uniform(2.5, 8.0), "defocusU": rng.uniform(5e3, 3e4),
                   "astigmatism": rng.uniform(0, 500), "crossCorrelation": rng.uniform(0, 0.4)},
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--documents", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=20_000, help="lines per POST /metrics/bulk")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per load run")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--port", type=int, default=8767)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()
    rng = random.Random(7)
    docs = [metric(rng, n) for n in range(a.documents)]
    with reference_database(a.keep) as db, served(db, a.port) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        lines = [json.dumps(d) for d in docs]
        t0 = time.perf_counter()
        accepted = 0
        with httpx.Client(base_url=server.base, headers=headers, timeout=600) as client:
            for i in range(0, len(lines), a.batch):
                r = client.post("/metrics/bulk", content="\n".join(lines[i : i + a.batch]).encode())
                r.raise_for_status()
                accepted += r.json()["accepted"]
            api = time.perf_counter() - t0
            print(f"api\t{accepted} documents\t{api:.1f} s\t{accepted / api:.0f} docs/s", flush=True)

            now = datetime.now(UTC)
            raw_docs = [d | {"proposalId": 1, "sessionId": 11, "createdAt": now, "createdBy": 1} for d in docs]
            with MongoClient(server.mongo_url) as mongo:
                target = mongo[server.mongo_db]["raw_metrics"]
                target.create_indexes(INDEXES["metrics"])  # the same index maintenance as the API's collection
                t0 = time.perf_counter()
                for i in range(0, len(raw_docs), 1000):
                    target.insert_many(raw_docs[i : i + 1000], ordered=False)
                raw = time.perf_counter() - t0
            print(
                f"raw insert_many\t{len(raw_docs)} documents\t{raw:.1f} s\t{len(raw_docs) / raw:.0f} docs/s", flush=True
            )
            print(f"# API rate / raw rate: {(accepted / api) / (len(raw_docs) / raw):.0%}", flush=True)

            for run in range(3):
                body = {"kind": "mx.autoproc", "program": {"name": f"bench-{run}"}, "dataCollectionIds": [10001],
                        "status": "success", "data": {"resolution": 1.8 + run / 10}}  # fmt: skip
                client.post("/results", json=body).raise_for_status()
            lines = [json.dumps(metric(rng, n) | {"dataCollectionId": 10001}) for n in range(200)]
            client.post("/metrics/bulk", content="\n".join(lines).encode()).raise_for_status()
        load(
            server,
            "/datacollections/10001?include=results,metrics",
            "unified-datacollection",
            "1,32",
            a.duration,
            a.warmup,
        )
        load(server, "/datacollections/10001", "sql-only-datacollection", "1,32", a.duration, a.warmup)


if __name__ == "__main__":
    main()
