"""Sub samples (py-ispyb's ``SubSample``) and what samples are made of: components and concentration units."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class SubSamplePosition(ApiModel):
    posX: float | None
    posY: float | None


class SubSampleSample(ApiModel):
    name: str | None


class SubSampleMetaData(ApiModel):
    datacollections: int = Field(description="Data collections of this sub sample")
    types: list[str] = Field(description="Their experiment types")


class SubSample(ApiModel):
    blSubSampleId: int
    blSampleId: int
    type: str | None = Field(description="roi, poi, loi… (Diamond); null where the database has no such column")
    comments: str | None
    recordTimeStamp: datetime | None
    BLSample: SubSampleSample
    Position1: SubSamplePosition | None
    Position2: SubSamplePosition | None
    metadata: SubSampleMetaData = Field(alias="_metadata")


class ComponentKind(ApiModel):
    """A component's type (py-ispyb's ``ComponentType``)."""

    componentTypeId: int
    name: str


class Component(ApiModel):
    componentId: int
    name: str
    composition: str | None
    ComponentType: ComponentKind


class ConcentrationType(ApiModel):
    concentrationTypeId: int
    name: str
    symbol: str
