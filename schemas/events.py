"""py-ispyb's data-collection timeline: data collection groups and robot actions."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel
from schemas.datacollections import DataCollection


class RobotAction(ApiModel):
    robotActionId: int
    actionType: str | None
    status: str | None
    message: str | None
    containerLocation: int | None
    dewarLocation: int | None
    sampleBarcode: str | None


class Event(ApiModel):
    id: int
    type: str
    startTime: datetime | None
    endTime: datetime | None
    duration: float | None = Field(description="minutes")
    count: int
    session: str | None
    sessionId: int
    proposal: str
    blSample: str | None = Field(description="Sample name")
    blSampleId: int | None
    attachments: int | None
    Item: DataCollection | RobotAction


class EventType(ApiModel):
    eventTypeName: str
    eventType: str
