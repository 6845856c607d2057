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
    ProcessingJob: None = None
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


class ProcessingStatuses(ApiModel):
    """All five of py-ispyb's keys, null where this collection has nothing of that kind."""

    screening: dict[str, list[dict[str, object]]] | None = None
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
