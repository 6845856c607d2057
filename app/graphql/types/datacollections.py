"""DataCollectionGroup and DataCollection, with their session, sample, collections and auto-integrations."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import document_edges, loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.processings import AutoProcIntegration
from app.graphql.types.samples import BLSample

if TYPE_CHECKING:
    from app.graphql.documents.best import BestResult
    from app.graphql.documents.metrics import CollectionMetrics
    from app.graphql.documents.results import Result
    from app.graphql.types.sessions import Session

Info = strawberry.Info[Context, None]
SessionType = Annotated["Session", strawberry.lazy("app.graphql.types.sessions")]


async def _session(info: Info, session_id: int) -> SessionType | None:
    from app.graphql.types.sessions import Session

    row = await loaders.SESSIONS.one(info.context, session_id)
    return None if row is None else build(Session, row)


async def _sample(info: Info, sample_id: int | None) -> BLSample | None:
    row = await loaders.SAMPLES.one(info.context, sample_id)
    return None if row is None else build(BLSample, row)


@strawberry.federation.type(keys=["dataCollectionGroupId"], description="Collections taken together (a sweep set)")
class DataCollectionGroup:
    dataCollectionGroupId: int
    sessionId: int
    blSampleId: int | None
    experimentType: str | None
    startTime: datetime | None
    endTime: datetime | None
    comments: str | None

    @classmethod
    async def resolve_reference(cls, info: Info, dataCollectionGroupId: int) -> Self | None:
        key = loaders.reference_id(dataCollectionGroupId, "dataCollectionGroupId")
        row = await loaders.GROUPS.one(info.context, key)
        return None if row is None else build(cls, row)

    @field(name="BLSession", description="Its session")
    async def sessionOf(self, info: Info) -> SessionType | None:
        return await _session(info, self.sessionId)

    @field(name="BLSample", description="Its sample, if any and visible")
    async def sampleOf(self, info: Info) -> BLSample | None:
        return await _sample(info, self.blSampleId)

    @field(description="Its data collections, oldest first")
    async def dataCollections(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection["DataCollection"]:
        page = page_of(first, after)
        found = await loaders.COLLECTIONS_OF_GROUPS.page(info.context, self.dataCollectionGroupId, page)
        return connection(found.total, found.rows, page, lambda row: build(DataCollection, row))


@strawberry.federation.type(keys=["dataCollectionId"], description="One data collection (a sweep, a grid scan…)")
class DataCollection:
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
    xBeamPix: float | None = strawberry.field(description="null where the database has no such column")
    yBeamPix: float | None = strawberry.field(description="null where the database has no such column")
    comments: str | None
    magnification: float | None
    binning: int | None
    particleDiameter: float | None
    defocusStepSize: float | None
    amountAstigmatism: float | None
    voltage: float | None
    objAperture: float | None
    dataCollectionGroupId: int
    sessionId: int
    blSampleId: int | None

    @classmethod
    async def resolve_reference(cls, info: Info, dataCollectionId: int) -> Self | None:
        key = loaders.reference_id(dataCollectionId, "dataCollectionId")
        row = await loaders.COLLECTIONS.one(info.context, key)
        return None if row is None else build(cls, row)

    @field(name="DataCollectionGroup", description="Its group")
    async def groupOf(self, info: Info) -> DataCollectionGroup | None:
        row = await loaders.GROUPS.one(info.context, self.dataCollectionGroupId)
        return None if row is None else build(DataCollectionGroup, row)

    @field(name="BLSession", description="Its session")
    async def sessionOf(self, info: Info) -> SessionType | None:
        return await _session(info, self.sessionId)

    @field(name="BLSample", description="Its group's sample, if any and visible")
    async def sampleOf(self, info: Info) -> BLSample | None:
        return await _sample(info, self.blSampleId)

    @field(description="Auto-processing's integrations of it, with their scaling statistics")
    async def autoProcIntegrations(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[AutoProcIntegration]:
        page = page_of(first, after)
        found = await loaders.INTEGRATIONS_OF_COLLECTIONS.page(info.context, self.dataCollectionId, page)
        return connection(found.total, found.rows, page, lambda row: build(AutoProcIntegration, row))

    @field(description="Its results: the latest version of each series covering it, newest first")
    async def results(
        self, info: Info
    ) -> list[Annotated["Result", strawberry.lazy("app.graphql.documents.results")]] | None:
        return await document_edges.collection_results(info, self.dataCollectionId)

    @field(description="Its best MX processing among SQL auto-processing and results (REST's best-result)")
    async def bestResult(
        self, info: Info
    ) -> Annotated["BestResult", strawberry.lazy("app.graphql.documents.best")] | None:
        return await document_edges.collection_best_result(info, self.dataCollectionId)

    @field(description="Its metric summaries, per kind")
    async def metrics(
        self, info: Info
    ) -> Annotated["CollectionMetrics", strawberry.lazy("app.graphql.documents.metrics")] | None:
        return await document_edges.collection_metrics(info, self.dataCollectionId)
