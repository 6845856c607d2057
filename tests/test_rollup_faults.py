"""Rollups and counts under faults: a document store killed in the middle of a bulk upload (the retry folds what
the first attempt stored and did not fold, exactly once, also with two workers), and counts that take too long
(an estimate, not a 503)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient, MongoClient

from app.cli.embedded import DocumentServer
from app.main import create_app
from documents import rollups
from tests.conftest import Flavour, make_settings
from tests.test_metric_stats import ctf_lines
from tests.test_results import three_collections
from tests.test_shipping import uid

API = "/ispyb/api/v1"
#: apps of their own (on their own document servers), which see only committed rows
pytestmark = pytest.mark.commits


def check_rollups(url: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}
    env |= {"ISPYB_MODE": "dev", "ISPYB_MONGO_URL": url, "ISPYB_MONGO_DB": database}
    cli = str(Path(sys.executable).parent / "ispyb-hybrid")
    return subprocess.run([cli, "check-rollups"], env=env, capture_output=True, text=True, timeout=300)


def test_a_retry_after_the_store_died_mid_upload_folds_what_was_not(
    flavour: Flavour, oidc_key: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 40: the store is killed (SIGKILL) after the second batch is stored and before it is folded;
    restarted on the same storage and port, the retried upload (same Idempotency-Key) leaves the rollups equal to
    brute force over the raw metrics, and check-rollups finds no drift."""
    monkeypatch.setattr("app.services.results.BATCH", 40)
    server = DocumentServer(str(tmp_path / "store")).start()
    database = f"t{uuid.uuid4().hex[:8]}"
    settings = make_settings(flavour.url, server.url, database, oidc_key, mongo_timeout_ms=1000)
    dcs = three_collections(flavour, member=True)
    body = "\n".join(ctf_lines(dcs, 130, seed=11))
    real_fold, folds = rollups.fold_once, []

    async def fold_then_die(db: Any, fold: ObjectId, docs: list[dict[str, Any]]) -> None:
        folds.append(fold)
        if len(folds) == 2:
            assert server.process is not None
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()
        await real_fold(db, fold, docs)

    monkeypatch.setattr(rollups, "fold_once", fold_then_die)
    try:
        with TestClient(create_app(settings)) as client:
            headers = flavour.token("sci_a") | {"Idempotency-Key": uid()}
            first = client.post(f"{API}/metrics/bulk", content=body, headers=headers)
            assert first.status_code == 503, first.text
            server = DocumentServer(server.storage, port=server.port).start()
            retry = client.post(f"{API}/metrics/bulk", content=body, headers=headers)
            assert retry.status_code == 200, retry.text
            assert (retry.json()["accepted"], retry.json()["duplicates"]) == (50, 80), retry.json()
            raw = _get(client, headers, "/metrics", {"kind": "em.ctf", "limit": 1000})["results"]
            assert len(raw) == 130
            session = _get(client, headers, f"/datacollections/{dcs[0]}", {})["BLSession"]["sessionId"]
            params = {"sessionId": session, "kind": "em.ctf", "field": "estimatedResolution", "binWidth": 0.1}
            hist = _get(client, headers, "/stats/metrics/histogram", params)
            assert hist["count"] == 130
            for b in hist["bins"]:
                inside = [m for m in raw if b["start"] - 1e-9 <= m["values"]["estimatedResolution"] < b["end"] - 1e-9]
                assert b["count"] == len(inside), b
        check = check_rollups(server.url, database)
        assert check.returncode == 0 and "0 difference(s)" in check.stdout, check.stdout + check.stderr
    finally:
        server.stop()


def _get(client: TestClient, headers: dict[str, str], path: str, params: dict[str, Any]) -> Any:
    r = client.get(API + path, params=params, headers={"Authorization": headers["Authorization"]})
    assert r.status_code == 200, r.text
    return r.json()


def _metric(n: int, fold: ObjectId, size: int) -> dict[str, Any]:
    """Metric ``n`` of a batch of ``size`` (its fold ``fold``), as an upload stores it."""
    values = {"imageNumber": n, "estimatedResolution": 2 + (n % 70) / 10}
    return {"kind": "em.ctf", "dataCollectionId": 1, "proposalId": 1, "sessionId": 1, "values": values} | {
        "createdAt": datetime.now(UTC),
        "idempotencyKey": f"k:{n}",
        "fold": fold,
        "foldSize": size,
    }


def test_a_fold_applies_once_under_two_workers_and_after_a_partial_apply(mongo_url: str) -> None:
    """Two workers fold the same batch at once, then again, after a first attempt that reached only some rollups
    (its metrics still unfolded): every rollup took the batch exactly once."""
    database = f"f{uuid.uuid4().hex[:8]}"

    async def run() -> list[str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        db = client[database]
        await db.rollups.create_index([("sessionId", 1), ("kind", 1), ("field", 1), ("hour", 1)], unique=True)
        fold = ObjectId()
        docs = [_metric(n, fold, 200) for n in range(200)]
        await db.metrics.insert_many(docs)
        first_field = [d | {"values": {"imageNumber": d["values"]["imageNumber"]}} for d in docs]
        await rollups.fold_once(db, fold, first_field)  # reached the imageNumber rollup only ...
        await db.metrics.update_many({}, {"$set": {"fold": fold, "foldSize": 200}})  # ... and died before marking them
        now = datetime.now(UTC)
        await asyncio.gather(rollups.fold_pending(db, ["k:3"], now), rollups.fold_pending(db, ["k:150"], now))
        await asyncio.gather(*(rollups.fold_once(db, fold, docs) for _ in range(2)))
        pending = await db.metrics.count_documents({"fold": {"$exists": True}})
        problems = await rollups.drift(db)
        await client.drop_database(database)
        await client.close()
        return problems + ([f"{pending} metrics left unfolded"] if pending else [])

    assert asyncio.run(run()) == []


def test_a_retry_leaves_a_batch_still_being_stored_to_its_upload_and_folds_one_stored_whole_or_old(
    mongo_url: str,
) -> None:
    """A line sent again while the upload that first stored it is still storing its batch (part of it stored)
    leaves that batch to its upload, which then folds it whole; a batch stored whole (its upload stopped before
    folding it, the store lost, say), or one started long ago even if not whole, the retry folds."""
    database = f"f{uuid.uuid4().hex[:8]}"

    async def run() -> list[str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        db = client[database]
        await db.rollups.create_index([("sessionId", 1), ("kind", 1), ("field", 1), ("hour", 1)], unique=True)
        now, problems = datetime.now(UTC), []
        storing, whole, old = ObjectId(), ObjectId(), ObjectId.from_datetime(now - timedelta(hours=1))
        batch = [_metric(n, storing, 100) for n in range(100)]
        await db.metrics.insert_many(batch[:40])  # the first command of the upload's insert
        if await rollups.fold_pending(db, ["k:0"], now - timedelta(minutes=1)):
            problems.append("a batch still being stored was folded by a retry")
        await db.metrics.insert_many(batch[40:])
        await rollups.fold_once(db, storing, batch)  # the upload's own fold, of all it stored
        await db.metrics.insert_many([_metric(n, whole, 50) for n in range(1000, 1050)])
        await db.metrics.insert_many([_metric(n, old, 60) for n in range(2000, 2050)])  # 10 never stored
        folded = await rollups.fold_pending(db, ["k:1000", "k:2000"], now - timedelta(minutes=1))
        problems += [] if folded == 100 else [f"the retry folded {folded} metrics, not 100"]
        problems += await rollups.drift(db)
        left = await db.metrics.count_documents({"$or": [{"fold": {"$exists": True}}, {"foldSize": {"$exists": True}}]})
        problems += [f"{left} metrics left marked"] if left else []
        await client.drop_database(database)
        await client.close()
        return problems

    assert asyncio.run(run()) == []


def test_a_slow_count_is_an_estimate_not_an_outage(flavour: Flavour, oidc_key: Any, mongo_url: str) -> None:
    """A count over ``ISPYB_MONGO_COUNT_TIMEOUT_MS`` gives a lower bound flagged ``totalIsEstimate`` (200), while a
    count in time is exact."""
    database = f"c{uuid.uuid4().hex[:8]}"
    now, many = datetime.now(UTC), 20_000
    metric = {"kind": "x.n", "dataCollectionId": 1, "proposalId": 1, "sessionId": 1, "values": {}, "createdAt": now}
    result = {
        "kind": "x.n",
        "program": {"name": "p"},
        "status": "success",
        "automatic": True,
        "dataCollectionIds": [1],
        "sweeps": [],
        "parameters": {},
        "data": {},
        "attachments": [],
        "proposalId": 1,
        "sessionIds": [1],
        "version": 1,
        "latest": True,
        "createdBy": {"personId": 1, "login": "x"},
        "createdAt": now,
        "updatedAt": now,
    }
    with MongoClient[dict[str, Any]](mongo_url) as raw:
        raw[database].metrics.insert_many([dict(metric) for _ in range(many)])
        raw[database].results.insert_many([result | {"series": str(i)} for i in range(many)])
    try:
        for count_ms, estimate in ((1, True), (60_000, False)):
            settings = make_settings(flavour.url, mongo_url, database, oidc_key, mongo_count_timeout_ms=count_ms)
            with TestClient(create_app(settings)) as client:
                headers = {"Authorization": _token_of(client, f"admin_{flavour.name}")}
                for path in ("/metrics", "/results"):
                    r = client.get(API + path, params={"limit": 30, "skip": 10}, headers=headers)
                    assert r.status_code == 200, r.text
                    page = r.json()
                    assert len(page["results"]) == 30 and page["totalIsEstimate"] is estimate, path
                    assert page["total"] == (40 if estimate else many), path
    finally:
        with MongoClient[dict[str, Any]](mongo_url) as raw:
            raw.drop_database(database)


def _token_of(client: TestClient, login: str) -> str:
    r = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": login})
    return f"Bearer {r.json()['token']}"


def test_batches_left_unfolded_are_folded_once_old_enough_and_once_only(mongo_url: str) -> None:
    """An upload that stored a batch and never folded it (its worker killed, no retry): the batch is folded once it
    was started longer ago than the age given, whole and once (two workers looking at once); one started since,
    which an upload may still be storing, is left to it, however old its metrics say they are."""
    database = f"u{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        db = client[database]
        try:
            await db.rollups.create_index([("sessionId", 1), ("kind", 1), ("field", 1), ("hour", 1)], unique=True)
            an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
            old, young = ObjectId.from_datetime(an_hour_ago), ObjectId()  # when each batch was started
            await db.metrics.insert_many([_metric(n, old, 120) for n in range(120)])
            await db.metrics.insert_many([_metric(n, young, 50) | {"createdAt": an_hour_ago} for n in range(120, 170)])
            ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
            looks = await asyncio.gather(*(rollups.fold_abandoned(db, ten_minutes_ago) for _ in range(2)))
            assert sorted(looks) in ([0, 120], [120, 120])  # both may find it; the rollups take it once
            assert await rollups.fold_abandoned(db, ten_minutes_ago) == 0
            assert await db.metrics.count_documents({"fold": young}) == 50
            assert await db.metrics.count_documents({"fold": old}) == 0
            assert await rollups.drift(db) != []  # the young batch is not in them yet
            await rollups.fold_once(db, young, [d async for d in db.metrics.find({"fold": young})])
            assert await rollups.drift(db) == []  # and the old one is in them exactly once
        finally:
            await client.drop_database(database)
            await client.close()

    asyncio.run(run())


def test_each_worker_looks_for_batches_left_unfolded_from_its_start(
    flavour: Flavour, oidc_key: Any, mongo_url: str
) -> None:
    """A worker started after another was killed mid-upload folds the batch that upload left out of the rollups."""
    database = f"w{uuid.uuid4().hex[:8]}"
    with MongoClient[dict[str, Any]](mongo_url, tz_aware=True) as raw:
        left = ObjectId.from_datetime(datetime.now(UTC) - timedelta(hours=1))
        raw[database].metrics.insert_many([_metric(n, left, 60) for n in range(60)])
    settings = make_settings(flavour.url, mongo_url, database, oidc_key, unfolded_metrics_seconds=600)

    async def drift() -> list[str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        try:
            return await rollups.drift(client[database])
        finally:
            await client.close()

    try:
        assert asyncio.run(drift()) != []
        with TestClient(create_app(settings)):
            for _ in range(100):
                if not asyncio.run(drift()):
                    break
                time.sleep(0.05)
            assert asyncio.run(drift()) == []
    finally:
        with MongoClient[dict[str, Any]](mongo_url) as raw:
            raw.drop_database(database)
