"""Safe ad-hoc queries on the document collections: an allow-list of operators and stages, the caller's proposal
scope injected first (into ``$lookup``/``$unionWith`` pipelines too), a time limit and a result cap.

Refused anywhere: ``$where``, ``$function``, ``$accumulator`` (server-side JavaScript), ``$out``, ``$merge``
(writes), and any operator or stage not on the lists below; ``$lookup``/``$unionWith``/``$graphLookup`` may only
name the allowed collections.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from bson.errors import InvalidDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from app.errors import InvalidInput
from documents.store import guarded

COLLECTIONS = ("results", "metrics", "rollups")
STAGES = frozenset(
    "$match $project $addFields $set $unset $group $sort $limit $skip $count $unwind $bucket $bucketAuto $facet "
    "$sortByCount $sample $replaceRoot $replaceWith $lookup $unionWith $graphLookup".split()
)
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
    "$top $bottom $topN $bottomN $output $boundaries $groupBy $buckets $granularity $startWith $connectFromField "
    "$connectToField $maxDepth $depthField $restrictSearchWithMatch".split()
)
REFUSED = frozenset("$where $function $accumulator $out $merge".split())
ALLOWED = QUERY | EXPRESSIONS


def check_filter(value: Any, path: str) -> None:
    """422 naming the first operator that is refused or unknown, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                if key in REFUSED or key not in ALLOWED:
                    raise InvalidInput(f"Operator `{key}` is not allowed (at {path}.{key})")
            check_filter(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_filter(item, f"{path}[{i}]")


def scoped_pipeline(pipeline: Any, scope: dict[str, Any], path: str = "$.pipeline") -> list[dict[str, Any]]:
    """The pipeline checked stage by stage, with the scope as its first ``$match`` and injected into every stage
    that reads another collection."""
    if not isinstance(pipeline, list):
        raise InvalidInput(f"{path} must be a list of stages")
    stages: list[dict[str, Any]] = [{"$match": scope}] if scope else []
    for i, stage in enumerate(pipeline):
        where = f"{path}[{i}]"
        if not isinstance(stage, dict) or len(stage) != 1:
            raise InvalidInput(f"{where} must be an object with exactly one stage")
        ((name, body),) = stage.items()
        if name in REFUSED or name not in STAGES:
            raise InvalidInput(f"Stage `{name}` is not allowed (at {where})")
        stages.append({name: _stage(name, body, scope, f"{where}.{name}")})
    return stages


def _stage(name: str, body: Any, scope: dict[str, Any], path: str) -> Any:
    if name == "$facet":
        if not isinstance(body, dict):
            raise InvalidInput(f"{path} must be an object of pipelines")
        return {k: scoped_pipeline(p, {}, f"{path}.{k}") for k, p in body.items()}
    if name in ("$lookup", "$unionWith", "$graphLookup"):
        body = {"coll": body} if name == "$unionWith" and isinstance(body, str) else body
        if not isinstance(body, dict):
            raise InvalidInput(f"{path} must be an object")
        target = body.get("from", body.get("coll"))
        if target not in COLLECTIONS:
            raise InvalidInput(f"{path} may only read {', '.join(COLLECTIONS)} (not `{target}`)")
        rest = {k: v for k, v in body.items() if k != "pipeline"}
        check_filter(rest, path)
        if name == "$graphLookup":
            restrict = body.get("restrictSearchWithMatch", {})
            return rest | {"restrictSearchWithMatch": {"$and": [scope, restrict]} if scope else restrict}
        return rest | {"pipeline": scoped_pipeline(body.get("pipeline", []), scope, f"{path}.pipeline")}
    check_filter(body, path)
    return body


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


@contextmanager
def _refusals() -> Iterator[None]:
    """A query the server refuses, or that cannot be encoded (NUL in a key, an integer over 8 bytes): 422."""
    try:
        yield
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
