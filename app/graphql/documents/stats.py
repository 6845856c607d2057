"""Rollup-backed metric statistics: histograms and time series, as ``GET /stats/metrics/histogram`` and
``/stats/metrics/timeseries`` answer them."""

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
