"""Metrics (collection ``metrics``): one document per measured item, typed by kind, numbers as numbers."""

from collections import OrderedDict
from collections.abc import Sequence
from copy import deepcopy
from time import monotonic
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from documents import batched
from documents.scope import given
from documents.store import DURABLE, count, guarded

Db = AsyncDatabase[dict[str, Any]]
Range = tuple[str, float | None, float | None]  #: a ``values`` field and its bounds (inclusive; None: open)
DUPLICATE_KEY = 11000


def out(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in ("_id", "idempotencyKey", "fold")}
    return shown | {"metricId": str(doc["_id"])}


@guarded
async def insert(db: Db, docs: list[dict[str, Any]]) -> tuple[int, set[int], dict[int, str]]:
    """Insert a batch, unordered: (stored, positions already stored under their key, positions refused → why).
    A refused document never stops the others. Then the batch's sessions are marked changed (``changed``)."""
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
    await changed(db, {d["sessionId"] for d in docs if d.get("sessionId") is not None})
    return stored, duplicates, refused


async def changed(db: Db, session_ids: set[int]) -> None:
    """Give these sessions a new metric version (``metric_versions``, one document per session; a new ObjectId,
    so never one seen before, even after the store was emptied or restored): a summary kept by any worker for one
    of their collections is stale from then on. Set after the metrics are stored (a reader between the two keeps
    its summary until then), and again when a retried upload finds them."""
    if session_ids:
        bumps = [UpdateOne({"_id": sid}, {"$set": {"v": ObjectId()}}, upsert=True) for sid in sorted(session_ids)]
        await db.metric_versions.with_options(write_concern=DURABLE).bulk_write(bumps, ordered=False)


@guarded
async def version(db: Db, session_id: int) -> str:
    """The metric version of a session ("": no metric stored yet)."""
    found = await db.metric_versions.find_one({"_id": session_id})
    return str(found["v"]) if found else ""


class SummaryCache:
    """Per-kind metric summaries of collections, kept by one worker under their session's metric version (so any
    worker's ingest makes them stale at once) and ``ttl`` seconds at most (a bump lost to a crash between storing
    and bumping heals then); ``size`` collections at most, the least recently used dropped first."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._kept: OrderedDict[int, tuple[float, str, list[dict[str, Any]]]] = OrderedDict()

    def get(self, dc_id: int, version: str) -> list[dict[str, Any]] | None:
        kept = self._kept.get(dc_id)
        if kept is None or kept[1] != version or kept[0] < monotonic():
            return None
        self._kept.move_to_end(dc_id)
        return kept[2]

    def put(self, dc_id: int, version: str, summaries: list[dict[str, Any]]) -> None:
        self._kept[dc_id] = (monotonic() + self.ttl, version, summaries)
        self._kept.move_to_end(dc_id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


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
async def summaries(
    db: Db, dc_id: int, session_id: int, cache: SummaryCache, current: str | None = None
) -> list[dict[str, Any]]:
    """Per kind of a data collection's metrics: how many, and per numeric field its count, mean and median
    (``batched.metric_summaries`` of the one collection, whose reach the caller's SQL read has checked), from
    ``cache`` while its session's metric version (``current``, read here if not given) holds: no read of the
    metrics themselves."""
    if current is None:
        current = await version(db, session_id)
    kept = cache.get(dc_id, current)
    if kept is None:
        kept = (await batched.metric_summaries(db, {}, [dc_id]))[dc_id]
        cache.put(dc_id, current, kept)
    return deepcopy(kept)


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
