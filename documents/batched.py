"""Batched reads for GraphQL's document edges: the documents of many collections, series or sessions at once (one
round trip each), always within the caller's ``scope`` (``documents/scope.py``), as REST shows them."""

from collections.abc import Callable, Sequence
from math import fsum
from statistics import median
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from documents import logbook, results, rollups
from documents.indexes import RESULTS_BY_COLLECTION, hinted
from documents.scope import both
from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@guarded
async def latest_results(db: Db, scope: dict[str, Any], dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection: the latest version of every series covering it, newest first (as
    ``GET /datacollections/{id}?include=results`` lists them)."""
    wanted = set(dc_ids)
    query = both(scope, {"dataCollectionIds": {"$in": sorted(wanted)}, "latest": True})

    async def read(hint: str | None) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {dc: [] for dc in wanted}
        async for doc in db.results.find(query, hint=hint).sort([("createdAt", DESCENDING), ("_id", DESCENDING)]):
            shown = results.out(doc)
            for dc in wanted.intersection(doc["dataCollectionIds"]):
                found[dc].append(shown)
        return found

    return await hinted(RESULTS_BY_COLLECTION, read)


@guarded
async def versions(db: Db, scope: dict[str, Any], series: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per series: every version, oldest first (as ``GET /results/{id}/versions``)."""
    return await _versions(db.results, scope, "series", series, results.out)


@guarded
async def metric_summaries(db: Db, scope: dict[str, Any], dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection, per kind of its metrics: how many, and per numeric field its count, mean and median
    (``GET /datacollections/{id}?include=metrics`` asks for one), from one projected read here: on the embedded
    server that is three times faster than an ``$unwind`` pipeline."""
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
    return await _versions(db.logbook, scope, "entryId", entry_ids, logbook.out)


async def _versions(
    collection: AsyncCollection[dict[str, Any]],
    scope: dict[str, Any],
    field: str,
    keys: Sequence[str],
    out: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Per key of ``field`` (a result's series, a logbook entry's id): its documents within ``scope``, oldest
    version first, each shown by ``out``."""
    found: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    query = both(scope, {field: {"$in": sorted(found)}})
    async for doc in collection.find(query).sort([("version", ASCENDING), ("_id", ASCENDING)]):
        found[doc[field]].append(out(doc))
    return found
