"""A session's documents for its timeline: the latest version of its logbook entries (at their ``time``, by
``entryId``) and of its results (at their ``createdAt``, by ``_id``), one page after a keyset position.

Scope: ``documents/scope.one_session`` for the session and its proposal, a flat equality that the store plans with
an index (``session_scope_time`` and ``session_created``, which name exactly the fields these reads filter on:
SecantusDB uses an index only then), where the ``$or`` of ``within`` makes it scan the collection.

Pages are read in time slices: SecantusDB sorts every document a filter matches before it applies the limit, so a
filter over a whole session of 10^5 entries costs seconds, and one over an hour of it milliseconds. A page reads
the instant of the cursor, then slices further and further from it (1 min, then each slice twice as long, 16 times
after an empty one) until it has enough, and past ~15 years everything left. A first page starts from the
session's end (or now, if it has not ended), oldest first from its start: see ``first_edge``.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from documents.store import guarded
from schemas.timeline import Position
from schemas.times import utc_now

Db = AsyncDatabase[dict[str, Any]]
#: what a timeline shows of a result: everything but its payload (data, parameters, sweeps, attachments)
RESULT_FIELDS = {
    "data": 0,
    "parameters": 0,
    "sweeps": 0,
    "attachments": 0,
    "idempotencyKey": 0,
    "idempotencyRequest": 0,
}
FIRST_SLICE = timedelta(minutes=1)
WIDEST_SLICE = timedelta(hours=2**17)
#: how much longer the slice after an empty one is (after one with documents: twice as long)
EMPTY_GROWTH = 16


class _Source:
    """One collection's documents of a session, in a page's order."""

    def __init__(
        self, collection: AsyncCollection[dict[str, Any]], match: dict[str, Any], time: str, id_: str, descending: bool
    ) -> None:
        self.collection, self.match, self.time, self.id = collection, match, time, id_
        self.descending = descending
        way = DESCENDING if descending else ASCENDING
        self.order = [(time, way), (id_, way)]

    async def read(self, where: dict[str, Any], n: int, fields: dict[str, int] | None) -> list[dict[str, Any]]:
        """The first ``n`` matching documents (0: all) in the page's order."""
        cursor = self.collection.find(self.match | where, fields).sort(self.order).limit(n)
        return [d async for d in cursor]

    async def page(
        self, rank: int, at: Position | None, n: int, as_id: Callable[[Any], Any], fields: dict[str, int], edge: Any
    ) -> list[dict[str, Any]]:
        """The first ``n`` documents strictly after ``at`` (its rank ``rank``) in the page's order; without ``at``,
        slices start at ``edge`` (None: one read of everything)."""
        # ``before``: strictly past a bound towards the cursor; ``after``: up to a far bound, itself included
        before, after = ("$lt", "$gte") if self.descending else ("$gt", "$lte")
        found: list[dict[str, Any]] = []
        if at is not None and (rank == at.rank or (rank < at.rank) == self.descending):
            # the cursor's instant: its events ranked after the cursor (the ids compared here: a filter on a field
            # outside the index makes the store scan the collection)
            found = await self.read({self.time: at.time}, 0, fields)
            if rank == at.rank:
                cut = as_id(at.id)
                found = [d for d in found if (d[self.id] < cut if self.descending else d[self.id] > cut)]
            found = found[:n]
        edge = at.time if at is not None else edge
        near, width = edge if at is not None else None, FIRST_SLICE  # a slice's bound towards the cursor (None: open)
        while len(found) < n:
            far = _shifted(edge, width, self.descending) if edge is not None and width <= WIDEST_SLICE else None
            bounds = ({before: near} if near is not None else {}) | ({after: far} if far is not None else {})
            read = await self.read({self.time: bounds} if bounds else {}, n - len(found), fields)
            if far is None:
                return found + read
            found += read
            near, width = far, width * (2 if read else EMPTY_GROWTH)
        return found


def _shifted(edge: datetime, width: timedelta, descending: bool) -> datetime | None:
    try:
        return edge - width if descending else edge + width
    except OverflowError:
        return None


def first_edge(descending: bool, start: datetime | None, end: datetime | None) -> datetime | None:
    """Where a first page's slices start for a session running from ``start`` to ``end`` (UTC): newest first, at
    its end, or now if it has not ended (the first slice also holds everything later); oldest first, at its start
    (the first slice also holds everything earlier). Its documents lie mostly between the two."""
    if descending:
        now = utc_now()
        return now if end is None or end > now else end
    return start


@guarded
async def logbook(
    db: Db, scope: dict[str, Any], rank: int, at: Position | None, descending: bool, n: int, edge: datetime | None
) -> list[Any]:
    """The session's first ``n`` logbook entries (latest versions) after ``at`` (none: from ``edge``, see
    ``first_edge``), each ``{"time", "rank", "id", "item"}``; ``scope``: ``one_session``'s filter of the session
    (field ``sessionId``)."""
    source = _Source(db.logbook, scope | {"latest": True}, "time", "entryId", descending)
    docs = await source.page(rank, at, n, str, {"_id": 0}, edge)
    return [{"time": d["time"], "rank": rank, "id": d["entryId"], "item": d} for d in docs]


@guarded
async def results(
    db: Db, scope: dict[str, Any], rank: int, at: Position | None, descending: bool, n: int, edge: datetime | None
) -> list[Any]:
    """The session's first ``n`` results (latest versions, without their payload) after ``at`` (none: from
    ``edge``), each ``{"time", "rank", "id", "item"}``; ``scope``: ``one_session``'s filter of the session (field
    ``sessionIds``)."""
    source = _Source(db.results, scope | {"latest": True}, "createdAt", "_id", descending)
    page = []
    for doc in await source.page(rank, at, n, ObjectId, RESULT_FIELDS, edge):
        result_id = str(doc.pop("_id"))
        page.append({"time": doc["createdAt"], "rank": rank, "id": result_id, "item": {"resultId": result_id, **doc}})
    return page
