"""Auto-processing: programs, integrations and scaling statistics per shell; statuses per collection."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class AutoProcProgramMessage(ApiModel):
    autoProcProgramMessageId: int
    autoProcProgramId: int | None
    description: str | None
    message: str | None
    severity: str
    recordTimeStamp: datetime | None


class AutoProcProgramMetadata(ApiModel):
    attachments: int = Field(description="Number of attachments")
    autoProcProgramMessages: list[AutoProcProgramMessage] = []
    imageSweepCount: int | None = None


class ProcessingJobParameter(ApiModel):
    processingJobParameterId: int
    parameterKey: str | None
    parameterValue: str | None


class ProcessingJob(ApiModel):
    """Diamond's request to process a collection (by hand or automatically)."""

    processingJobId: int
    displayName: str | None
    comments: str | None
    recordTimestamp: datetime | None
    recipe: str | None
    automatic: bool | None
    ProcessingJobParameters: list[ProcessingJobParameter]


_Job = ProcessingJob  # the field below has the class's name


class AutoProcProgram(ApiModel):
    autoProcProgramId: int
    processingCommandLine: str | None
    processingPrograms: str | None
    processingStatus: int | None = Field(description="1 success, 0 failed, null running")
    processingMessage: str | None
    processingStartTime: datetime | None
    processingEndTime: datetime | None
    processingEnvironment: str | None
    recordTimeStamp: datetime | None
    ProcessingJob: _Job | None = Field(None, description="Diamond: the job that ran the program")
    metadata: AutoProcProgramMetadata = Field(alias="_metadata")


class AutoProc(ApiModel):
    autoProcId: int
    spaceGroup: str | None
    refinedCell_a: float | None
    refinedCell_b: float | None
    refinedCell_c: float | None
    refinedCell_alpha: float | None
    refinedCell_beta: float | None
    refinedCell_gamma: float | None


class AutoProcScalingStatistics(ApiModel):
    autoProcScalingStatisticsId: int
    comments: str | None
    scalingStatisticsType: str | None
    resolutionLimitLow: float | None
    resolutionLimitHigh: float | None
    rMerge: float | None
    rMeasAllIPlusIMinus: float | None
    rPimAllIPlusIMinus: float | None
    fractionalPartialBias: float | None
    nTotalObservations: int | None
    nTotalUniqueObservations: int | None
    meanIOverSigI: float | None
    completeness: float | None
    multiplicity: float | None
    anomalousCompleteness: float | None
    anomalousMultiplicity: float | None
    anomalous: bool | None
    ccHalf: float | None
    ccAnomalous: float | None = Field(description="null where the database has no such column")
    resIOverSigI2: float | None = Field(description="null where the database has no such column")


class AutoProcScaling(ApiModel):
    autoProcScalingId: int
    AutoProc: AutoProc | None
    AutoProcScalingStatistics: list[AutoProcScalingStatistics]


class AutoProcScalingHasInt(ApiModel):
    autoProcScaling_has_IntId: int
    AutoProcScaling: AutoProcScaling | None


class AutoProcIntegrationDataCollection(ApiModel):
    xBeam: float | None
    yBeam: float | None


class AutoProcIntegration(ApiModel):
    autoProcIntegrationId: int
    dataCollectionId: int
    refinedXBeam: float | None
    refinedYBeam: float | None
    AutoProcScalingHasInt: list[AutoProcScalingHasInt]
    DataCollection: AutoProcIntegrationDataCollection | None


class AutoProcProgramIntegration(AutoProcProgram):
    AutoProcIntegration: list[AutoProcIntegration]


class ProgramStatus(ApiModel):
    autoProcProgramId: int
    status: int | None


class ScreeningStatus(ApiModel):
    status: int | None = Field(description="strategy success: 1 or 0")
    indexingSuccess: int | None


class ProcessingStatuses(ApiModel):
    """All five of py-ispyb's keys, null where this collection has nothing of that kind."""

    screening: dict[str, list[ScreeningStatus]] | None = None
    xrc: dict[str, list[dict[str, object]]] | None = None
    processing: dict[str, list[ProgramStatus]] | None = None
    autoIntegration: dict[str, list[ProgramStatus]] | None = None
    em: dict[str, int] | None = None


class ProcessingStatusesList(ApiModel):
    statuses: dict[int, ProcessingStatuses]


class MessageStatus(ApiModel):
    errors: int
    warnings: int
    info: int


class MessageStatuses(ApiModel):
    statuses: dict[int, MessageStatus]


class ScreeningStrategySubWedge(ApiModel):
    screeningStrategySubWedgeId: int
    subWedgeNumber: int | None
    rotationAxis: str | None
    axisStart: float | None
    axisEnd: float | None
    exposureTime: float | None
    transmission: float | None
    oscillationRange: float | None
    completeness: float | None
    multiplicity: float | None
    RESOLUTION: float | None
    doseTotal: float | None
    numberOfImages: int | None
    comments: str | None


class ScreeningStrategyWedge(ApiModel):
    screeningStrategyWedgeId: int
    wedgeNumber: int | None
    resolution: float | None
    completeness: float | None
    multiplicity: float | None
    doseTotal: float | None
    numberOfImages: int | None
    phi: float | None
    kappa: float | None
    chi: float | None
    comments: str | None
    wavelength: float | None
    ScreeningStrategySubWedge: list[ScreeningStrategySubWedge]


class ScreeningStrategy(ApiModel):
    screeningStrategyId: int
    program: str | None
    rankingResolution: float | None
    ScreeningStrategyWedge: list[ScreeningStrategyWedge]


class ScreeningOutputLattice(ApiModel):
    screeningOutputLatticeId: int
    spaceGroup: str | None
    pointGroup: str | None
    unitCell_a: float | None
    unitCell_b: float | None
    unitCell_c: float | None
    unitCell_alpha: float | None
    unitCell_beta: float | None
    unitCell_gamma: float | None


class ScreeningOutput(ApiModel):
    screeningOutputId: int
    statusDescription: str | None
    indexingSuccess: int
    strategySuccess: int
    mosaicity: float | None
    rankingResolution: float | None
    program: str | None
    ScreeningStrategy: list[ScreeningStrategy]
    ScreeningOutputLattice: list[ScreeningOutputLattice]


class Screening(ApiModel):
    """A characterisation of a collection (or of its group) by a strategy program."""

    screeningId: int
    dataCollectionId: int | None
    dataCollectionGroupId: int | None
    programVersion: str | None
    comments: str | None
    shortComments: str | None
    bltimeStamp: datetime | None
    ScreeningOutput: list[ScreeningOutput]
