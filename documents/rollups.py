"""Rollups: per session, kind, field and hour, the count, sum, min, max and a fixed-bin histogram of a metric
field, kept up to date at ingest with ``$inc``/``$min``/``$max`` (atomic, so concurrent ingest stays exact).

Histograms, summaries and hourly or daily time series then read a few rollup documents instead of every metric;
their cost follows the number of hours and bins, not the number of metrics. Bins are fixed per field (the kind's
``bins: {origin, width}``): bin ``k`` holds values in ``[origin + k·width, origin + (k+1)·width)``. Quantiles are
read at bin resolution (the upper edge of the bin holding the nearest-rank value). ``rebuild`` recomputes
rollups from the raw metrics, and ``drift`` compares the two.

Ingest folds each stored batch exactly once, even when the store dies half-way: the batch's metrics carry its
``fold`` id until they are folded, and each rollup document records the folds it took (``folds``) and takes a
fold only if it has not (``$ne`` in the update's filter). Folding a batch again (a retried upload after a crash,
or a second worker) then changes only the rollups it had not reached. So a batch is folded only whole: by its own
upload, or by another once all of it is stored (its metrics carry the batch's size, ``foldSize``, with its fold) or
once it was started so long ago that no upload can still be storing it.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from documents.indexes import UNFOLDED, hinted
from documents.kinds import bins_of, builtin, get_kind
from documents.store import DURABLE, guarded
from schemas.times import as_utc

Db = AsyncDatabase[dict[str, Any]]
Key = tuple[int, int, str, str, datetime]  # sessionId, proposalId, kind, field, hour
Bins = dict[str, dict[str, tuple[float, float]]]  # kind → field → (origin, width)
DUPLICATE_KEY = 11000
FOLD_RACES = 20
PROJECTION = {"kind": 1, "values": 1, "sessionId": 1, "proposalId": 1, "createdAt": 1}
#: what a folded metric no longer carries: its batch's fold id and size
UNMARK = {"fold": "", "foldSize": ""}


def bin_index(value: float, origin: float, width: float) -> int:
    return math.floor((value - origin) / width + 1e-9)


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in (naive moments are UTC)."""
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def fold(sums: dict[Any, dict[str, Any]], key: Any, value: float, origin: float, width: float) -> None:
    """Add one value to the sums kept under ``key`` (count, sum, min, max, bins)."""
    acc = sums.setdefault(key, {"count": 0, "sum": 0.0, "min": value, "max": value, "bins": defaultdict(int)})
    acc["count"] += 1
    acc["sum"] += value
    acc["min"], acc["max"] = min(acc["min"], value), max(acc["max"], value)
    acc["bins"][str(bin_index(value, origin, width))] += 1


def accumulate(docs: Iterable[dict[str, Any]], bins: Bins) -> dict[Key, dict[str, Any]]:
    """Sums per rollup key over metric documents (``bins``: kind → field → (origin, width))."""
    sums: dict[Key, dict[str, Any]] = {}
    for doc in docs:
        fields = bins.get(doc["kind"])
        if not fields or doc.get("sessionId") is None:
            continue
        for name, value in (doc.get("values") or {}).items():
            if name not in fields or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            key = (doc["sessionId"], doc["proposalId"], doc["kind"], name, hour_of(doc["createdAt"]))
            fold(sums, key, value, *fields[name])
    return sums


def _where(key: Key) -> dict[str, Any]:
    session, _proposal, kind, field, hour = key
    return {"sessionId": session, "kind": kind, "field": field, "hour": hour}


def _update(key: Key, acc: dict[str, Any], fold: ObjectId | None = None) -> UpdateOne:
    """The rollup update adding ``acc``; with ``fold``, only if the rollup has not taken that fold yet."""
    change: dict[str, Any] = {
        "$setOnInsert": {"proposalId": key[1]},
        "$inc": {"count": acc["count"], "sum": acc["sum"]} | {f"bins.{k}": n for k, n in acc["bins"].items()},
        "$min": {"min": acc["min"]},
        "$max": {"max": acc["max"]},
    }
    if fold is None:
        return UpdateOne(_where(key), change, upsert=True)
    return UpdateOne(_where(key) | {"folds": {"$ne": fold}}, change | {"$push": {"folds": fold}}, upsert=True)


def _updates(sums: dict[Key, dict[str, Any]]) -> list[UpdateOne]:
    return [_update(key, acc) for key, acc in sums.items()]


@guarded
async def add(db: Db, docs: list[dict[str, Any]]) -> None:
    """Fold newly stored metrics into the rollups (built-in kinds and registered kinds with bins)."""
    if ops := _updates(accumulate(docs, await _bins(db, (d["kind"] for d in docs)))):
        await db.rollups.bulk_write(ops, ordered=False)


def new_fold() -> ObjectId:
    """A new batch's fold id (its metrics carry it until folded)."""
    return ObjectId()


@guarded
async def fold_once(db: Db, fold: ObjectId, docs: list[dict[str, Any]]) -> None:
    """Fold stored metrics (all of one batch, carrying ``fold``) into the rollups, each rollup at most once, then
    mark them folded (drop their ``fold``). Safe to repeat, and to run from two workers at once."""
    sums = accumulate(docs, await _bins(db, (d["kind"] for d in docs)))
    pending = list(sums)
    for _ in range(FOLD_RACES):
        if not pending:
            break
        try:
            await db.rollups.with_options(write_concern=DURABLE).bulk_write(
                [_update(k, sums[k], fold) for k in pending], ordered=False
            )
            pending = []
        except BulkWriteError as exc:
            raced = [pending[e["index"]] for e in exc.details["writeErrors"] if e.get("code") == DUPLICATE_KEY]
            if len(raced) < len(exc.details["writeErrors"]):
                raise
            # an upsert lost a race to create the rollup, or the rollup has this fold already: retry the former
            pending = [k for k in raced if not await db.rollups.find_one(_where(k) | {"folds": fold}, {"_id": 1})]
    if pending:
        raise RuntimeError(f"rollups of fold {fold} still contended after {FOLD_RACES} attempts")
    if docs:  # the metrics carrying this batch's fold are the batch's: found by the index of unfolded metrics (an
        # ``_id`` list made SecantusDB match every metric against it: 11 s for 2,000 in 22,000, 0.9 s so)
        marked = db.metrics.with_options(write_concern=DURABLE)
        await marked.update_many({"fold": fold}, {"$unset": UNMARK})


@guarded
async def fold_pending(db: Db, keys: list[str], started_before: datetime) -> int:
    """Fold what an interrupted upload stored and did not fold: the batches (folds) of the still unfolded metrics
    among these idempotency keys, each batch whole, of those stored whole (as many metrics carry the fold as its
    ``foldSize``) or started before ``started_before``. Another upload may still be storing a younger batch it did
    not store whole (folded now, its later metrics would stay out): it folds it itself, or a later look does (a
    batch that met stored duplicates or refusals is never whole). Returns how many metrics it folded."""
    folds = await db.metrics.distinct("fold", {"idempotencyKey": {"$in": keys}, "fold": {"$exists": True}})
    return await _fold_batches(db, folds, ObjectId.from_datetime(started_before))


@guarded
async def fold_abandoned(db: Db, started_before: datetime) -> int:
    """Fold the batches an upload stored and never folded (its worker killed between the two, the store lost
    meanwhile, no retry came) that were started before ``started_before`` (their fold id's time): long enough ago
    that no upload is still storing them (a batch folded while still being stored would leave its late metrics
    out). Read through the index of unfolded metrics (SecantusDB's ``distinct`` scans every metric). Returns how
    many metrics it folded."""
    old = ObjectId.from_datetime(started_before)
    unfolded = {"fold": {"$exists": True, "$lt": old}}

    async def read(index: str | None) -> set[ObjectId]:
        found = db.metrics.find(unfolded, {"_id": 0, "fold": 1})
        return {d["fold"] async for d in (found.hint(index) if index else found)}

    return await _fold_batches(db, sorted(await hinted(UNFOLDED, read)), old)


async def _fold_batches(db: Db, folds: list[ObjectId], old: ObjectId) -> int:
    """Fold each of these batches whole, from the metrics still carrying its fold, if they are the whole batch
    (as many as its ``foldSize``) or it was started before ``old`` (a fold id)."""
    done = 0
    for fold in folds:
        docs = [d async for d in db.metrics.find({"fold": fold}, PROJECTION | {"foldSize": 1})]
        if docs and (fold < old or len(docs) == docs[0].get("foldSize")):
            await fold_once(db, fold, docs)
            done += len(docs)
    return done


@guarded
async def read(db: Db, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The rollup documents matching ``query`` (sessionId/proposalId, kind, field, hour range)."""
    return [doc async for doc in db.rollups.find(query, {"_id": 0, "folds": 0}).sort("hour", 1)]


def merge(rollups: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Several rollups of one field as one: count, sum, min, max and bins added up."""
    total: dict[str, Any] | None = None
    for r in rollups:
        if total is None:
            total = {"count": 0, "sum": 0.0, "min": r["min"], "max": r["max"], "bins": defaultdict(int)}
        total["count"] += r["count"]
        total["sum"] += r["sum"]
        total["min"], total["max"] = min(total["min"], r["min"]), max(total["max"], r["max"])
        for k, n in r["bins"].items():
            total["bins"][int(k)] += n
    return total


def quantile(bins: dict[int, int], count: int, q: float, origin: float, width: float) -> float | None:
    """The upper edge of the bin holding the nearest-rank ``q`` quantile."""
    if count == 0:
        return None
    rank, seen = max(1, math.ceil(q * count)), 0
    for k in sorted(bins):
        seen += bins[k]
        if seen >= rank:
            return origin + (k + 1) * width
    return None


async def _bins(db: Db, kinds: Iterable[str]) -> Bins:
    """kind → field → (origin, width), for the built-in kinds and the registered ones."""
    return {k: bins_of(e["schema"]) for k in set(kinds) if (e := builtin().get(k) or await get_kind(db, k))}


async def _recompute(db: Db, query: dict[str, Any] | None) -> dict[Key, dict[str, Any]]:
    docs = [d async for d in db.metrics.find(query or {}, PROJECTION)]
    return accumulate(docs, await _bins(db, (d["kind"] for d in docs)))


@guarded
async def rebuild(db: Db, query: dict[str, Any] | None = None) -> int:
    """Recompute the rollups from the raw metrics (all, or those matching ``query``), which are then all folded;
    returns rollup documents."""
    sums = await _recompute(db, query)
    await db.rollups.delete_many(_rollup_query(query))
    if ops := _updates(sums):
        await db.rollups.bulk_write(ops, ordered=False)
    await db.metrics.update_many((query or {}) | {"fold": {"$exists": True}}, {"$unset": UNMARK})
    return len(sums)


def _rollup_query(query: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (query or {}).items() if k in ("sessionId", "proposalId", "kind")}


@guarded
async def drift(db: Db, query: dict[str, Any] | None = None) -> list[str]:
    """Where the stored rollups differ from a recomputation over the raw metrics (empty when they agree)."""
    expected = {(s, k, f, h): acc for (s, _p, k, f, h), acc in (await _recompute(db, query)).items()}
    rows = await read(db, _rollup_query(query))
    stored = {(r["sessionId"], r["kind"], r["field"], hour_of(r["hour"])): r for r in rows}
    problems = []
    for key in sorted(set(expected) | set(stored), key=str):
        want, have = expected.get(key), stored.get(key)
        if want is None or have is None:
            problems.append(f"{key}: {'missing' if have is None else 'unexpected'} rollup")
        elif want["count"] != have["count"] or dict(want["bins"]) != {k: n for k, n in have["bins"].items() if n}:
            problems.append(f"{key}: count {have['count']} (expected {want['count']}) or bins differ")
        elif not math.isclose(want["sum"], have["sum"], rel_tol=1e-9, abs_tol=1e-9):
            problems.append(f"{key}: sum {have['sum']} (expected {want['sum']})")
    return problems
