"""Beamtime sessions, as py-ispyb serves them."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class SessionMetaData(ApiModel):
    datacollections: int = Field(description="Number of data collections")
    uiGroups: list[str] = Field(description="UI groups for this session's beamline")
    persons: int = Field(description="Number of people on this session (Session_has_Person)")
    active: bool = Field(description="Whether this session is running now")
    active_soon: bool = Field(description="Whether it starts or ended within 20 minutes")
    sessionTypes: list[str] = Field(description="Session types (SessionType.typeName)")


class Session(ApiModel):
    sessionId: int
    proposalId: int
    session: str | None = Field(description="`MX1-2`: proposal and visit number")
    proposal: str
    BeamLineSetup: None = None
    visit_number: int | None
    startDate: datetime | None
    endDate: datetime | None
    beamLineName: str | None
    beamLineOperator: str | None
    scheduled: bool | None
    comments: str | None
    nbReimbDewars: int | None = Field(description="null where the database has no such column")
    metadata: SessionMetaData = Field(alias="_metadata")
