"""Data collections: py-ispyb's item shape, and ours with session and sample joined in."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel
from schemas.processings import AutoProcProgramIntegration
from schemas.results import DocumentsPart


class Workflow(ApiModel):
    workflowId: int
    comments: str | None
    status: str | None
    workflowTitle: str | None
    workflowType: str | None


_Workflow = Workflow  # the field below has the class's name


class DataCollectionGroup(ApiModel):
    dataCollectionGroupId: int
    experimentType: str | None
    startTime: datetime | None = None
    endTime: datetime | None = None
    comments: str | None = None
    Workflow: _Workflow | None = Field(None, description="The workflow the group ran (official flavour)")


class DataCollectionMetaData(ApiModel):
    snapshots: dict[str, bool] = Field(description="Snapshot availability, ids 1-4 and `analysis`")


class DataCollection(ApiModel):
    """py-ispyb's data collection (events' ``Item``)."""

    dataCollectionId: int
    runStatus: str | None
    startTime: datetime | None
    endTime: datetime | None
    imageDirectory: str | None
    fileTemplate: str | None
    imageContainerSubPath: str | None
    imagePrefix: str | None
    dataCollectionNumber: int | None
    numberOfImages: int | None
    numberOfPasses: int | None
    wavelength: float | None
    exposureTime: float | None
    flux: float | None
    xBeam: float | None
    yBeam: float | None
    beamSizeAtSampleX: float | None
    beamSizeAtSampleY: float | None
    transmission: float | None
    resolution: float | None
    detectorDistance: float | None
    axisStart: float | None
    axisEnd: float | None
    axisRange: float | None
    rotationAxis: str | None
    overlap: float | None
    phiStart: float | None
    kappaStart: float | None
    omegaStart: float | None
    chiStart: float | None
    xBeamPix: float | None = Field(description="null where the database has no such column")
    yBeamPix: float | None = Field(description="null where the database has no such column")
    comments: str | None
    magnification: float | None
    binning: int | None
    particleDiameter: float | None
    defocusStepSize: float | None
    amountAstigmatism: float | None
    voltage: float | None
    objAperture: float | None
    DataCollectionGroup: DataCollectionGroup
    GridInfo: list[dict[str, object]] = []
    metadata: DataCollectionMetaData = Field(alias="_metadata")


class SessionRef(ApiModel):
    sessionId: int
    session: str | None
    proposalId: int
    proposal: str
    beamLineName: str | None
    startDate: datetime | None
    endDate: datetime | None


class SampleRef(ApiModel):
    blSampleId: int
    name: str | None
    containerId: int | None
    location: str | None
    crystalId: int | None
    proteinId: int | None
    acronym: str | None


class DataCollectionDetail(DataCollection):
    """``GET /datacollections/{id}``: the collection with its group, session and sample.

    The document-store part (results, metrics) joins this shape as further keys."""

    BLSession: SessionRef
    BLSample: SampleRef | None


class DataCollectionUnified(DataCollectionDetail):
    """With ``?include=results,metrics``: its SQL auto-processing and its documents, in one response."""

    autoProcessing: list[AutoProcProgramIntegration] | None = None
    documents: DocumentsPart | None = None


class PerImageAnalysis(ApiModel):
    """py-ispyb's per-image quality series of a collection, aligned on ``imageNumber``."""

    dataCollectionId: int | None
    imageNumber: list[int | None] = Field(description="Scan point")
    totalIntegratedSignal: list[float | None] = Field(description="Total signal")
    method2Res: list[float | None] = Field(description="Estimated resolution")
    goodBraggCandidates: list[int | None] = Field(description="Number of spots")
