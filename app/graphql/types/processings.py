"""Auto-processing: AutoProcIntegration with its program and scaling statistics."""

from datetime import datetime
from typing import Self

import strawberry

from app.graphql import loaders
from app.graphql.context import Context
from app.graphql.types import build, field

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["autoProcProgramId"], description="A run of a processing program")
class AutoProcProgram:
    autoProcProgramId: int
    processingCommandLine: str | None
    processingPrograms: str | None
    processingStatus: int | None = strawberry.field(description="1 success, 0 failed, null running")
    processingMessage: str | None
    processingStartTime: datetime | None
    processingEndTime: datetime | None
    processingEnvironment: str | None
    recordTimeStamp: datetime | None

    @classmethod
    async def resolve_reference(cls, info: Info, autoProcProgramId: int) -> Self | None:
        key = loaders.reference_id(autoProcProgramId, "autoProcProgramId")
        row = await loaders.PROGRAMS.one(info.context, key)
        return None if row is None else build(cls, row)


@strawberry.type(description="One statistics shell (overall, innerShell, outerShell) of a scaling")
class AutoProcScalingStatistics:
    autoProcScalingStatisticsId: int
    autoProcScalingId: int | None
    scalingStatisticsType: str | None
    comments: str | None
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
    ccAnomalous: float | None = strawberry.field(description="null where the database has no such column")
    resIOverSigI2: float | None = strawberry.field(description="null where the database has no such column")


@strawberry.type(description="An integration of a data collection by an auto-processing program")
class AutoProcIntegration:
    autoProcIntegrationId: int
    dataCollectionId: int
    autoProcProgramId: int | None
    startImageNumber: int | None
    endImageNumber: int | None
    refinedDetectorDistance: float | None
    refinedXBeam: float | None
    refinedYBeam: float | None
    cell_a: float | None = strawberry.field(name="cell_a")
    cell_b: float | None = strawberry.field(name="cell_b")
    cell_c: float | None = strawberry.field(name="cell_c")
    cell_alpha: float | None = strawberry.field(name="cell_alpha")
    cell_beta: float | None = strawberry.field(name="cell_beta")
    cell_gamma: float | None = strawberry.field(name="cell_gamma")
    anomalous: bool | None

    @field(name="AutoProcProgram", description="The program that integrated it")
    async def programOf(self, info: Info) -> AutoProcProgram | None:
        row = await loaders.PROGRAMS.one(info.context, self.autoProcProgramId)
        return None if row is None else build(AutoProcProgram, row)

    @field(description="The statistics shells of the scalings it is part of")
    async def scalingStatistics(self, info: Info) -> list[AutoProcScalingStatistics]:
        rows = await loaders.STATISTICS_OF_INTEGRATIONS.all(info.context, self.autoProcIntegrationId)
        return [build(AutoProcScalingStatistics, row) for row in rows]
