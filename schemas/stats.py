"""Session statistics: py-ispyb's breakdown and times."""

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

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


class StatsFilter(BaseModel):
    """Which sessions a statistic covers (py-ispyb's filters, and a date window where a database has no runs):
    a session, a proposal, or a beamline over a run or dates; always within the caller's reach."""

    sessionId: int | None = Field(None, ge=1, le=2**32 - 1)
    session: str | None = Field(None, pattern=r"^[\w-]+\d+-\d+$", max_length=60, description="e.g. MX1-2")
    proposal: str | None = Field(None, pattern=r"^[\w-]+\d+$", max_length=60, description="e.g. MX1")
    beamLineName: str | None = Field(None, max_length=45)
    runId: int | None = Field(None, ge=1, le=2**32 - 1, description="A run of `v_run` (Diamond flavour)")
    startDate: datetime | None = Field(None, description="Sessions starting from")
    endDate: datetime | None = Field(None, description="Sessions starting before")

    @model_validator(mode="after")
    def _narrow(self) -> "StatsFilter":
        if not (self.sessionId or self.session or self.proposal) and not (
            self.beamLineName and (self.runId or self.startDate or self.endDate)
        ):
            raise ValueError(
                "give `sessionId`, `session` or `proposal`, or `beamLineName` with `runId` or `startDate`/`endDate`"
            )
        return self


class Hourly(ApiModel):
    hour: list[int]
    average: list[float]


class Hourlies(ApiModel):
    """Per hour of the day (0–23), the average number per hour in which there was any."""

    datacollections: Hourly
    loaded: Hourly


class ExperimentTypeMessages(ApiModel):
    count: int = Field(title="Frequency of this error message")
    message: str = Field(title="The error message")


class ExperimentTypeGroup(ApiModel):
    experimentType: str = Field(title="Experiment type")
    total: int = Field(title="Total data collections")
    failed: int = Field(title="Failed data collections")
    failedPercent: float = 0
    aborted: int = Field(title="Aborted data collections")
    abortedPercent: float = 0
    messages: list[ExperimentTypeMessages] = Field(title="Error Messages")


class Errors(ApiModel):
    totals: list[ExperimentTypeGroup]
