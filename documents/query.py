"""Safe ad-hoc queries on the document collections: an allow-list of operators and stages, the caller's proposal
scope as the first ``$match`` of every read of a collection at any depth, limits on nesting and size, a time limit and
a result cap.

Every stage that reads a collection (``$lookup`` in both forms, ``$unionWith`` in both forms) gets the scope as the
first stage of its sub-pipeline, and ``$facet`` passes the scope on to the reads inside it, so every document of any
stream comes from a scoped read. ``$graphLookup`` is refused: its only filter, ``restrictSearchWithMatch``, is not
honoured by every document server (the embedded one ignores it).

Refused anywhere: ``$where``, ``$function``, ``$accumulator`` (server-side JavaScript), ``$out``, ``$merge``
(writes), and any operator or stage not on the lists below; ``$lookup``/``$unionWith`` may only name the allowed
collections.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from bson.decimal128 import Decimal128
from bson.errors import InvalidDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ExecutionTimeout, OperationFailure

from documents.store import StoreTimeout, guarded
from schemas.errors import InvalidInput

COLLECTIONS = ("results", "metrics", "rollups")
STAGES = frozenset(
    "$match $project $addFields $set $unset $group $sort $limit $skip $count $unwind $bucket $bucketAuto $facet "
    "$sortByCount $sample $replaceRoot $replaceWith $lookup $unionWith".split()
)
READS = {
    "$lookup": ("from", frozenset("from localField foreignField let pipeline as".split())),
    "$unionWith": ("coll", frozenset(("coll", "pipeline"))),
}
"""The stages that read a collection: the field naming it and the fields they accept."""
UNSCOPABLE = frozenset({"$graphLookup"})
"""Stages reading a collection that cannot be limited to the caller's proposals on every document server."""
QUERY = frozenset(
    "$eq $ne $gt $gte $lt $lte $in $nin $and $or $nor $not $exists $type $regex $options $elemMatch $size $all "
    "$mod $expr".split()
)
EXPRESSIONS = frozenset(
    "$sum $avg $min $max $first $last $push $addToSet $count $median $percentile $stdDevPop $stdDevSamp $add "
    "$subtract $multiply $divide $abs $ceil $floor $round $trunc $log10 $ln $exp $sqrt $pow $cond $ifNull $switch "
    "$case $then $default $branches $concat $toString $toDouble $toInt $toLong $toDecimal $toBool $toDate "
    "$dateToString $dateTrunc $dateFromString $year $month $dayOfMonth $hour $minute $second $week $dayOfWeek "
    "$arrayElemAt $filter $map $reduce $in $objectToArray $arrayToObject $isNumber $isArray $literal $let $vars "
    "$and $or $not $eq $ne $gt $gte $lt $lte $cmp $strLenCP $substrCP $toLower $toUpper $split $size $slice "
    "$concatArrays $setUnion $mergeObjects $getField $input $as $cond $if $else $initialValue $unit $binSize "
    "$format $date $timezone $onNull $onError $method $p $sortArray $sortBy $firstN $lastN $maxN $minN $n "
    "$top $bottom $topN $bottomN $output $boundaries $groupBy $buckets $granularity".split()
)
REFUSED = frozenset("$where $function $accumulator $out $merge".split())
ALLOWED = QUERY | EXPRESSIONS
MAX_NESTING = 10
"""Sub-pipelines (of ``$facet``, ``$lookup``, ``$unionWith``) nested in one another, at most; MongoDB allows 20."""
MAX_STAGES = 1000
"""Stages of a pipeline and all its sub-pipelines together, at most; MongoDB's limit for one pipeline."""
MAX_DEPTH = 50
"""Levels of objects and lists in one filter, projection or stage, at most."""


def check_filter(value: Any, path: str, depth: int = 0) -> None:
    """422 naming the first operator that is refused or unknown, or nesting deeper than ``MAX_DEPTH``, with its
    path."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"Nested deeper than {MAX_DEPTH} levels (at {path})")
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                if key in REFUSED or key not in ALLOWED:
                    raise InvalidInput(f"Operator `{key}` is not allowed (at {path}.{key})")
            check_filter(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_filter(item, f"{path}[{i}]", depth + 1)


def scoped_pipeline(pipeline: Any, scope: dict[str, Any], path: str = "$.pipeline") -> list[dict[str, Any]]:
    """The pipeline checked stage by stage at every depth, with ``scope`` as the first ``$match`` of every read of a
    collection: the pipeline itself and the sub-pipeline of every ``$lookup`` and ``$unionWith``."""
    return _Scoper(scope).pipeline(pipeline, path, nesting=0, reads=True)


class _Scoper:
    """One pass over a pipeline and its sub-pipelines, counting their stages."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.stages = 0

    def pipeline(self, pipeline: Any, path: str, nesting: int, reads: bool) -> list[dict[str, Any]]:
        """``pipeline`` checked; ``reads``: it reads a collection, so the scope goes first."""
        if nesting > MAX_NESTING:
            raise InvalidInput(f"Sub-pipelines are nested deeper than {MAX_NESTING} levels (at {path})")
        if not isinstance(pipeline, list):
            raise InvalidInput(f"{path} must be a list of stages")
        self.stages += len(pipeline)
        if self.stages > MAX_STAGES:
            raise InvalidInput(f"A pipeline may hold at most {MAX_STAGES} stages with its sub-pipelines (at {path})")
        stages: list[dict[str, Any]] = [{"$match": self.scope}] if reads and self.scope else []
        for i, stage in enumerate(pipeline):
            where = f"{path}[{i}]"
            if not isinstance(stage, dict) or len(stage) != 1:
                raise InvalidInput(f"{where} must be an object with exactly one stage")
            ((name, body),) = stage.items()
            if name in UNSCOPABLE:
                raise InvalidInput(f"Stage `{name}` cannot be limited to your proposals on every server (at {where})")
            if name in REFUSED or name not in STAGES:
                raise InvalidInput(f"Stage `{name}` is not allowed (at {where})")
            if name == "$facet" and not reads:
                raise InvalidInput(f"Stage `$facet` is not allowed inside a `$facet` (at {where})")
            stages.append({name: self.stage(name, body, f"{where}.{name}", nesting)})
        return stages

    def stage(self, name: str, body: Any, path: str, nesting: int) -> Any:
        if name == "$facet":
            if not isinstance(body, dict):
                raise InvalidInput(f"{path} must be an object of pipelines")
            return {k: self.pipeline(p, f"{path}.{k}", nesting + 1, reads=False) for k, p in body.items()}
        if name in READS:
            return self.read(name, body, path, nesting)
        check_filter(body, path)
        return body

    def read(self, name: str, body: Any, path: str, nesting: int) -> dict[str, Any]:
        """A ``$lookup`` or ``$unionWith`` in any of its forms, as one whose pipeline starts with the scope."""
        target, fields = READS[name]
        body = {target: body} if name == "$unionWith" and isinstance(body, str) else body
        if not isinstance(body, dict):
            raise InvalidInput(f"{path} must be an object")
        if unknown := sorted(set(body) - fields):
            raise InvalidInput(f"`{unknown[0]}` is not a field of {name} (at {path})")
        if body.get(target) not in COLLECTIONS:
            raise InvalidInput(f"{path}.{target} must be one of {', '.join(COLLECTIONS)}")
        rest = {k: v for k, v in body.items() if k != "pipeline"}
        check_filter(rest, path)
        return rest | {"pipeline": self.pipeline(body.get("pipeline", []), f"{path}.pipeline", nesting + 1, reads=True)}


@guarded
async def find(
    db: AsyncDatabase[dict[str, Any]],
    collection: str,
    spec: dict[str, Any],
    scope: dict[str, Any],
    max_time_ms: int,
    cap: int,
) -> AsyncIterator[dict[str, Any]]:
    """Documents of a ``find`` (filter, projection, sort, skip, limit) within the scope."""
    check_filter(spec.get("filter", {}), "$.filter")
    check_filter(spec.get("projection") or {}, "$.projection")
    query = {"$and": [scope, spec.get("filter", {})]} if scope else spec.get("filter", {})
    cursor = db[collection].find(query, spec.get("projection"), max_time_ms=max_time_ms)
    if spec.get("sort"):
        cursor = cursor.sort(list(spec["sort"].items()))
    cursor = cursor.skip(spec.get("skip", 0)).limit(min(spec.get("limit") or cap, cap))
    return _documents(cursor)


@guarded
async def aggregate(
    db: AsyncDatabase[dict[str, Any]],
    collection: str,
    pipeline: list[Any],
    scope: dict[str, Any],
    max_time_ms: int,
    cap: int,
) -> AsyncIterator[dict[str, Any]]:
    """Documents of an aggregation within the scope, capped."""
    stages = scoped_pipeline(pipeline, scope) + [{"$limit": cap}]
    with _refusals():
        cursor = await db[collection].aggregate(stages, maxTimeMS=max_time_ms)
    return _documents(cursor)


def plain(value: Any) -> Any:
    """A value of a document as plain Python: a Decimal128 as the ``Decimal`` it is; any other value as it is."""
    return value.to_decimal() if isinstance(value, Decimal128) else value


@contextmanager
def _refusals() -> Iterator[None]:
    """A query the server refuses, or that cannot be encoded (NUL in a key, an integer over 8 bytes): 422; one
    stopped at its time limit: 504, like every document query over its limit."""
    try:
        yield
    except ExecutionTimeout:
        raise StoreTimeout() from None
    except OperationFailure as exc:
        raise InvalidInput(f"The document store refused the query: {(exc.details or {}).get('errmsg', exc)}") from None
    except (InvalidDocument, OverflowError) as exc:
        raise InvalidInput(f"The query cannot be sent to the document store: {exc}") from None


async def _documents(cursor: Any) -> AsyncIterator[dict[str, Any]]:
    with _refusals():
        async for doc in cursor:
            if "_id" in doc and not isinstance(doc["_id"], str | int | float | dict | list | None):
                doc["_id"] = str(doc["_id"])
            yield doc
