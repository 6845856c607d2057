"""Metric aggregations for dashboards (histogram, summary, time series) and a session's statistics per technique."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query

from app.deps import DocumentsDep, IdentityDep, ReadSessionDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.params import Id, IdFilter, ProposalFilter
from app.routers.routing import Router
from app.services import metric_stats
from documents.metric_stats import Coverage
from schemas.errors import InvalidInput, NotFound
from schemas.results import Kind
from schemas.times import UtcDatetime

router = Router(prefix="/stats", tags=["Stats"], responses=responses(*AUTHENTICATED, *DOCUMENT_STORE))
Field = Annotated[str, Query(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64, description="A field of `values`")]


class Interval(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"


@dataclass(frozen=True)
class Where:
    """Which metrics: one session, a proposal, a beamline, or all visible; optionally a time range (hours)."""

    sessionId: IdFilter = None
    proposal: ProposalFilter = None
    beamLineName: Annotated[str | None, Query(max_length=45)] = None
    start: Annotated[UtcDatetime | None, Query(alias="from", description="Naive means UTC")] = None
    end: Annotated[UtcDatetime | None, Query(alias="to", description="Naive means UTC")] = None


async def _scope(identity: IdentityDep, db: ReadSessionDep, where: Annotated[Where, Depends()]) -> Coverage:
    return await metric_stats.covered_metrics(
        db,
        identity,
        sessionId=where.sessionId,
        proposal=where.proposal,
        beamLineName=where.beamLineName,
        start=where.start,
        end=where.end,
    )


Scope = Annotated[Coverage, Depends(_scope)]


@router.get("/metrics/histogram", responses=responses(NotFound, InvalidInput))
async def get_histogram(
    scope: Scope,
    documents: DocumentsDep,
    kind: Kind,
    field: Field,
    bins: Annotated[int | None, Query(ge=1, le=metric_stats.MAX_BINS, description="At most this many bins")] = None,
    binWidth: Annotated[
        float | None,
        Query(
            gt=0,
            le=metric_stats.MAX_BIN_WIDTH,
            allow_inf_nan=False,
            description="A whole multiple of the field's bin width",
        ),
    ] = None,
) -> dict[str, Any]:
    """Counts per bin of one field, from rollups (the field's fixed bins, merged as asked)."""
    return await metric_stats.histogram(documents, scope, kind, field, bins, binWidth)


@router.get("/metrics/summary", responses=responses(NotFound, InvalidInput))
async def get_summary(
    scope: Scope, documents: DocumentsDep, kind: Kind, field: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Per field: count, mean, min, max, p10/p50/p90 (quantiles at the field's bin resolution)."""
    return await metric_stats.summary(documents, scope, kind, field)


@router.get("/metrics/timeseries", responses=responses(NotFound, InvalidInput))
async def get_timeseries(
    scope: Scope, documents: DocumentsDep, kind: Kind, field: Field, interval: Interval = Interval.hour
) -> dict[str, Any]:
    """Per minute, hour or day: count, mean, min, max, p50, p90."""
    return await metric_stats.timeseries(documents, scope, kind, field, interval.value)


@router.get("/sessions/{sessionId}", responses=responses(NotFound))
async def get_session_stats(
    sessionId: Id, identity: IdentityDep, db: ReadSessionDep, documents: DocumentsDep
) -> dict[str, Any]:
    """Per technique: collections, images or movies, the share processed, the best resolution."""
    return await metric_stats.session_stats(db, documents, identity, sessionId)
