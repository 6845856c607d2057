"""A session's documents for its timeline: the latest version of its logbook entries (at their ``time``, by
``entryId``) and of its results (at their ``createdAt``, by ``_id``), one page after a keyset position."""

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from documents.scope import both
from documents.store import guarded
from schemas.timeline import Position

Db = AsyncDatabase[dict[str, Any]]
#: what a timeline shows of a result: everything but its payload (data, parameters, sweeps, attachments)
RESULT_FIELDS = {"data": 0, "parameters": 0, "sweeps": 0, "attachments": 0, "idempotencyKey": 0}


def _after(time: str, id_: str, rank: int, at: Position | None, descending: bool, as_id: Any) -> dict[str, Any]:
    """The keyset filter of one collection (of ``rank``): its documents strictly after ``at`` in the page's order
    (``as_id`` turns the cursor's id into the stored one)."""
    if at is None:
        return {}
    later = {time: {"$lt" if descending else "$gt": at.time}}
    if rank == at.rank:
        beyond = {time: at.time, id_: {"$lt" if descending else "$gt": as_id(at.id)}}
        return {"$or": [later, beyond]}
    if (rank < at.rank) == descending:
        return {time: {"$lte" if descending else "$gte": at.time}}
    return later


@guarded
async def logbook(
    db: Db, scope: dict[str, Any], session_id: int, rank: int, at: Position | None, descending: bool, n: int
) -> list[dict[str, Any]]:
    """The session's first ``n`` logbook entries (latest versions, within ``scope``) after ``at``, each
    ``{"time", "rank", "id", "item"}``."""
    query = both(
        scope, {"sessionId": session_id, "latest": True} | _after("time", "entryId", rank, at, descending, str)
    )
    way = DESCENDING if descending else ASCENDING
    cursor = db.logbook.find(query, {"_id": 0}).sort([("time", way), ("entryId", way)]).limit(n)
    return [{"time": d["time"], "rank": rank, "id": d["entryId"], "item": d} async for d in cursor]


@guarded
async def results(
    db: Db, scope: dict[str, Any], session_id: int, rank: int, at: Position | None, descending: bool, n: int
) -> list[dict[str, Any]]:
    """The session's first ``n`` results (latest versions, within ``scope``, without their payload) after ``at``,
    each ``{"time", "rank", "id", "item"}``."""
    keyset = _after("createdAt", "_id", rank, at, descending, ObjectId)
    query = both(scope, {"sessionIds": session_id, "latest": True} | keyset)
    way = DESCENDING if descending else ASCENDING
    cursor = db.results.find(query, RESULT_FIELDS).sort([("createdAt", way), ("_id", way)]).limit(n)
    page = []
    async for doc in cursor:
        result_id = str(doc.pop("_id"))
        page.append({"time": doc["createdAt"], "rank": rank, "id": result_id, "item": {"resultId": result_id, **doc}})
    return page
