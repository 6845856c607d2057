#!/usr/bin/env python3
"""Sample logistics on the reference volume: a 5,000-row spreadsheet import (rows/s, the worker's peak memory)
and the sample list of a proposal with 2,000 samples in containers (first and deep page, p50/p99).

One uvicorn worker over a throw-away official-flavour database (bench/common.py). Prints figures; asserts nothing.
"""

import argparse
import io
import sys
import time
import uuid
from pathlib import Path

import httpx
from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Server, load, reference_database, served  # noqa: E402

HEADER = ["Dewar", "Container barcode", "Container type", "Position", "Sample name", "Protein acronym",
          "Space group", "Experiment kind", "Required resolution", "Anomalous scatterer"]  # fmt: skip


def rows(n: int, acronym: str) -> list[list[object]]:
    tag = uuid.uuid4().hex[:6]
    return [
        [f"D{i // 320 + 1}", f"B-{tag}-{i // 16:04d}", "Unipuck", i % 16 + 1, f"s{i:05d}", acronym, "P21",
         "SAD" if i % 3 == 0 else "OSC", 1.8, "Se" if i % 3 == 0 else None]
        for i in range(n)
    ]  # fmt: skip


def as_xlsx(table: list[list[object]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Samples")
    sheet.append(HEADER)
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(table: list[list[object]]) -> bytes:
    lines = [",".join(HEADER)] + [",".join("" if v is None else str(v) for v in row) for row in table]
    return "\n".join(lines).encode()


def import_once(server: Server, n: int, kind: str) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    acronym = f"bench{uuid.uuid4().hex[:6]}"
    r = httpx.post(f"{server.base}/proteins", headers=headers, json={"proposalId": 1, "acronym": acronym})
    r.raise_for_status()
    table = rows(n, acronym)
    content = as_xlsx(table) if kind == "xlsx" else as_csv(table)
    before = server.peak_rss_mb()
    t0 = time.perf_counter()
    r = httpx.post(
        f"{server.base}/shippings/import",
        headers=headers,
        params={"proposal": "blc00001", "shippingName": f"bench-{kind}"},
        files={"file": (f"bench.{kind}", content)},
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    r.raise_for_status()
    peak = server.peak_rss_mb()
    print(
        f"import\t{kind}\t{n} rows\t{len(content) / 1e6:.2f} MB\t{seconds:.2f} s\t{n / seconds:.0f} rows/s\t"
        f"worker peak RSS {peak:.0f} MB (before {before:.0f} MB)",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per load run")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()
    with reference_database(a.keep) as db, served(db, a.port) as server:
        # the sample list first, while proposal blc00001 holds exactly the 2,000 samples of the reference volume
        total = httpx.get(
            f"{server.base}/samples", params={"proposal": "blc00001", "limit": 1},
            headers={"Authorization": f"Bearer {server.token}"},
        ).json()["total"]  # fmt: skip
        print(f"# samples of blc00001: {total}", flush=True)
        load(server, "/samples?proposal=blc00001", "samples-first-page", "1,32", a.duration, a.warmup)
        load(server, f"/samples?proposal=blc00001&skip={total - 25}", "samples-deep-page", "1,32", a.duration, a.warmup)
        for kind in ("xlsx", "csv"):
            import_once(server, a.rows, kind)


if __name__ == "__main__":
    main()
