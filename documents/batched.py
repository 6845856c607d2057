"""Batched reads for GraphQL's document edges: the documents of many collections, series or sessions at once (one
round trip each), always within the caller's ``scope`` (``documents/scope.py``), as REST shows them."""

from collections.abc import Sequence
from math import fsum
from statistics import median
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from documents import logbook, results, rollups
from documents.scope import both
from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@guarded
async def latest_results(db: Db, scope: dict[str, Any], dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection: the latest version of every series covering it, newest first (as
    ``GET /datacollections/{id}?include=results`` lists them)."""
    wanted = set(dc_ids)
    query = both(scope, {"dataCollectionIds": {"$in": sorted(wanted)}, "latest": True})
    found: dict[int, list[dict[str, Any]]] = {dc: [] for dc in wanted}
    async for doc in db.results.find(query).sort([("createdAt", DESCENDING), ("_id", DESCENDING)]):
        shown = results.out(doc)
        for dc in wanted.intersection(doc["dataCollectionIds"]):
            found[dc].append(shown)
    return found


@guarded
async def versions(db: Db, scope: dict[str, Any], series: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per series: every version, oldest first (as ``GET /results/{id}/versions``)."""
    found: dict[str, list[dict[str, Any]]] = {s: [] for s in series}
    query = both(scope, {"series": {"$in": sorted(found)}})
    async for doc in db.results.find(query).sort([("version", ASCENDING), ("_id", ASCENDING)]):
        found[doc["series"]].append(results.out(doc))
    return found


@guarded
async def metric_summaries(db: Db, scope: dict[str, Any], dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection, per kind of its metrics: how many, and per numeric field its count, mean and median
    (as ``GET /datacollections/{id}?include=metrics``), from one projected read."""
    values: dict[int, dict[str, dict[str, list[float]]]] = {dc: {} for dc in dc_ids}
    counts: dict[tuple[int, str], int] = {}
    query = both(scope, {"dataCollectionId": {"$in": sorted(values)}})
    projection = {"_id": 0, "dataCollectionId": 1, "kind": 1, "values": 1}
    async for doc in db.metrics.find(query, projection):
        dc, kind = doc["dataCollectionId"], doc["kind"]
        counts[dc, kind] = counts.get((dc, kind), 0) + 1
        fields = values[dc].setdefault(kind, {})
        for name, value in (doc.get("values") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                fields.setdefault(name, []).append(value)
    return {
        dc: [
            {
                "kind": kind,
                "count": counts[dc, kind],
                "fields": {
                    name: {"count": len(xs), "mean": fsum(x / len(xs) for x in xs), "median": median(xs)}
                    for name, xs in sorted(fields.items())
                },
            }
            for kind, fields in sorted(kinds.items())
        ]
        for dc, kinds in values.items()
    }


async def session_rollups(
    db: Db, scope: dict[str, Any], session_ids: Sequence[int], kinds: Sequence[str]
) -> list[dict[str, Any]]:
    """The rollups of ``kinds`` in these sessions, by hour."""
    query = {"sessionId": {"$in": sorted(set(session_ids))}, "kind": {"$in": sorted(set(kinds))}}
    return await rollups.read(db, both(scope, query))


@guarded
async def logbook_versions(db: Db, scope: dict[str, Any], entry_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per entry within ``scope``: every version, oldest first (none: no such entry, or out of reach)."""
    found: dict[str, list[dict[str, Any]]] = {e: [] for e in entry_ids}
    query = both(scope, {"entryId": {"$in": sorted(found)}})
    async for doc in db.logbook.find(query).sort([("version", ASCENDING), ("_id", ASCENDING)]):
        found[doc["entryId"]].append(logbook.out(doc))
    return found
