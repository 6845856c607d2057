#!/usr/bin/env python3
"""Throughput and latency of the main read routes on the reference volume, beside the raw-driver ceiling.

Builds a throw-away official-flavour database at the reference volume (bench/common.py), serves it with one
uvicorn worker and drives ../shared/bench/load.py at concurrency 1 and 32. Prints figures; asserts nothing.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, TOOLS, load, reference_database, served, sh  # noqa: E402

ROUTES = {
    "datacollection": "/datacollections/10001",
    "auto-integrations": "/processings/auto-integrations?dataCollectionId=10001",
    "sessions-of-proposal": "/sessions?proposal=blc00001",
    "events-of-session": "/events?sessionId=11",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()
    with reference_database(a.keep) as db, served(db, a.port, a.workers) as server:
        for label, route in ROUTES.items():
            load(server, route, label, "1,32", a.duration, a.warmup)
        print("# raw PyMySQL ceiling: the same primary-key SELECT", flush=True)
        ceiling = ["--table", "DataCollection", "--pk", "dataCollectionId", "--id", "10001"]
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
            *ceiling,
        )


if __name__ == "__main__":
    main()
