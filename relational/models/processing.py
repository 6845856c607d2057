"""Automatic processing: programs, integration, scaling and the per-shell scaling statistics."""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base
from relational.types import ProcessingStatus


class AutoProcProgram(Base):
    __tablename__ = "AutoProcProgram"

    autoProcProgramId: Mapped[int] = mapped_column(primary_key=True)
    processingCommandLine: Mapped[str | None]
    processingPrograms: Mapped[str | None]
    processingStatus: Mapped[int | None] = mapped_column(ProcessingStatus)
    processingMessage: Mapped[str | None]
    processingStartTime: Mapped[datetime | None]
    processingEndTime: Mapped[datetime | None]
    processingEnvironment: Mapped[str | None]
    recordTimeStamp: Mapped[datetime | None]


class AutoProc(Base):
    __tablename__ = "AutoProc"

    autoProcId: Mapped[int] = mapped_column(primary_key=True)
    autoProcProgramId: Mapped[int | None] = mapped_column(ForeignKey("AutoProcProgram.autoProcProgramId"))
    spaceGroup: Mapped[str | None]
    refinedCell_a: Mapped[float | None]
    refinedCell_b: Mapped[float | None]
    refinedCell_c: Mapped[float | None]
    refinedCell_alpha: Mapped[float | None]
    refinedCell_beta: Mapped[float | None]
    refinedCell_gamma: Mapped[float | None]
    recordTimeStamp: Mapped[datetime | None]


class AutoProcIntegration(Base):
    __tablename__ = "AutoProcIntegration"

    autoProcIntegrationId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionId: Mapped[int] = mapped_column(ForeignKey("DataCollection.dataCollectionId"))
    autoProcProgramId: Mapped[int | None] = mapped_column(ForeignKey("AutoProcProgram.autoProcProgramId"))
    startImageNumber: Mapped[int | None]
    endImageNumber: Mapped[int | None]
    refinedDetectorDistance: Mapped[float | None]
    refinedXBeam: Mapped[float | None]
    refinedYBeam: Mapped[float | None]
    cell_a: Mapped[float | None]
    cell_b: Mapped[float | None]
    cell_c: Mapped[float | None]
    cell_alpha: Mapped[float | None]
    cell_beta: Mapped[float | None]
    cell_gamma: Mapped[float | None]
    recordTimeStamp: Mapped[datetime | None]
    anomalous: Mapped[bool | None]


class AutoProcScaling(Base):
    __tablename__ = "AutoProcScaling"

    autoProcScalingId: Mapped[int] = mapped_column(primary_key=True)
    autoProcId: Mapped[int | None] = mapped_column(ForeignKey("AutoProc.autoProcId"))
    recordTimeStamp: Mapped[datetime | None]


class AutoProcScalingHasInt(Base):
    __tablename__ = "AutoProcScaling_has_Int"

    autoProcScaling_has_IntId: Mapped[int] = mapped_column(primary_key=True)
    autoProcScalingId: Mapped[int | None] = mapped_column(ForeignKey("AutoProcScaling.autoProcScalingId"))
    autoProcIntegrationId: Mapped[int] = mapped_column(ForeignKey("AutoProcIntegration.autoProcIntegrationId"))
    recordTimeStamp: Mapped[datetime | None]


class AutoProcScalingStatistics(Base):
    __tablename__ = "AutoProcScalingStatistics"

    autoProcScalingStatisticsId: Mapped[int] = mapped_column(primary_key=True)
    autoProcScalingId: Mapped[int | None] = mapped_column(ForeignKey("AutoProcScaling.autoProcScalingId"))
    scalingStatisticsType: Mapped[str] = mapped_column(default="overall")
    comments: Mapped[str | None]
    resolutionLimitLow: Mapped[float | None]
    resolutionLimitHigh: Mapped[float | None]
    rMerge: Mapped[float | None]
    rMeasWithinIPlusIMinus: Mapped[float | None]
    rMeasAllIPlusIMinus: Mapped[float | None]
    rPimWithinIPlusIMinus: Mapped[float | None]
    rPimAllIPlusIMinus: Mapped[float | None]
    fractionalPartialBias: Mapped[float | None]
    nTotalObservations: Mapped[int | None]
    nTotalUniqueObservations: Mapped[int | None]
    meanIOverSigI: Mapped[float | None]
    completeness: Mapped[float | None]
    multiplicity: Mapped[float | None]
    anomalousCompleteness: Mapped[float | None]
    anomalousMultiplicity: Mapped[float | None]
    recordTimeStamp: Mapped[datetime | None]
    anomalous: Mapped[bool | None]
    ccHalf: Mapped[float | None]


class AutoProcProgramAttachment(Base):
    __tablename__ = "AutoProcProgramAttachment"

    autoProcProgramAttachmentId: Mapped[int] = mapped_column(primary_key=True)
    autoProcProgramId: Mapped[int] = mapped_column(ForeignKey("AutoProcProgram.autoProcProgramId"))
    fileType: Mapped[str | None]
    fileName: Mapped[str | None]
    filePath: Mapped[str | None]
    recordTimeStamp: Mapped[datetime | None]


class AutoProcProgramMessage(Base):
    """Diamond flavour only: ``info["optional"]`` tells the schema check and data access it may be absent."""

    __tablename__ = "AutoProcProgramMessage"
    __table_args__ = {"info": {"optional": True}}

    autoProcProgramMessageId: Mapped[int] = mapped_column(primary_key=True)
    autoProcProgramId: Mapped[int | None] = mapped_column(ForeignKey("AutoProcProgram.autoProcProgramId"))
    recordTimeStamp: Mapped[datetime | None]
    severity: Mapped[str]
    message: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
