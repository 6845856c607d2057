"""Session statistics: py-ispyb's breakdown and times."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class BreakdownCounts(ApiModel):
    datacollections: int
    failed: int
    datacollectionTypes: dict[str, int]
    robot: int
    edge: int
    xrf: int


class BreakdownOverview(ApiModel):
    startDate: datetime | None
    endDate: datetime | None
    duration: float
    beamLineName: str | None
    sessionId: str
    session: str | None
    counts: BreakdownCounts


class BreakdownPoint(ApiModel):
    eventType: str
    startTime: datetime
    endTime: datetime
    protein: str | None = None
    sample: str | None = None
    subType: str | None = None
    status: str | None = None
    title: str | None = None
    session: str | None = None
    sessionId: str | None = None


class BreakdownPlottable(ApiModel):
    title: str
    unit: str | None = None
    data: list[float | None]


class BreakdownPlottables(ApiModel):
    time: list[datetime | None]
    series: list[BreakdownPlottable]


class Breakdown(ApiModel):
    overview: BreakdownOverview
    history: list[BreakdownPoint]
    plottables: BreakdownPlottables


class TimeEntry(ApiModel):
    """py-ispyb's keys, in hours."""

    duration: float = Field(0, title="Total time")
    startup: float = Field(0, title="Time before first data collection")
    datacollection: float = Field(0, title="Time used for data collections")
    edge: float = Field(0, title="Time used for energy scans")
    xrf: float = Field(0, title="Time used for XRF scans")
    robot: float = Field(0, title="Time used for robot / sample actions")
    strategy: float = Field(0, title="Time waiting for strategy")
    centring: float = Field(0, title="Time waiting for centring")
    fault: float = Field(0, title="Time lost to faults")
    remaining: float = Field(0, title="Time remaining after the last data collection")
    thinking: float = Field(0, title="Time not used by other types")


class SessionTimeEntry(TimeEntry):
    sessionId: int


class Times(ApiModel):
    average: TimeEntry
    sessions: list[SessionTimeEntry]
