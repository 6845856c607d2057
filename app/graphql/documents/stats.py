"""Rollup-backed metric statistics: histograms and time series, as ``GET /stats/metrics/histogram`` and
``/stats/metrics/timeseries`` answer them; a session's statistics per technique, as ``GET /stats/sessions/{id}``."""

from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry


@strawberry.enum
class Interval(Enum):
    minute = "minute"
    hour = "hour"
    day = "day"


@strawberry.type
class HistogramBin:
    start: float
    end: float
    count: int


@strawberry.type(description="Counts per bin of one metric field (the field's fixed bins, merged as asked)")
class Histogram:
    kind: str
    field: str
    origin: float
    binWidth: float
    count: int
    bins: list[HistogramBin]

    @classmethod
    def of(cls, found: dict[str, Any]) -> Self:
        return cls(**{k: v for k, v in found.items() if k != "bins"}, bins=[HistogramBin(**b) for b in found["bins"]])


@strawberry.type
class TimeBucket:
    time: datetime
    count: int
    mean: float | None
    min: float | None
    max: float | None
    p50: float | None
    p90: float | None


@strawberry.type(description="One metric field per minute, hour or day")
class TimeSeries:
    kind: str
    field: str
    interval: Interval
    buckets: list[TimeBucket]

    @classmethod
    def of(cls, found: dict[str, Any]) -> Self:
        buckets = [TimeBucket(**b) for b in found["buckets"]]
        return cls(kind=found["kind"], field=found["field"], interval=Interval(found["interval"]), buckets=buckets)


@strawberry.type(description="One technique's collections in a session and the share of them processed")
class TechniqueStatistics:
    technique: str = strawberry.field(description="`mx`, `em` or `saxs`")
    datacollections: int
    images: int = strawberry.field(description="Images, or movies for EM")
    autoProcessed: int = strawberry.field(description="Collections with SQL auto-processing")
    autoProcessedShare: float | None = strawberry.field(description="autoProcessed / datacollections")
    bestResolution: float | None = strawberry.field(description="Best overall resolution of auto-processing, Å")
    motionCorrected: float | None = strawberry.field(description="EM: movies with motion correction / movies")
    ctfProcessed: float | None = strawberry.field(description="EM: movies with a CTF estimate / movies")
    bestCtfResolution: float | None = strawberry.field(description="EM: best CTF-estimated resolution, Å")


@strawberry.type(description="A session's statistics per technique (REST's GET /stats/sessions/{sessionId})")
class SessionStatistics:
    sessionId: int
    techniques: list[TechniqueStatistics]

    @classmethod
    def of(cls, found: dict[str, Any]) -> Self:
        techniques = [
            TechniqueStatistics(
                technique=name,
                datacollections=entry["datacollections"],
                images=entry["images"],
                autoProcessed=entry["autoProcessed"],
                autoProcessedShare=entry["autoProcessedShare"],
                bestResolution=entry["bestResolution"],
                motionCorrected=entry.get("motionCorrected"),
                ctfProcessed=entry.get("ctfProcessed"),
                bestCtfResolution=entry.get("bestCtfResolution"),
            )
            for name, entry in sorted(found["techniques"].items())
        ]
        return cls(sessionId=found["sessionId"], techniques=techniques)
