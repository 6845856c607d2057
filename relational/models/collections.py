"""Data collections, their groups, and the sample changer's robot actions."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class DataCollectionGroup(Base):
    __tablename__ = "DataCollectionGroup"

    dataCollectionGroupId: Mapped[int] = mapped_column(primary_key=True)
    blSampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    experimentType: Mapped[str | None]
    startTime: Mapped[datetime | None]
    endTime: Mapped[datetime | None]
    crystalClass: Mapped[str | None]
    comments: Mapped[str | None]
    detectorMode: Mapped[str | None]
    actualSampleBarcode: Mapped[str | None]
    actualSampleSlotInContainer: Mapped[int | None]
    actualContainerBarcode: Mapped[str | None]
    actualContainerSlotInSC: Mapped[int | None]
    xtalSnapshotFullPath: Mapped[str | None]


class DataCollection(Base):
    __tablename__ = "DataCollection"

    dataCollectionId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionGroupId: Mapped[int] = mapped_column(ForeignKey("DataCollectionGroup.dataCollectionGroupId"))
    blSampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    sessionId: Mapped[int | None] = mapped_column(ForeignKey("BLSession.sessionId"))
    dataCollectionNumber: Mapped[int | None]
    startTime: Mapped[datetime | None]
    endTime: Mapped[datetime | None]
    runStatus: Mapped[str | None]
    axisStart: Mapped[float | None]
    axisEnd: Mapped[float | None]
    axisRange: Mapped[float | None]
    overlap: Mapped[float | None]
    numberOfImages: Mapped[int | None]
    startImageNumber: Mapped[int | None]
    numberOfPasses: Mapped[int | None]
    exposureTime: Mapped[float | None]
    imageDirectory: Mapped[str | None]
    imagePrefix: Mapped[str | None]
    imageSuffix: Mapped[str | None]
    imageContainerSubPath: Mapped[str | None]
    fileTemplate: Mapped[str | None]
    wavelength: Mapped[float | None]
    resolution: Mapped[float | None]
    detectorDistance: Mapped[float | None]
    xBeam: Mapped[float | None]
    yBeam: Mapped[float | None]
    comments: Mapped[str | None]
    transmission: Mapped[float | None]
    synchrotronMode: Mapped[str | None]
    xtalSnapshotFullPath1: Mapped[str | None]
    xtalSnapshotFullPath2: Mapped[str | None]
    xtalSnapshotFullPath3: Mapped[str | None]
    xtalSnapshotFullPath4: Mapped[str | None]
    rotationAxis: Mapped[str | None]
    phiStart: Mapped[float | None]
    kappaStart: Mapped[float | None]
    omegaStart: Mapped[float | None]
    chiStart: Mapped[float | None]
    resolutionAtCorner: Mapped[float | None]
    beamSizeAtSampleX: Mapped[float | None]
    beamSizeAtSampleY: Mapped[float | None]
    flux: Mapped[float | None]
    flux_end: Mapped[float | None]
    totalAbsorbedDose: Mapped[float | None]
    experimentType: Mapped[str | None]
    magnification: Mapped[float | None]
    binning: Mapped[int | None]
    particleDiameter: Mapped[float | None]
    defocusStepSize: Mapped[float | None]
    amountAstigmatism: Mapped[float | None]
    voltage: Mapped[float | None]
    objAperture: Mapped[float | None]
    detectorId: Mapped[int | None]
    undulatorGap1: Mapped[float | None]
    undulatorGap2: Mapped[float | None]
    undulatorGap3: Mapped[float | None]
    slitGapHorizontal: Mapped[float | None]
    slitGapVertical: Mapped[float | None]
    beamShape: Mapped[str | None]
    centeringMethod: Mapped[str | None]
    actualCenteringPosition: Mapped[str | None]
    strategySubWedgeOrigId: Mapped[int | None]
    actualSampleBarcode: Mapped[str | None]
    actualContainerBarcode: Mapped[str | None]
    actualSampleSlotInContainer: Mapped[int | None]
    actualContainerSlotInSC: Mapped[int | None]


class RobotAction(Base):
    __tablename__ = "RobotAction"

    robotActionId: Mapped[int] = mapped_column(primary_key=True)
    blsessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    blsampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    actionType: Mapped[str | None]
    startTimestamp: Mapped[datetime | None]
    endTimestamp: Mapped[datetime | None]
    status: Mapped[str | None]
    message: Mapped[str | None]
    containerLocation: Mapped[int | None]
    dewarLocation: Mapped[int | None]
    sampleBarcode: Mapped[str | None]
    xtalSnapshotBefore: Mapped[str | None]
    xtalSnapshotAfter: Mapped[str | None]
