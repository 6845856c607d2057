"""User-office sync: N proposals (5 people, 3 sessions, a lab contact and 2 proteins each) synced through
``POST /webservices/userportalsync/sync_proposal`` on one uvicorn worker, from scratch and then unchanged, against a
throw-away database of each flavour; then N others through ``ispyb-hybrid sync-proposals`` over a folder (the cron
job's way, one process whose start-up is counted), from scratch and unchanged. Prints proposals/s, p50/p95.

    .venv/bin/python bench/userportal_sync.py [--proposals 1000] [--port 8611] [--flavours official dls]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BIN, ROOT, SHARED, served, sh  # noqa: E402

OFFICE = "bench_office"
GRANT = f"""
INSERT INTO Person (login, familyName) VALUES ('{OFFICE}', 'Office'); SET @person = LAST_INSERT_ID();
INSERT INTO UserGroup (name) VALUES ('bench_office'); SET @group = LAST_INSERT_ID();
INSERT INTO Permission (type) VALUES ('uportal_sync'); SET @permission = LAST_INSERT_ID();
INSERT INTO UserGroup_has_Person (userGroupId, personId) VALUES (@group, @person);
INSERT INTO UserGroup_has_Permission (userGroupId, permissionId) VALUES (@group, @permission);
"""


def database(flavour: str) -> str:
    """A new database from ``flavour``'s dumps, with a person holding ``uportal_sync``."""
    db = f"bench_sync_{flavour}_{uuid.uuid4().hex[:6]}"
    folder = SHARED / ("ispyb-database" if flavour == "official" else "ispyb-database-dls")
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(folder / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
    sh("mariadb", "-h127.0.0.1", "-uroot", db, "-e", GRANT)
    return db


def document(i: int, tag: int) -> dict[str, Any]:
    """Proposal ``i``: 5 people (2 laboratories), 3 sessions of 2 members, a lab contact, 2 proteins."""
    base = (tag * 100_000 + i) * 10
    people = [
        {
            "login": f"u{tag}_{i}_{j}",
            "externalId": base + j,
            "givenName": f"Given{j}",
            "familyName": f"Family{i}",
            "emailAddress": f"u{i}.{j}@example.org",
            "laboratory": {"name": f"Lab {i % 50}", "address": "1 Road", "city": "Grenoble", "country": "FR"},
        }
        for j in range(5)
    ]
    sessions = [
        {
            "externalId": base + k,
            "expSessionPk": base + k,
            "visit_number": k + 1,
            "startDate": f"2026-0{k + 1}-10T08:00:00",
            "endDate": f"2026-0{k + 1}-11T08:00:00",
            "beamLineName": "ID30A-1",
            "persons": [
                {"login": people[k]["login"], "session_options": {"role": "Principal Investigator", "remote": False}},
                {"login": people[k + 1]["login"], "session_options": {"role": "Co-Investigator", "remote": True}},
            ],
        }
        for k in range(3)
    ]
    proteins = [
        {
            "acronym": f"P{i}_{k}",
            "name": f"Protein {k}",
            "externalId": base + k,
            "person": {"login": people[0]["login"]},
        }
        for k in range(2)
    ]
    return {
        "proposal": {
            "title": f"Bench proposal {i}",
            "proposalCode": "MX",
            "proposalNumber": f"{tag}{i:05d}",
            "proposalType": "MX",
            "externalId": base,
            "persons": people,
            "labcontacts": [{"cardName": f"Contact {i}", "person": {"login": people[0]["login"]}}],
        },
        "sessions": sessions,
        "proteins": proteins,
    }


def run(client: httpx.Client, url: str, docs: list[dict[str, Any]]) -> tuple[float, list[float], int]:
    """Seconds for all, seconds per document, how many said they changed something."""
    times, changed = [], 0
    t0 = time.perf_counter()
    for doc in docs:
        t = time.perf_counter()
        r = client.post(url, json=doc)
        times.append(time.perf_counter() - t)
        r.raise_for_status()
        changed += r.json()["changed"]
    return time.perf_counter() - t0, times, changed


def run_cli(db: str, folder: Path, dry_run: bool = False) -> float:
    """Seconds for ``ispyb-hybrid sync-proposals`` over ``folder`` (one process, each file its own transaction)."""
    env = {**os.environ, "ISPYB_MODE": "dev", "ISPYB_SQL_URL": f"mysql+aiomysql://root@127.0.0.1/{db}"}
    cmd = [str(BIN / "ispyb-hybrid"), "sync-proposals", str(folder), *(["--dry-run"] if dry_run else [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument("--flavours", nargs="+", default=["official", "dls"])
    args = parser.parse_args()
    tag = int(time.time()) % 10_000
    docs = [document(i, tag) for i in range(args.proposals)]
    print(f"{'flavour':9} {'pass':14} {'proposals/s':>12} {'p50 ms':>8} {'p95 ms':>8} {'changed':>8}")
    for flavour in args.flavours:
        db = database(flavour)
        try:
            with served(db, args.port, login=OFFICE) as server:
                headers = {"Authorization": f"Bearer {server.token}"}
                with httpx.Client(headers=headers, timeout=60) as client:
                    url = f"{server.base}/webservices/userportalsync/sync_proposal"
                    for label in ("scratch", "unchanged"):
                        total, times, changed = run(client, url, docs)
                        p50 = statistics.median(times) * 1000
                        p95 = statistics.quantiles(times, n=20)[-1] * 1000
                        rate = len(docs) / total
                        print(f"{flavour:9} {label:14} {rate:12.1f} {p50:8.1f} {p95:8.1f} {changed:8d}", flush=True)
            with tempfile.TemporaryDirectory() as folder:  # the cron job's way: the CLI over an export folder
                cli_docs = [document(i, tag + 1) for i in range(args.proposals)]
                for i, doc in enumerate(cli_docs):
                    (Path(folder) / f"{i:05d}.json").write_text(json.dumps(doc))
                for label in ("cli scratch", "cli unchanged"):
                    total = run_cli(db, Path(folder))
                    print(f"{flavour:9} {label:14} {len(cli_docs) / total:12.1f} {'':>8} {'':>8} {'':>8}", flush=True)
        finally:
            subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
