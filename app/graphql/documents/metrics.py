"""Metric summaries per kind, typed from the kind registry's JSON Schemas (``schemas/kinds/*.json``): a session's
from its rollups (``emCtf { estimatedResolution { mean p50 } }``), a data collection's from its metrics. Kinds
registered at run time, and any kind by name, answer as JSON in REST's shape (``kind(kind:)``, ``summaries``).

A kind's field is named after the kind (``em.ctf`` → ``emCtf``); its type after the kind too (``EmCtfStats``,
``EmCtfSummary``); each of its fields after the schema's property."""

import re
from collections.abc import Callable
from typing import Any

import strawberry
from pydantic import TypeAdapter, ValidationError
from strawberry.scalars import JSON

from app.graphql.documents import loaders
from documents.kinds import bins_of, builtin
from schemas.errors import InvalidInput
from schemas.results import Kind

GRAPHQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NUMERIC = ("number", "integer")
KIND = TypeAdapter(Kind)


@strawberry.type(description="A metric field over a session, from rollups (quantiles at the field's bin width)")
class MetricFieldStats:
    count: int
    mean: float | None
    min: float | None
    max: float | None
    p10: float | None
    p50: float | None
    p90: float | None


@strawberry.type(description="A metric field over a data collection's metrics")
class MetricFieldSummary:
    count: int
    mean: float
    median: float


def field_name(kind: str) -> str:
    """``em.ctf`` → ``emCtf``, ``em.motioncorrection`` → ``emMotioncorrection``."""
    head, *rest = re.split(r"[._-]", kind)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _kind_type(name: str, description: str, fields: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """A strawberry type whose fields are ``fields`` (GraphQL name → type), nullable, default None; python
    attributes are the GraphQL names (valid identifiers, checked by ``GRAPHQL_NAME``)."""
    namespace: dict[str, Any] = {"__annotations__": {}}
    for field, kind in {**(extra or {}), **fields}.items():
        namespace["__annotations__"][field] = kind
        namespace[field] = strawberry.field(name=field, default=None)
    return strawberry.type(type(name, (), namespace), description=description)


def _stats_type(kind: str, entry: dict[str, Any]) -> Any:
    fields = {f: MetricFieldStats for f in bins_of(entry["schema"]) if GRAPHQL_NAME.match(f)}
    name = field_name(kind)
    return _kind_type(
        f"{name[:1].upper()}{name[1:]}Stats", f"`{kind}` metrics over a session: {entry.get('title')}", fields
    )


def _summary_type(kind: str, entry: dict[str, Any]) -> Any:
    properties = entry["schema"].get("properties", {})
    numeric = [
        f for f, spec in properties.items() if spec.get("type") in ("number", "integer") and GRAPHQL_NAME.match(f)
    ]
    name = field_name(kind)
    return _kind_type(
        f"{name[:1].upper()}{name[1:]}Summary",
        f"`{kind}` metrics of a data collection: {entry.get('title')}",
        {f: MetricFieldSummary | None for f in numeric},
        extra={"count": int},
    )


STATS = {kind: _stats_type(kind, entry) for kind, entry in builtin().items() if entry["target"] == "metric"}
SUMMARIES = {kind: _summary_type(kind, entry) for kind, entry in builtin().items() if entry["target"] == "metric"}


def _session_resolver(kind: str, cls: Any) -> Callable[..., Any]:
    async def resolve(root: Any, info: strawberry.Info) -> cls | None:
        summary = await loaders.session_stats(info, root.sessionId, kind)
        return cls(**{f: MetricFieldStats(**s) for f, s in summary["fields"].items() if GRAPHQL_NAME.match(f)})

    return resolve


def _collection_resolver(kind: str, cls: Any) -> Callable[..., Any]:
    async def resolve(root: Any, info: strawberry.Info) -> cls | None:
        found = next(
            (s for s in await loaders.metric_summaries(info, root.dataCollectionId) if s["kind"] == kind), None
        )
        if found is None:
            return None
        known = {f for f in cls.__annotations__ if f != "count"}
        fields = {f: MetricFieldSummary(**s) for f, s in found["fields"].items() if f in known}
        return cls(count=found["count"], **fields)

    return resolve


async def _session_kind(root: Any, info: strawberry.Info, kind: str) -> JSON | None:
    """Any kind's summary by name (REST's shape: ``{kind, fields}``); an unknown kind is an error."""
    try:
        KIND.validate_python(kind)
    except ValidationError as exc:
        raise InvalidInput(f"`kind`: {exc.errors()[0]['msg']}") from None
    return JSON(await loaders.session_stats(info, root.sessionId, kind))


async def _collection_summaries(root: Any, info: strawberry.Info) -> JSON | None:
    """Every kind's summary, as ``GET /datacollections/{id}?include=metrics`` lists them."""
    return JSON(await loaders.metric_summaries(info, root.dataCollectionId))


def _metrics_type(
    name: str, key: str, description: str, typed: dict[str, Any], resolver: Callable[..., Any], generic: dict[str, Any]
) -> Any:
    namespace: dict[str, Any] = {"__annotations__": {key: strawberry.Private[int]}}
    for kind, cls in typed.items():
        namespace[field_name(kind)] = strawberry.field(resolver=resolver(kind, cls), name=field_name(kind))
    namespace |= generic
    return strawberry.type(type(name, (), namespace), description=description)


SessionMetrics = _metrics_type(
    "SessionMetrics",
    "sessionId",
    "A session's metrics per kind, from rollups",
    STATS,
    _session_resolver,
    {"kind": strawberry.field(resolver=_session_kind, description=_session_kind.__doc__)},
)
CollectionMetrics = _metrics_type(
    "CollectionMetrics",
    "dataCollectionId",
    "A data collection's metrics per kind (a kind without metrics is null)",
    SUMMARIES,
    _collection_resolver,
    {"summaries": strawberry.field(resolver=_collection_summaries, description=_collection_summaries.__doc__)},
)
