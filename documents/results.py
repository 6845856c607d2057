"""Results of any shape (collection ``results``): versioned series, idempotent writes, ``$set`` progress.

A result covers one or more data collections and carries the owning ``proposalId`` and ``sessionIds``
(denormalised at write time, so reads are scoped without SQL). Re-running the same kind and program over the
same collections adds version N+1 of that series; nothing is overwritten.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

from bson import ObjectId, decode
from bson.errors import InvalidId
from bson.raw_bson import RawBSONDocument
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from documents.idempotency import digest
from documents.indexes import RESULTS_BY_COLLECTION, hinted
from documents.scope import both, given
from documents.store import count, guarded
from documents.versions import Kept, bump
from schemas.errors import Conflict, InvalidInput
from schemas.results import ResultCreate, ResultPatch, Status
from schemas.times import utc_now

Db = AsyncDatabase[dict[str, Any]]
MAX_VERSION_RACES = 50
#: the latest results of collections as stored, kept by a worker under their session's result version (bytes)
Latest = Kept[tuple[bytes, ...]]


def series_of(kind: str, program: str, dc_ids: Sequence[int]) -> str:
    """The series a result belongs to: its kind and program over its (unordered) data collections."""
    key = f"{kind}|{program}|{','.join(str(i) for i in sorted(set(dc_ids)))}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def out(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the API shows it."""
    shown = {k: v for k, v in doc.items() if k not in ("_id", "idempotencyKey", "idempotencyRequest")}
    return shown | {"resultId": str(doc["_id"])}


def object_id(text: str) -> ObjectId | None:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        return None


@guarded
async def create(
    db: Db,
    data: ResultCreate,
    *,
    proposal_id: int,
    session_ids: list[int],
    author: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[dict[str, Any], bool]:
    """(the result, whether it is new). A key already used by this caller returns the first result instead, if it
    was this same result (``InvalidInput`` otherwise)."""
    key = idempotency_key or data.runId
    stored_key = f"{author['personId']}:{key}" if key else None
    request = digest(data.model_dump(mode="json"))
    named_by = "header" if idempotency_key else "runId"
    if stored_key and (first := await db.results.find_one({"idempotencyKey": stored_key})):
        return await _replayed(db, first, request, named_by)
    series = series_of(data.kind, data.program.name, data.dataCollectionIds)
    now = utc_now()
    body = data.model_dump(mode="json", exclude={"runId"})
    for _ in range(MAX_VERSION_RACES):
        last = await db.results.find_one({"series": series}, {"version": 1}, sort=[("version", DESCENDING)])
        version = (last["version"] if last else 0) + 1
        doc = body | {
            "dataCollectionIds": sorted(set(data.dataCollectionIds)),
            "proposalId": proposal_id,
            "sessionIds": sorted(set(session_ids)),
            "series": series,
            "version": version,
            "latest": True,
            "runId": data.runId,
            "createdBy": author,
            "createdAt": now,
            "updatedAt": now,
        }
        if stored_key:
            doc |= {"idempotencyKey": stored_key, "idempotencyRequest": request}
        try:
            await db.results.insert_one(doc)
        except DuplicateKeyError as exc:
            if "idempotencyKey" in (exc.details or {}).get("keyPattern", {}):
                first = await db.results.find_one({"idempotencyKey": stored_key})
                assert first is not None
                return await _replayed(db, first, request, named_by)
            continue  # another writer took this version number: take the next
        await db.results.update_many({"series": series, "version": {"$lt": version}}, {"$set": {"latest": False}})
        await bump(db, doc["sessionIds"], "results")
        doc["latest"] = True
        return out(doc), True
    raise Conflict("Too many concurrent versions of this result; retry")


async def _replayed(db: Db, first: dict[str, Any], request: str, named_by: str) -> tuple[dict[str, Any], bool]:
    """The first result stored under a key, for a retry of the same request (``named_by``: the ``header`` or the
    ``runId`` that named the key); a different result under it is refused, never silently dropped."""
    if first.get("idempotencyRequest", request) != request:
        name, loc = (
            ("Idempotency-Key", ["header", "Idempotency-Key"]) if named_by == "header" else ("runId", ["body", "runId"])
        )
        raise InvalidInput(
            f"This {name} was used for another result; use a new one",
            errors=[{"loc": loc, "msg": "used for another result", "type": "value_error"}],
        )
    await bump(db, first["sessionIds"], "results")  # set again: the first write may have stopped short
    return out(first), False


@guarded
async def find(
    db: Db,
    scope: dict[str, Any],
    *,
    dc_id: int | None = None,
    session_id: int | None = None,
    kind: str | None = None,
    program: str | None = None,
    status: Status | None = None,
    all_versions: bool = False,
    skip: int,
    limit: int,
    count_ms: int,
) -> tuple[int, bool, list[Any]]:
    """(total, whether it is an estimate, this page) of the results within the caller's ``scope`` that match the
    filters given (the latest version of each series unless ``all_versions``), newest first; a count over
    ``count_ms`` gives way to an estimate (see ``store.count``)."""
    wanted = {
        "dataCollectionIds": dc_id,
        "sessionIds": session_id,
        "kind": kind,
        "program.name": program,
        "status": status.value if status else None,
        "latest": None if all_versions else True,
    }
    query = given(scope, wanted)
    cursor = db.results.find(query).sort([("createdAt", DESCENDING), ("_id", DESCENDING)]).skip(skip).limit(limit)
    rows = [out(d) async for d in cursor]
    return *await count(db.results, query, count_ms, skip + len(rows)), rows


@guarded
async def get(db: Db, result_id: str, scope: dict[str, Any]) -> dict[str, Any] | None:
    """One result within the caller's ``scope`` (``documents/scope.py``)."""
    oid = object_id(result_id)
    if oid is None:
        return None
    doc = await db.results.find_one(both(scope, {"_id": oid}))
    return None if doc is None else out(doc)


@guarded
async def collections_of(db: Db, result_ids: Sequence[str]) -> dict[str, list[int]]:
    """resultId → its data collections, for those of ``result_ids`` that exist (any proposal: callers check)."""
    oids = [oid for text in result_ids if (oid := object_id(text))]
    cursor = db.results.find({"_id": {"$in": oids}}, {"dataCollectionIds": 1})
    return {str(d["_id"]): d["dataCollectionIds"] async for d in cursor}


@guarded
async def versions(db: Db, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every version of a result's series, oldest first."""
    cursor = db.results.find({"series": result["series"], "proposalId": result["proposalId"]}).sort("version", 1)
    return [out(d) async for d in cursor]


@guarded
async def update(db: Db, result: dict[str, Any], patch: ResultPatch) -> dict[str, Any]:
    """Progress of a running result with ``$set``/``$push`` (never a rewrite); 409 once it has finished."""
    changes: dict[str, Any] = {"updatedAt": utc_now()}
    if patch.status is not None:
        changes["status"] = patch.status.value
    changes |= {f"data.{key}": value for key, value in patch.data.items()}
    update: dict[str, Any] = {"$set": changes}
    if patch.attachments:
        update["$push"] = {"attachments": {"$each": [a.model_dump() for a in patch.attachments]}}
    doc = await db.results.find_one_and_update(
        {"_id": ObjectId(result["resultId"]), "status": Status.running.value}, update, return_document=True
    )
    if doc is None:
        raise Conflict(f"Result {result['resultId']} has finished ({result['status']}); it no longer changes")
    await bump(db, doc["sessionIds"], "results")
    return out(doc)


@guarded
async def latest(db: Db, dc_id: int, kept: Latest, version: str) -> list[dict[str, Any]]:
    """The latest version of every series covering a data collection, newest first, from ``kept`` while its
    session's result ``version`` holds (kept as stored, weighed by size; each read decodes its own copy)."""
    stored = kept.get(dc_id, version)
    if stored is None:
        query = {"dataCollectionIds": dc_id, "latest": True}
        raw = db.results.with_options(codec_options=db.codec_options.with_options(document_class=RawBSONDocument))

        async def read(hint: str | None) -> tuple[bytes, ...]:
            return tuple([d.raw async for d in raw.find(query, hint=hint).sort("createdAt", DESCENDING)])

        stored = await hinted(RESULTS_BY_COLLECTION, read)
        kept.put(dc_id, version, stored, sum(map(len, stored)))
    return [out(decode(doc, db.codec_options)) for doc in stored]


@guarded
async def kinds_by_collection(db: Db, session_id: int) -> dict[int, dict[str, Any]]:
    """For a session: per data collection, per kind, the status of its latest results (by program)."""
    out_: dict[int, dict[str, Any]] = {}
    cursor = db.results.find(
        {"sessionIds": session_id, "latest": True}, {"dataCollectionIds": 1, "kind": 1, "program": 1, "status": 1}
    )
    async for doc in cursor:
        for dc in doc["dataCollectionIds"]:
            out_.setdefault(dc, {}).setdefault(doc["kind"], {})[doc["program"]["name"]] = doc["status"]
    return out_


@guarded
async def latest_for_collections(db: Db, dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection: the latest version of every series covering it."""
    query = {"dataCollectionIds": {"$in": list(dc_ids)}, "latest": True}

    async def read(hint: str | None) -> dict[int, list[dict[str, Any]]]:
        out_: dict[int, list[dict[str, Any]]] = {}
        async for doc in db.results.find(query, hint=hint).sort("createdAt", 1):
            shown = out(doc)
            for dc in doc["dataCollectionIds"]:
                if dc in dc_ids:
                    out_.setdefault(dc, []).append(shown)
        return out_

    return await hinted(RESULTS_BY_COLLECTION, read)
