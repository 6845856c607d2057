"""Per-session versions of a session's documents (collection ``session_versions``, one document per session): a
new ObjectId under ``metrics`` once metrics are stored, under ``results`` once a result is stored or changes.

A worker keeps what it read of a collection's documents (its metric summaries, its latest results) under the
version it read first, so one write through any worker makes it stale at once: a new ObjectId is never one seen
before, even after the store was emptied or restored. Writers set the version after the documents (a reader in
between keeps what it read until then) and again when a retry finds them stored; a version lost to a crash in
between is healed by the keeping's time limit."""

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from time import monotonic
from typing import Any, Generic, Literal, TypeVar

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from documents.store import DURABLE, guarded

Db = AsyncDatabase[dict[str, Any]]
Part = Literal["metrics", "results"]
_V = TypeVar("_V")


@guarded
async def bump(db: Db, session_ids: Iterable[int], part: Part) -> None:
    """Give these sessions a new version of ``part``."""
    bumps = [UpdateOne({"_id": sid}, {"$set": {part: ObjectId()}}, upsert=True) for sid in sorted(set(session_ids))]
    if bumps:
        await db.session_versions.with_options(write_concern=DURABLE).bulk_write(bumps, ordered=False)


Versions = dict[Part, str]


def _versions(found: dict[str, Any] | None) -> Versions:
    found = found or {}
    return {"metrics": str(found.get("metrics", "")), "results": str(found.get("results", ""))}


@guarded
async def _read(db: Db, session_ids: list[int]) -> dict[int, Versions]:
    if len(session_ids) == 1:  # find_one: a cursor fewer
        return {session_ids[0]: _versions(await db.session_versions.find_one({"_id": session_ids[0]}))}
    found = {d["_id"]: d async for d in db.session_versions.find({"_id": {"$in": session_ids}})}
    return {sid: _versions(found.get(sid)) for sid in session_ids}


class Reader:
    """Sessions' versions as one worker reads them: a read asked for while another is in flight waits for the
    next, which reads every session then waiting in one round trip. Each read is still sent after it was asked for,
    so it sees every version set before; under load a worker makes a few round trips where it made one a request."""

    def __init__(self) -> None:
        #: the sessions asked for since the read in flight was sent, each with the future its callers await
        self._waiting: dict[int, asyncio.Future[Versions]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def current(self, db: Db, session_id: int) -> Versions:
        """A session's versions ("": nothing of that part stored yet); ``StoreUnavailable`` or ``StoreTimeout`` as
        the read raised them."""
        future = self._waiting.get(session_id)
        if future is None:
            future = self._waiting[session_id] = asyncio.get_running_loop().create_future()
            future.add_done_callback(seen)  # every caller may be cancelled
            if self._reading is None:
                self._reading = asyncio.ensure_future(self._read_waiting(db))
        return await asyncio.shield(future)  # a caller cancelled leaves the read to the others

    async def _read_waiting(self, db: Db) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    found = await _read(db, list(batch))
                except Exception as exc:  # each of its callers gets it
                    for future in batch.values():
                        future.set_exception(exc)
                    continue
                except asyncio.CancelledError:  # the worker stops
                    self._waiting |= batch
                    raise
                for sid, future in batch.items():
                    future.set_result(found[sid])
        finally:
            self._reading = None
            for future in self._waiting.values():  # only when cancelled
                future.cancel()
            self._waiting = {}


def seen(future: "asyncio.Future[Any]") -> None:
    """Mark a finished future's failure seen, for when nobody may await it (no 'never retrieved' warning)."""
    if not future.cancelled():
        future.exception()


class Kept(Generic[_V]):
    """Values per data collection kept by one worker under a version and ``ttl`` seconds at most; ``limit`` in
    all, each weighing what ``put`` says (1 unless told: a count of collections), the least recently used
    dropped first."""

    def __init__(self, ttl: float = 60.0, limit: int = 10_000) -> None:
        self.ttl, self.limit, self.weight = ttl, limit, 0
        self._kept: OrderedDict[int, tuple[float, str, int, _V]] = OrderedDict()

    def get(self, dc_id: int, version: str) -> _V | None:
        kept = self._kept.get(dc_id)
        if kept is None or kept[1] != version or kept[0] < monotonic():
            return None
        self._kept.move_to_end(dc_id)
        return kept[3]

    def put(self, dc_id: int, version: str, value: _V, weight: int = 1) -> None:
        """Keep ``value`` (nothing if it alone weighs more than a tenth of the limit)."""
        if (old := self._kept.pop(dc_id, None)) is not None:
            self.weight -= old[2]
        if weight * 10 > self.limit:
            return
        self._kept[dc_id] = (monotonic() + self.ttl, version, weight, value)
        self.weight += weight
        while self.weight > self.limit:
            self.weight -= self._kept.popitem(last=False)[1][2]
