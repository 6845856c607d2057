"""Metrics (collection ``metrics``): one document per measured item, typed by kind, numbers as numbers."""

from collections.abc import Sequence
from copy import deepcopy
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from documents import batched, versions
from documents.scope import given
from documents.store import DURABLE, count, guarded

Db = AsyncDatabase[dict[str, Any]]
Range = tuple[str, float | None, float | None]  #: a ``values`` field and its bounds (inclusive; None: open)
DUPLICATE_KEY = 11000
#: per-kind metric summaries of collections, kept by a worker under their session's metric version
Summaries = versions.Kept[list[dict[str, Any]]]


#: what a stored metric carries that is not shown: its keys and the rollups' marks
HIDDEN = ("_id", "idempotencyKey", "idempotencyRequest", "fold", "foldSize")


def out(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in HIDDEN}
    return shown | {"metricId": str(doc["_id"])}


@guarded
async def insert(db: Db, docs: list[dict[str, Any]]) -> tuple[int, set[int], dict[int, str]]:
    """Insert a batch, unordered: (stored, positions already stored under their key, positions refused → why).
    A refused document never stops the others. Then the batch's sessions get a new metric version, after the
    metrics (``versions``), so every worker's summaries of their collections are stale; a retried batch, which finds
    its metrics stored, sets it again."""
    if not docs:
        return 0, set(), {}
    duplicates: set[int] = set()
    refused: dict[int, str] = {}
    try:
        result = await db.metrics.with_options(write_concern=DURABLE).insert_many(docs, ordered=False)
        stored = len(result.inserted_ids)
    except BulkWriteError as exc:
        stored = int(exc.details.get("nInserted", 0))
        for error in exc.details.get("writeErrors", []):
            if error.get("code") == DUPLICATE_KEY:
                duplicates.add(error["index"])
            else:
                refused[error["index"]] = str(error.get("errmsg", "refused by the document store"))
    await versions.bump(db, (d["sessionId"] for d in docs if d.get("sessionId") is not None), "metrics")
    return stored, duplicates, refused


@guarded
async def requests_of(db: Db, keys: list[str]) -> dict[str, str]:
    """The digests of the lines stored under these idempotency keys (of those stored with one)."""
    found = db.metrics.find({"idempotencyKey": {"$in": keys}}, {"_id": 0, "idempotencyKey": 1, "idempotencyRequest": 1})
    return {d["idempotencyKey"]: d["idempotencyRequest"] async for d in found if "idempotencyRequest" in d}


@guarded
async def find(
    db: Db,
    scope: dict[str, Any],
    *,
    dc_id: int | None = None,
    session_id: int | None = None,
    kind: str | None = None,
    result_id: str | None = None,
    ranges: Sequence[Range] = (),
    skip: int,
    limit: int,
    count_ms: int,
) -> tuple[int, bool, list[Any]]:
    """(total, whether it is an estimate, this page) of the metrics within the caller's ``scope`` that match the
    filters given, in insertion order; each range keeps the metrics whose ``values`` field lies within its bounds
    (or has the field, without bounds). A count over ``count_ms`` gives way to an estimate (see ``store.count``)."""
    wanted: dict[str, Any] = {"dataCollectionId": dc_id, "sessionId": session_id, "kind": kind, "resultId": result_id}
    for field, low, high in ranges:
        bounds = {op: v for op, v in (("$gte", low), ("$lte", high)) if v is not None}
        wanted[f"values.{field}"] = bounds or {"$exists": True}
    query = given(scope, wanted)
    cursor = db.metrics.find(query).sort("_id", ASCENDING).skip(skip).limit(limit)
    rows = [out(d) async for d in cursor]
    return *await count(db.metrics, query, count_ms, skip + len(rows)), rows


@guarded
async def summaries(db: Db, dc_id: int, kept: Summaries, version: str) -> list[dict[str, Any]]:
    """Per kind of a data collection's metrics: how many, and per numeric field its count, mean and median
    (``batched.metric_summaries`` of the one collection, whose reach the caller's SQL read has checked), from
    ``kept`` while its session's metric ``version`` holds: no read of the metrics themselves."""
    found = kept.get(dc_id, version)
    if found is None:
        found = (await batched.metric_summaries(db, {}, [dc_id]))[dc_id]
        kept.put(dc_id, version, found)
    return deepcopy(found)


@guarded
async def counts_by_collection(db: Db, session_id: int) -> dict[int, dict[str, int]]:
    """For a session: per data collection, how many metrics of each kind."""
    pipeline: list[dict[str, Any]] = [
        {"$match": {"sessionId": session_id}},
        {"$group": {"_id": {"dc": "$dataCollectionId", "kind": "$kind"}, "count": {"$sum": 1}}},
    ]
    counts: dict[int, dict[str, int]] = {}
    async for row in await db.metrics.aggregate(pipeline):
        counts.setdefault(row["_id"]["dc"], {})[row["_id"]["kind"]] = row["count"]
    return counts
