"""The beamline logbook (collection ``logbook``): one document per version of an entry, never overwritten.

Stored shape (the timeline and GraphQL read it too)::

    _id: ObjectId; entryId: str (version 1's _id as 24 hex, same for all versions); version: int (1..);
    latest: bool (true on the highest version only); kind: str; beamLineName: str; proposalId: int | null;
    sessionId: int | null (null: beamline-wide); dataCollectionId, blSampleId: int | null; resultId: str | null;
    author: {"personId": int, "login": str} | {"service": str}; time: datetime (UTC, ms, when it happened);
    createdAt: datetime (UTC, when this version was stored); text: str (Markdown); tags: [str];
    attachments: [{"name", "url", "path", "contentType"}]; source: {"table": str, "id": int} (copied from SQL only)

Scope every read with ``documents.scope.logbook``. Pages go newest first by (time, _id); a cursor is the last
entry's position, opaque to clients.

Reads are pipelines whose first ``$match`` names only indexed fields, the scope and the other filters coming in a
later ``$match`` (all are conjunctions: the scope bounds the answer as if it came first). SecantusDB uses an index
only for a filter naming indexed fields alone (with the scope's ``$or`` beside, a session's page at 20,000 entries
took 0.8 s instead of 0.07 s); MongoDB moves a ``$match`` ahead of a ``$sort`` by itself. SecantusDB also sorts
without an index, so a page is read a time window at a time (see ``find``).
"""

import base64
import binascii
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from documents.scope import both
from documents.store import StoreTimeout, guarded
from schemas.errors import Conflict, InvalidInput
from schemas.logbook import EntryFilters
from schemas.times import EPOCH, as_utc, utc_now

Db = AsyncDatabase[dict[str, Any]]
Doc = dict[str, Any]
MAX_VERSION_RACES = 50
#: characters of text a page holds at most (it always holds one entry)
PAGE_TEXT_CHARS = 4_000_000
#: how far back each read of a page looks, in turn (None: everything older): from a minute (a busy session holds
#: ~2,000 entries an hour, each sorted by the store before a page's few are kept) to ~30 years
WINDOWS = (*(timedelta(minutes=16**k) for k in range(7)), None)
NEWEST_FIRST = {"time": DESCENDING, "_id": DESCENDING}
MILLISECOND = timedelta(milliseconds=1)


def out(doc: Doc) -> Doc:
    """A stored version as the API shows it."""
    return {k: v for k, v in doc.items() if k != "_id"}


def to_ms(moment: datetime) -> datetime:
    """``moment`` in UTC as the store keeps it (milliseconds), so what is answered is what is stored."""
    moment = as_utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def cursor_of(doc: Doc) -> str:
    """The opaque position after ``doc`` in a newest-first page."""
    position = [(as_utc(doc["time"]) - EPOCH) // MILLISECOND, str(doc["_id"])]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[Doc, datetime]:
    """(the filter of what comes after the position ``cursor``, its time); 422 when it is not one of ours."""
    try:
        ms, oid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if type(ms) is not int or not isinstance(oid, str):
            raise TypeError
        moment, after = EPOCH + ms * MILLISECOND, ObjectId(oid)
    except (ValueError, TypeError, OverflowError, InvalidId, binascii.Error):
        raise InvalidInput("`cursor` is not a cursor this service gave; start again without it") from None
    return {"$or": [{"time": {"$lt": moment}}, {"time": moment, "_id": {"$lt": after}}]}, moment


def _indexed(f: EntryFilters) -> Doc:
    """The part of ``f`` an index serves (``latest`` with a session or a beamline): a read's first ``$match``."""
    if f.sessionId is not None:
        return {"latest": True, "sessionId": f.sessionId}
    return {"latest": True} | ({"beamLineName": f.beamLineName} if f.beamLineName is not None else {})


def _rest(f: EntryFilters) -> Doc:
    """The rest of ``f``: the filters no index serves."""
    query: Doc = {}
    for name in ("beamLineName", "proposalId", "kind"):
        if (value := getattr(f, name)) is not None:
            query[name] = value
    if f.tag is not None:
        query["tags"] = f.tag
    if f.since is not None or f.until is not None:
        query["time"] = {op: t for op, t in (("$gte", f.since), ("$lte", f.until)) if t is not None}
    if f.text:
        query["text"] = {"$regex": re.escape(f.text), "$options": "i"}  # a literal, case-insensitive substring
    return query


def _windows(anchor: datetime, since: datetime | None) -> Iterator[Doc]:
    """Time ranges back from ``anchor``, each wider than the last, the first open above and the last below; none
    below ``since``."""
    upper: datetime | None = None
    for width in WINDOWS:
        try:
            lower = None if width is None else anchor - width
        except OverflowError:
            lower = None
        if lower is not None and since is not None and lower <= since:
            lower = None
        yield {op: t for op, t in (("$gte", lower), ("$lt", upper)) if t is not None}
        if lower is None:
            return
        upper = lower


@guarded
async def find(
    db: Db,
    scope: Doc,
    f: EntryFilters,
    *,
    cursor: str | None,
    limit: int,
    max_ms: int,
    start: datetime | None = None,
) -> tuple[list[Doc], str | None]:
    """(a page of the latest versions within ``scope`` matching ``f``, newest first; the next page's cursor). A
    page ends early once its texts hold ``PAGE_TEXT_CHARS`` (10,000 entries of 100 kB would be a 1 GB answer).

    The page is read a time window at a time (``WINDOWS``, back from the cursor, or from ``start``, or from now;
    the first window also holds everything later), so the store sorts the entries of a few minutes or days rather
    than all of them; the windows' reads share ``max_ms``. A session's first page starts best at its end."""
    rest = both(scope, _rest(f))
    anchor = start or utc_now()
    if cursor is not None:
        after, anchor = _after(cursor)
        rest = {"$and": [rest, after]} if rest else after
    deadline = monotonic() + max_ms / 1000
    page: list[Doc] = []
    chars = 0
    for window in _windows(anchor, f.since):
        left_ms = int((deadline - monotonic()) * 1000)
        if left_ms <= 0:
            raise StoreTimeout()
        first = _indexed(f) | ({"time": window} if window else {})
        stages: list[Doc] = [{"$match": first}, {"$sort": NEWEST_FIRST}, {"$match": rest}, {"$limit": limit + 1}]
        found = await db.logbook.aggregate(stages, maxTimeMS=left_ms)
        try:
            async for doc in found:
                if len(page) == limit or (page and chars + len(doc["text"]) > PAGE_TEXT_CHARS):
                    return [out(d) for d in page], cursor_of(page[-1])
                page.append(doc)
                chars += len(doc["text"])
        finally:
            await found.close()
    return [out(d) for d in page], None


@guarded
async def versions(db: Db, scope: Doc, entry_id: str) -> list[Doc]:
    """Every version of an entry within ``scope``, oldest first (none: no such entry, or out of reach)."""
    stages: list[Doc] = [{"$match": {"entryId": entry_id}}, {"$match": scope}, {"$sort": {"version": ASCENDING}}]
    return [out(d) async for d in await db.logbook.aggregate(stages)]


@guarded
async def insert_first(db: Db, entry: Doc) -> Doc | None:
    """Store version 1 of a new entry; None when its ``source`` row was copied already (by a concurrent run)."""
    oid = ObjectId()
    doc = entry | {"_id": oid, "entryId": str(oid), "version": 1, "latest": True, "createdAt": to_ms(utc_now())}
    try:
        await db.logbook.insert_one(doc)
    except DuplicateKeyError:
        if "source" in entry:
            return None
        raise
    return out(doc)


@guarded
async def add_version(db: Db, entry_id: str, changes: Doc, author: Doc, *, retry: bool = True) -> Doc | None:
    """Store version N+1 of an entry: its latest version with ``changes``, by ``author``. A concurrent corrector
    gets the next number (the unique entryId+version index refuses a second N+1), so no version is lost; the
    versions below the new one then stop being ``latest``. Without ``retry``, a writer who meets another one
    gives way instead (None): a copy of an SQL row does not write the same change twice."""
    for _ in range(MAX_VERSION_RACES):
        last = await db.logbook.find_one({"entryId": entry_id}, sort=[("version", DESCENDING)])
        if last is None:
            raise Conflict(f"Logbook entry {entry_id} has no version to correct")
        doc = last | changes | {"_id": ObjectId(), "version": last["version"] + 1, "latest": True, "author": author}
        doc["createdAt"] = to_ms(utc_now())
        try:
            await db.logbook.insert_one(doc)
        except DuplicateKeyError:
            if not retry:
                return None
            continue  # another corrector took this number: build on theirs
        await db.logbook.update_many(
            {"entryId": entry_id, "version": {"$lt": doc["version"]}, "latest": True}, {"$set": {"latest": False}}
        )
        return out(doc)
    raise Conflict(f"Too many concurrent corrections of logbook entry {entry_id}; retry")


@guarded
async def copied(db: Db, table: str, ids: list[int], service: str) -> dict[int, Doc]:
    """Per row id of ``table`` among ``ids``: the highest version ``service`` wrote of the entry copied from it."""
    stages: list[Doc] = [
        {"$match": {"source.table": table, "source.id": {"$in": ids}}},
        {"$match": {"author.service": service}},
        {"$sort": {"version": ASCENDING}},
    ]
    return {doc["source"]["id"]: doc async for doc in await db.logbook.aggregate(stages)}
