"""Diamond's processing jobs (what was asked to run on a collection, by hand or automatically) and their
parameters: Diamond flavour only. Its programs link back through ``AutoProcProgram.processingJobId``."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base

_OPTIONAL = {"info": {"optional": True}}


class ProcessingJob(Base):
    __tablename__ = "ProcessingJob"
    __table_args__ = _OPTIONAL

    processingJobId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionId: Mapped[int | None] = mapped_column(ForeignKey("DataCollection.dataCollectionId"))
    displayName: Mapped[str | None]
    comments: Mapped[str | None]
    recordTimestamp: Mapped[datetime | None]
    recipe: Mapped[str | None]
    automatic: Mapped[bool | None]


class ProcessingJobParameter(Base):
    __tablename__ = "ProcessingJobParameter"
    __table_args__ = _OPTIONAL

    processingJobParameterId: Mapped[int] = mapped_column(primary_key=True)
    processingJobId: Mapped[int | None] = mapped_column(ForeignKey("ProcessingJob.processingJobId"))
    parameterKey: Mapped[str | None]
    parameterValue: Mapped[str | None] = mapped_column(String(1024))
