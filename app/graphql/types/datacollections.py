"""DataCollectionGroup and DataCollection, with their session, sample, collections and auto-integrations."""

from typing import TYPE_CHECKING, Annotated, Protocol

import strawberry

from app.graphql import document_edges, loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, one, rest_type
from app.graphql.types.processings import AutoProcIntegration
from app.graphql.types.samples import BLSample
from schemas import datacollections

if TYPE_CHECKING:
    from app.graphql.documents.best import BestResult
    from app.graphql.documents.metrics import CollectionMetrics
    from app.graphql.documents.results import Result
    from app.graphql.types.sessions import Session


class InSession(Protocol):
    sessionId: int
    blSampleId: int | None


async def session_of(
    root: InSession, info: Info
) -> Annotated["Session", strawberry.lazy("app.graphql.types.sessions")] | None:
    """The session of a group or a collection, if the caller sees it."""
    from app.graphql.types.sessions import Session

    return await one(info, loaders.SESSIONS, root.sessionId, Session)


async def sample_of(root: InSession, info: Info) -> BLSample | None:
    """The sample of a group or a collection (its group's), if it has one and the caller sees it."""
    return await one(info, loaders.SAMPLES, root.blSampleId, BLSample)


@rest_type(
    datacollections.DataCollectionGroup,
    without=("Workflow",),
    key="dataCollectionGroupId",
    loader=loaders.GROUPS,
    description="Collections taken together (a sweep set)",
)
class DataCollectionGroup:
    dataCollectionGroupId: int
    sessionId: int
    blSampleId: int | None

    sessionOf = strawberry.field(resolver=session_of, name="BLSession", description="Its session")
    sampleOf = strawberry.field(resolver=sample_of, name="BLSample", description="Its sample, if any and visible")

    @field(description="Its data collections, oldest first")
    async def dataCollections(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["DataCollection", strawberry.lazy("app.graphql.types.datacollections")]]:
        group = self.dataCollectionGroupId
        return await children(info, loaders.COLLECTIONS_OF_GROUPS, group, DataCollection, first, after)


@rest_type(
    datacollections.DataCollection,
    without=("DataCollectionGroup", "GridInfo", "metadata"),
    key="dataCollectionId",
    loader=loaders.COLLECTIONS,
    description="One data collection (a sweep, a grid scan…)",
)
class DataCollection:
    dataCollectionId: int
    dataCollectionGroupId: int
    sessionId: int
    blSampleId: int | None

    @field(name="DataCollectionGroup", description="Its group")
    async def groupOf(self, info: Info) -> DataCollectionGroup | None:
        return await one(info, loaders.GROUPS, self.dataCollectionGroupId, DataCollectionGroup)

    sessionOf = strawberry.field(resolver=session_of, name="BLSession", description="Its session")
    sampleOf = strawberry.field(
        resolver=sample_of, name="BLSample", description="Its group's sample, if any and visible"
    )

    @field(description="Auto-processing's integrations of it, with their scaling statistics")
    async def autoProcIntegrations(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[AutoProcIntegration]:
        dc = self.dataCollectionId
        return await children(info, loaders.INTEGRATIONS_OF_COLLECTIONS, dc, AutoProcIntegration, first, after)

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
