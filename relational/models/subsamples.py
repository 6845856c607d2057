"""Sub samples (a point or region of a sample, Diamond's ``type`` read through the flavour) and their positions."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base

#: the embedded SQLite database may predate them: missing, they read as empty
_OPTIONAL = {"info": {"optional": True}}


class Position(Base):
    __tablename__ = "Position"
    __table_args__ = _OPTIONAL

    positionId: Mapped[int] = mapped_column(primary_key=True)
    posX: Mapped[float | None]
    posY: Mapped[float | None]
    posZ: Mapped[float | None]
    scale: Mapped[float | None]


class BLSubSample(Base):
    __tablename__ = "BLSubSample"
    __table_args__ = _OPTIONAL

    blSubSampleId: Mapped[int] = mapped_column(primary_key=True)
    blSampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    diffractionPlanId: Mapped[int | None] = mapped_column(ForeignKey("DiffractionPlan.diffractionPlanId"))
    positionId: Mapped[int | None] = mapped_column(ForeignKey("Position.positionId"))
    position2Id: Mapped[int | None] = mapped_column(ForeignKey("Position.positionId"))
    blSubSampleUUID: Mapped[str | None]
    imgFileName: Mapped[str | None]
    imgFilePath: Mapped[str | None]
    comments: Mapped[str | None]
    recordTimeStamp: Mapped[datetime | None]


class ContainerQueueSample(Base):
    """A queued collection of a sample or sub sample; mapped for its columns to be known (only Diamond's names the
    sample itself)."""

    __tablename__ = "ContainerQueueSample"
    __table_args__ = _OPTIONAL

    containerQueueSampleId: Mapped[int] = mapped_column(primary_key=True)


class XRFFluorescenceMappingROI(Base):
    """A fluorescence map's region of interest; mapped for its columns to be known (only Diamond's names a
    sample)."""

    __tablename__ = "XRFFluorescenceMappingROI"
    __table_args__ = _OPTIONAL

    xrfFluorescenceMappingROIId: Mapped[int] = mapped_column(primary_key=True)
