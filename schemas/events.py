"""py-ispyb's session timeline: data collection groups, robot actions, energy scans, XRF spectra and faults."""

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


class EnergyScan(ApiModel):
    """An energy (MAD edge) scan: py-ispyb's ``EnergyScan`` item (its id) and what the scan found."""

    energyScanId: int
    element: str | None
    edgeEnergy: str | None
    startEnergy: float | None
    endEnergy: float | None
    peakEnergy: float | None
    peakFPrime: float | None
    peakFDoublePrime: float | None
    inflectionEnergy: float | None
    inflectionFPrime: float | None
    inflectionFDoublePrime: float | None
    exposureTime: float | None
    transmissionFactor: float | None
    fluorescenceDetector: str | None
    filename: str | None
    scanFileFullPath: str | None
    choochFileFullPath: str | None
    jpegChoochFileFullPath: str | None
    comments: str | None


class XFEFluorescenceSpectrum(ApiModel):
    """An XRF spectrum: py-ispyb's ``XFEFluorescenceSpectrum`` item (its id) and how it was taken."""

    xfeFluorescenceSpectrumId: int
    energy: float | None
    exposureTime: float | None
    beamTransmission: float | None
    filename: str | None
    scanFileFullPath: str | None
    jpegScanFileFullPath: str | None
    annotatedPymcaXfeSpectrum: str | None
    fittedDataFileFullPath: str | None
    comments: str | None


class Fault(ApiModel):
    """A beamline fault reported during the session (``BF_fault``)."""

    faultId: int
    title: str | None
    description: str | None
    owner: str | None
    assignee: str | None
    resolved: bool | None
    resolution: str | None
    beamtimelost: bool | None
    beamtimelost_starttime: datetime | None
    beamtimelost_endtime: datetime | None


class Event(ApiModel):
    id: int
    type: str = Field(description="dc, robot, es (energy scan), xrf (XRF spectrum) or fault")
    startTime: datetime | None
    endTime: datetime | None
    duration: float | None = Field(description="minutes")
    count: int
    session: str | None
    sessionId: int
    proposal: str
    blSample: str | None = Field(description="Sample name")
    blSampleId: int | None
    attachments: int = Field(
        description="Files attached to the group's collections (to the collection in one group's list); 0 otherwise"
    )
    Item: DataCollection | RobotAction | XFEFluorescenceSpectrum | EnergyScan | Fault


class EventType(ApiModel):
    eventTypeName: str
    eventType: str
