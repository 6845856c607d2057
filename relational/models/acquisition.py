"""What a beamline writes while it collects: its setup and detectors, images, energy scans, XRF spectra, faults.

Each model maps the columns both schema flavours share (``EnergyScan.remote*`` is official-only, reached through
``relational.flavour``).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class BeamLineSetup(Base):
    __tablename__ = "BeamLineSetup"

    beamLineSetupId: Mapped[int] = mapped_column(primary_key=True)
    synchrotronMode: Mapped[str | None]
    undulatorType1: Mapped[str | None]
    undulatorType2: Mapped[str | None]
    undulatorType3: Mapped[str | None]
    focalSpotSizeAtSample: Mapped[float | None]
    focusingOptic: Mapped[str | None]
    beamDivergenceHorizontal: Mapped[float | None]
    beamDivergenceVertical: Mapped[float | None]
    polarisation: Mapped[float | None]
    monochromatorType: Mapped[str | None]
    setupDate: Mapped[datetime | None]
    synchrotronName: Mapped[str | None]
    maxExpTimePerDataCollection: Mapped[float | None]
    minExposureTimePerImage: Mapped[float | None]
    goniostatMaxOscillationSpeed: Mapped[float | None]
    goniostatMinOscillationWidth: Mapped[float | None]
    minTransmission: Mapped[float | None]
    CS: Mapped[float | None]


class Detector(Base):
    __tablename__ = "Detector"

    detectorId: Mapped[int] = mapped_column(primary_key=True)
    detectorType: Mapped[str | None]
    detectorManufacturer: Mapped[str | None]
    detectorModel: Mapped[str | None]
    detectorPixelSizeHorizontal: Mapped[float | None]
    detectorPixelSizeVertical: Mapped[float | None]
    detectorSerialNumber: Mapped[str | None]
    detectorDistanceMin: Mapped[float | None]
    detectorDistanceMax: Mapped[float | None]
    sensorThickness: Mapped[float | None]
    detectorMode: Mapped[str | None]
    density: Mapped[float | None]
    composition: Mapped[str | None]
    localName: Mapped[str | None]


class Image(Base):
    __tablename__ = "Image"

    imageId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionId: Mapped[int] = mapped_column(ForeignKey("DataCollection.dataCollectionId"))
    motorPositionId: Mapped[int | None]
    imageNumber: Mapped[int | None]
    fileName: Mapped[str | None]
    fileLocation: Mapped[str | None]
    measuredIntensity: Mapped[float | None]
    jpegFileFullPath: Mapped[str | None]
    jpegThumbnailFileFullPath: Mapped[str | None]
    temperature: Mapped[float | None]
    cumulativeIntensity: Mapped[float | None]
    synchrotronCurrent: Mapped[float | None]
    comments: Mapped[str | None]
    machineMessage: Mapped[str | None]


class EnergyScan(Base):
    __tablename__ = "EnergyScan"

    energyScanId: Mapped[int] = mapped_column(primary_key=True)
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    blSampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    fluorescenceDetector: Mapped[str | None]
    scanFileFullPath: Mapped[str | None]
    choochFileFullPath: Mapped[str | None]
    jpegChoochFileFullPath: Mapped[str | None]
    element: Mapped[str | None]
    startEnergy: Mapped[float | None]
    endEnergy: Mapped[float | None]
    transmissionFactor: Mapped[float | None]
    exposureTime: Mapped[float | None]
    axisPosition: Mapped[float | None]
    synchrotronCurrent: Mapped[float | None]
    temperature: Mapped[float | None]
    peakEnergy: Mapped[float | None]
    peakFPrime: Mapped[float | None]
    peakFDoublePrime: Mapped[float | None]
    inflectionEnergy: Mapped[float | None]
    inflectionFPrime: Mapped[float | None]
    inflectionFDoublePrime: Mapped[float | None]
    xrayDose: Mapped[float | None]
    startTime: Mapped[datetime | None]
    endTime: Mapped[datetime | None]
    edgeEnergy: Mapped[str | None]
    filename: Mapped[str | None]
    beamSizeVertical: Mapped[float | None]
    beamSizeHorizontal: Mapped[float | None]
    crystalClass: Mapped[str | None]
    comments: Mapped[str | None]
    flux: Mapped[float | None]
    flux_end: Mapped[float | None]
    workingDirectory: Mapped[str | None]


class BLSampleHasEnergyScan(Base):
    __tablename__ = "BLSample_has_EnergyScan"

    blSampleHasEnergyScanId: Mapped[int] = mapped_column(primary_key=True)
    blSampleId: Mapped[int] = mapped_column(ForeignKey("BLSample.blSampleId"))
    energyScanId: Mapped[int] = mapped_column(ForeignKey("EnergyScan.energyScanId"))


class XFEFluorescenceSpectrum(Base):
    __tablename__ = "XFEFluorescenceSpectrum"

    xfeFluorescenceSpectrumId: Mapped[int] = mapped_column(primary_key=True)
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    blSampleId: Mapped[int | None] = mapped_column(ForeignKey("BLSample.blSampleId"))
    fittedDataFileFullPath: Mapped[str | None]
    scanFileFullPath: Mapped[str | None]
    jpegScanFileFullPath: Mapped[str | None]
    startTime: Mapped[datetime | None]
    endTime: Mapped[datetime | None]
    filename: Mapped[str | None]
    energy: Mapped[float | None]
    exposureTime: Mapped[float | None]
    axisPosition: Mapped[float | None]
    beamTransmission: Mapped[float | None]
    annotatedPymcaXfeSpectrum: Mapped[str | None]
    beamSizeVertical: Mapped[float | None]
    beamSizeHorizontal: Mapped[float | None]
    crystalClass: Mapped[str | None]
    comments: Mapped[str | None]
    flux: Mapped[float | None]
    flux_end: Mapped[float | None]
    workingDirectory: Mapped[str | None]


class BFFault(Base):
    """A beamline fault report (the ``BF_`` tables' fault; its system/component tree is not mapped)."""

    __tablename__ = "BF_fault"

    faultId: Mapped[int] = mapped_column(primary_key=True)
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    owner: Mapped[str | None]
    subcomponentId: Mapped[int | None]
    starttime: Mapped[datetime | None]
    endtime: Mapped[datetime | None]
    beamtimelost: Mapped[bool | None]
    beamtimelost_starttime: Mapped[datetime | None]
    beamtimelost_endtime: Mapped[datetime | None]
    title: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    resolved: Mapped[bool | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None]
    personId: Mapped[int | None] = mapped_column(ForeignKey("Person.personId"))
