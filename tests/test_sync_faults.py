"""``ispyb-hybrid sync-faults`` on both flavours: each BF_fault row becomes a logbook entry of kind ``fault`` of its
session, once; a changed row becomes the entry's next version; a database without the table is told so."""

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MARIADB, Flavour, mariadb
from tests.factories import insert
from tests.test_shipping import Caller

CLI = str(Path(sys.executable).parent / "ispyb-hybrid")
FAULTS = 7  # more than two batches of 3


def env(url: str, flavour: Flavour, mongo_url: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": url,
        "ISPYB_MONGO_URL": mongo_url,
        "ISPYB_MONGO_DB": flavour.settings.mongo_db,
    }


def sync(flavour: Flavour, mongo_url: str) -> dict[str, int]:
    run = subprocess.run(
        [CLI, "sync-faults", "--batch", "3"],
        env=env(flavour.url, flavour, mongo_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    counts: dict[str, int] = json.loads(run.stdout[run.stdout.index("{") :])
    return counts


async def _add_faults(db: AsyncSession, sessions: dict[str, int], tag: str) -> dict[int, dict[str, Any]]:
    """FAULTS faults, alternating between sessions a and b; id → what was written."""
    written = {}
    for n in range(FAULTS):
        row = {
            "session": sessions["a" if n % 2 == 0 else "b"],
            "title": f"{tag} fault {n}",
            "description": f"motor {n} stalled",
            "start": datetime(2024, 3, 1, 10, n),
            "resolved": n == 0,
        }
        sql = (
            "INSERT INTO BF_fault (sessionId, title, description, starttime, resolved, beamtimelost)"
            " VALUES (:session, :title, :description, :start, :resolved, 0)"
        )
        written[await insert(db, sql, **row)] = row
    return written


async def _resolve(db: AsyncSession, fault_id: int) -> None:
    await db.execute(
        text("UPDATE BF_fault SET resolved = 1, resolution = 'replaced the motor' WHERE faultId = :id"),
        {"id": fault_id},
    )


async def _drop(db: AsyncSession, fault_ids: list[int]) -> None:
    delete = text("DELETE FROM BF_fault WHERE faultId IN :ids").bindparams(bindparam("ids", expanding=True))
    await db.execute(delete, {"ids": fault_ids})


async def _count(db: AsyncSession) -> int:
    return int((await db.execute(text("SELECT COUNT(*) FROM BF_fault"))).scalar_one())


@pytest.mark.commits  # the command line's own process reads committed rows only
def test_faults_are_copied_once_and_changes_become_versions(flavour: Flavour, mongo_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    written = flavour.run(_add_faults, flavour.data.sessions, tag)
    try:
        total = flavour.run(_count)
        first = sync(flavour, mongo_url)
        assert first == {"read": total, "added": total, "updated": 0, "unchanged": 0, "skipped": 0}
        assert sync(flavour, mongo_url) == {"read": total, "added": 0, "updated": 0, "unchanged": total, "skipped": 0}
        for role, key in (("sci_a", "a"), ("sci_b", "b")):
            page = Caller(flavour, role)("GET", "/logbook", 200, params={"kind": "fault", "q": tag, "limit": 100})
            mine = {i: row for i, row in written.items() if row["session"] == flavour.data.sessions[key]}
            got = {e["source"]["id"]: e for e in page["results"]}
            assert sorted(got) == sorted(mine)
            for fault_id, entry in got.items():
                row = mine[fault_id]
                assert entry["source"] == {"table": "BF_fault", "id": fault_id}
                assert entry["author"]["service"] == "sync-faults" and entry["sessionId"] == row["session"]
                assert row["title"] in entry["text"] and row["description"] in entry["text"]
                assert entry["tags"] == (["resolved"] if row["resolved"] else ["unresolved"])
                local = row["start"].astimezone()  # SQL keeps the facility's (the host's) wall clock
                assert datetime.fromisoformat(entry["time"]) == local
        changed = sorted(written)[2]
        flavour.run(_resolve, changed)
        assert sync(flavour, mongo_url) == {
            "read": total,
            "added": 0,
            "updated": 1,
            "unchanged": total - 1,
            "skipped": 0,
        }
        assert sync(flavour, mongo_url)["updated"] == 0
        admin = Caller(flavour, "admin")
        [entry] = [e for e in admin("GET", "/logbook", 200, params={"q": tag, "limit": 100})["results"]
                   if e["source"]["id"] == changed]  # fmt: skip
        history = admin("GET", f"/logbook/{entry['entryId']}", 200)["versions"]
        assert [(v["version"], v["latest"], "replaced the motor" in v["text"]) for v in history] == [
            (1, False, False),
            (2, True, True),
        ]
        assert history[1]["tags"] == ["resolved"]
    finally:
        flavour.run(_drop, list(written))


@pytest.mark.commits
def test_a_database_without_fault_tables_is_told_so(flavour: Flavour, mongo_url: str) -> None:
    name = f"lbk_nofaults_{uuid.uuid4().hex[:8]}"
    mariadb("-e", f"CREATE DATABASE `{name}`")
    try:
        run = subprocess.run(
            [CLI, "sync-faults"], env=env(f"{MARIADB}/{name}", flavour, mongo_url), capture_output=True, text=True
        )
    finally:
        mariadb("-e", f"DROP DATABASE `{name}`")
    assert run.returncode == 0, run.stderr
    assert "no BF_fault table" in run.stdout
