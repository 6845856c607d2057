"""Auto-processing: AutoProcIntegration with its program and scaling statistics."""

import strawberry

from app.graphql import loaders
from app.graphql.types import Info, build, field, one, rest_type
from schemas import processings


@rest_type(
    processings.AutoProcProgram,
    without=("ProcessingJob", "metadata"),
    key="autoProcProgramId",
    loader=loaders.PROGRAMS,
    description="A run of a processing program",
)
class AutoProcProgram:
    pass


@rest_type(
    processings.AutoProcScalingStatistics,
    description="One statistics shell (overall, innerShell, outerShell) of a scaling",
)
class AutoProcScalingStatistics:
    autoProcScalingId: int | None


@rest_type(
    processings.AutoProcIntegration,
    without=("AutoProcScalingHasInt", "DataCollection"),
    description="An integration of a data collection by an auto-processing program",
)
class AutoProcIntegration:
    autoProcIntegrationId: int
    autoProcProgramId: int | None
    startImageNumber: int | None
    endImageNumber: int | None
    refinedDetectorDistance: float | None
    cell_a: float | None = strawberry.field(name="cell_a")
    cell_b: float | None = strawberry.field(name="cell_b")
    cell_c: float | None = strawberry.field(name="cell_c")
    cell_alpha: float | None = strawberry.field(name="cell_alpha")
    cell_beta: float | None = strawberry.field(name="cell_beta")
    cell_gamma: float | None = strawberry.field(name="cell_gamma")
    anomalous: bool | None

    @field(name="AutoProcProgram", description="The program that integrated it")
    async def programOf(self, info: Info) -> AutoProcProgram | None:
        return await one(info, loaders.PROGRAMS, self.autoProcProgramId, AutoProcProgram)

    @field(description="The statistics shells of the scalings it is part of")
    async def scalingStatistics(self, info: Info) -> list[AutoProcScalingStatistics]:
        rows = await loaders.STATISTICS_OF_INTEGRATIONS.all(info.context, self.autoProcIntegrationId)
        return [build(AutoProcScalingStatistics, row) for row in rows]
