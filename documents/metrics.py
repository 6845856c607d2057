"""Metrics (collection ``metrics``): one document per measured item, typed by kind, numbers as numbers."""

from math import fsum
from statistics import median
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from documents.store import DURABLE, count, guarded

Db = AsyncDatabase[dict[str, Any]]
DUPLICATE_KEY = 11000


def out(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in ("_id", "idempotencyKey", "fold")}
    return shown | {"metricId": str(doc["_id"])}


@guarded
async def insert(db: Db, docs: list[dict[str, Any]]) -> tuple[int, set[int], dict[int, str]]:
    """Insert a batch, unordered: (stored, positions already stored under their key, positions refused → why).
    A refused document never stops the others."""
    if not docs:
        return 0, set(), {}
    try:
        result = await db.metrics.with_options(write_concern=DURABLE).insert_many(docs, ordered=False)
        return len(result.inserted_ids), set(), {}
    except BulkWriteError as exc:
        duplicates, refused = set(), {}
        for error in exc.details.get("writeErrors", []):
            if error.get("code") == DUPLICATE_KEY:
                duplicates.add(error["index"])
            else:
                refused[error["index"]] = str(error.get("errmsg", "refused by the document store"))
        return int(exc.details.get("nInserted", 0)), duplicates, refused


@guarded
async def find(db: Db, query: dict[str, Any], skip: int, limit: int, count_ms: int) -> tuple[int, bool, list[Any]]:
    """(total, whether it is an estimate, this page) of metrics matching ``query``, in insertion order; a count
    over ``count_ms`` gives way to an estimate (see ``store.count``)."""
    cursor = db.metrics.find(query).sort("_id", ASCENDING).skip(skip).limit(limit)
    rows = [out(d) async for d in cursor]
    return *await count(db.metrics, query, count_ms, skip + len(rows)), rows


@guarded
async def summaries(db: Db, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Per kind: how many metrics, and per numeric field its count, mean and median. Computed from one projected
    read here: on the embedded server that is three times faster than an ``$unwind`` pipeline."""
    values: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, int] = {}
    async for doc in db.metrics.find(query, {"_id": 0, "kind": 1, "values": 1}):
        kind = doc["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        fields = values.setdefault(kind, {})
        for name, value in (doc.get("values") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                fields.setdefault(name, []).append(value)
    return [
        {
            "kind": kind,
            "count": counts[kind],
            "fields": {
                name: {"count": len(xs), "mean": fsum(x / len(xs) for x in xs), "median": median(xs)}
                for name, xs in sorted(fields.items())
            },
        }
        for kind, fields in sorted(values.items())
    ]


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


@guarded
async def values_of(db: Db, query: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """``createdAt`` and one field of the metrics matching ``query``."""
    return [d async for d in db.metrics.find(query, {"_id": 0, "createdAt": 1, f"values.{field}": 1})]
